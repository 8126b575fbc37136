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
            if reason.contains("CRC") { return (STRATA_CORRUPT_CRC, message) }
            // The codecs' failures name their format (StrataIO's GzipCodec, LZ4Frame).
            if reason.contains("lz4") || reason.contains("gzip") { return (STRATA_CORRUPT_DECOMPRESS, message) }
            return (STRATA_CORRUPT, message)
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
        if case .timedOut = e { return (STRATA_TIMEOUT, e.description) }
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

/// The last failure of each thread on one handle: `strata_errmsg(db)` answers for the calling
/// thread, so a message read after a failed call is that call's even while other threads fail
/// on the same store. A thread's previous message is freed when it fails again (its
/// validity ends with its next call on the handle). Entries of threads that are gone are
/// evicted beyond `maxThreads`, their buffers freed only after a few more evictions.
final class ErrorState: @unchecked Sendable {
    private struct Entry {
        var code: Int32
        var message: UnsafeMutablePointer<CChar>
        var used: UInt64
    }
    private let lock = Lock()
    private var byThread: [UInt: Entry] = [:]
    private var clock: UInt64 = 0
    private var retired: [UnsafeMutablePointer<CChar>] = []
    private static let maxThreads = 64
    nonisolated(unsafe) private static let empty: UnsafeMutablePointer<CChar> = {
        let p = UnsafeMutablePointer<CChar>.allocate(capacity: 1)
        p.pointee = 0
        return p
    }()

    deinit {
        for e in byThread.values { e.message.deallocate() }
        for p in retired { p.deallocate() }
    }

    private static var thread: UInt { UInt(pthread_self()) }

    /// Records a failure of the calling thread; returns its code.
    func fail(_ code: Int32, _ message: String) -> Int32 {
        let bytes = Array(message.utf8)
        let p = UnsafeMutablePointer<CChar>.allocate(capacity: bytes.count + 1)
        bytes.withUnsafeBufferPointer { b in
            for i in 0 ..< b.count { p[i] = CChar(bitPattern: b[i]) }
        }
        p[bytes.count] = 0
        let me = Self.thread
        lock.withLock {
            clock += 1
            if let old = byThread[me] { old.message.deallocate() }
            byThread[me] = Entry(code: code, message: p, used: clock)
            if byThread.count > Self.maxThreads, let oldest = byThread.min(by: { $0.value.used < $1.value.used }) {
                byThread[oldest.key] = nil
                retired.append(oldest.value.message)
                if retired.count > 8 { retired.removeFirst().deallocate() }
            }
        }
        return code
    }

    func fail(_ error: Error) -> Int32 {
        let (code, message) = resultCode(for: error)
        return fail(code, message)
    }

    /// The calling thread's last message on this handle ("" when it has none).
    var message: UnsafePointer<CChar> { UnsafePointer(lock.withLock { byThread[Self.thread]?.message } ?? Self.empty) }
    /// The calling thread's last extended code on this handle (STRATA_OK when none).
    var lastCode: Int32 { lock.withLock { byThread[Self.thread]?.code } ?? STRATA_OK }
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
