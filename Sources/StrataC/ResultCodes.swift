#if canImport(Glibc)
import Glibc
#endif
import CStrata
import Strata

/// The C result code and message of a Swift error (strata.h, "Result codes").
func resultCode(for error: Error) -> (code: Int32, message: String) {
    switch error {
    case let e as StrataError:
        let message = e.description
        switch e {
        case let .io(_, _, code):
            switch code {
            case ENOSPC, EDQUOT, EFBIG: return (STRATA_FULL, message)
            case EACCES, EPERM, EROFS: return (STRATA_IOERR_PERMISSION, message)
            case ENOENT: return (STRATA_IOERR_NOENT, message)
            default: return (STRATA_IOERR, message)
            }
        case let .corrupt(_, _, reason):
            return (reason.contains("CRC") ? STRATA_CORRUPT_CRC : STRATA_CORRUPT, message)
        case .unsupported: return (STRATA_UNSUPPORTED, message)
        case .decompressionLimitExceeded: return (STRATA_CORRUPT_DECOMPRESS, message)
        case .recordTooLarge: return (STRATA_TOOBIG, message)
        case .invalidArgument: return (STRATA_INVALID, message)
        case .invalidTopicName: return (STRATA_INVALID_NAME, message)
        case .offsetOutOfRange: return (STRATA_RANGE, message)
        case .notFound: return (STRATA_NOTFOUND, message)
        case .closed: return (STRATA_MISUSE_CLOSED, message)
        case .alreadyExists: return (STRATA_EXISTS, message)
        case .timedOut: return (STRATA_TIMEOUT, message)
        case .locked: return (STRATA_BUSY, message)
        case .readOnly: return (STRATA_READONLY, message)
        }
    case let e as QueryParseError:
        return (STRATA_QUERY_SYNTAX, e.description)
    case let e as QueryError:
        if case .unknownField = e { return (STRATA_QUERY_FIELD, e.description) }
        return (STRATA_QUERY, e.description)
    case let e as CArgumentError:
        return (e.code, e.message)
    default:
        return (STRATA_ERROR, "\(error)")
    }
}

/// An argument the C boundary refused before calling the library.
struct CArgumentError: Error {
    var code: Int32
    var message: String
    static func null(_ what: String) -> CArgumentError { CArgumentError(code: STRATA_MISUSE_NULL, message: "\(what) is NULL") }
    static func option(_ message: String) -> CArgumentError { CArgumentError(code: STRATA_INVALID_OPTION, message: message) }
    static func json(_ message: String) -> CArgumentError { CArgumentError(code: STRATA_INVALID_JSON, message: message) }
    static func invalid(_ message: String) -> CArgumentError { CArgumentError(code: STRATA_INVALID, message: message) }
}

/// Recent messages of one handle, each a NUL-terminated buffer kept alive while the next
/// few failures happen, so a pointer handed out stays valid even if another thread fails
/// on the same store meanwhile.
final class ErrorState: @unchecked Sendable {
    private let lock = Lock()
    private var ring: [UnsafeMutablePointer<CChar>?] = Array(repeating: nil, count: 8)
    private var next = 0
    private var current: UnsafeMutablePointer<CChar>?
    private(set) var code: Int32 = STRATA_OK
    nonisolated(unsafe) private static let empty: UnsafeMutablePointer<CChar> = {
        let p = UnsafeMutablePointer<CChar>.allocate(capacity: 1)
        p.pointee = 0
        return p
    }()

    deinit { for p in ring { p?.deallocate() } }

    /// Records a failure; returns its code.
    func fail(_ code: Int32, _ message: String) -> Int32 {
        let bytes = Array(message.utf8)
        let p = UnsafeMutablePointer<CChar>.allocate(capacity: bytes.count + 1)
        bytes.withUnsafeBufferPointer { b in
            for i in 0 ..< b.count { p[i] = CChar(bitPattern: b[i]) }
        }
        p[bytes.count] = 0
        lock.withLock {
            ring[next]?.deallocate()
            ring[next] = p
            next = (next + 1) % ring.count
            current = p
            self.code = code
        }
        return code
    }

    func fail(_ error: Error) -> Int32 {
        let (code, message) = resultCode(for: error)
        return fail(code, message)
    }

    var message: UnsafePointer<CChar> { UnsafePointer(lock.withLock { current } ?? Self.empty) }
    var lastCode: Int32 { lock.withLock { code } }
}

/// Static messages for handles that are not live (their own state is gone).
enum StaticMessage {
    nonisolated(unsafe) static let badHandle: UnsafePointer<CChar> = {
        let text = Array("not a live handle of this kind (NULL, closed, freed or foreign)".utf8CString)
        let p = UnsafeMutablePointer<CChar>.allocate(capacity: text.count)
        for (i, c) in text.enumerated() { p[i] = c }
        return UnsafePointer(p)
    }()
}

/// A copy of a C string argument; throws MISUSE_NULL for NULL and INVALID for invalid UTF-8.
func string(_ p: UnsafePointer<CChar>?, _ what: String) throws -> String {
    guard let p else { throw CArgumentError.null(what) }
    guard let s = String(validatingCString: p) else { throw CArgumentError(code: STRATA_INVALID, message: "\(what) is not valid UTF-8") }
    return s
}

/// An optional C string argument.
func optionalString(_ p: UnsafePointer<CChar>?, _ what: String) throws -> String? {
    guard let p else { return nil }
    return try string(p, what)
}

/// A copy of `s` in memory the caller frees with `strata_free` (malloc).
func mallocString(_ s: String) -> UnsafeMutablePointer<CChar> {
    let bytes = Array(s.utf8)
    let p = malloc(bytes.count + 1)!.assumingMemoryBound(to: CChar.self)
    bytes.withUnsafeBufferPointer { b in for i in 0 ..< b.count { p[i] = CChar(bitPattern: b[i]) } }
    p[bytes.count] = 0
    return p
}
