import CStrata
import Strata

/// `strata_options`: name → value settings, read by the call they are passed to.
final class COptions {
    var values: [String: String] = [:]
}
