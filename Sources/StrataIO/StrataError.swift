#if canImport(Glibc)
import Glibc
#endif

/// Every failure Strata reports. Each case says what went wrong and where; `description`
/// adds what the caller can do about it.
public enum StrataError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A system call failed (`errno` is the raw code).
    case io(operation: String, path: String, errno: Int32)
    /// Bytes on disk or in a buffer do not follow the format. `position` is the byte offset
    /// inside `file` (or inside the buffer when `file` is empty).
    case corrupt(file: String, position: Int64, reason: String)
    /// The data is valid Kafka data this version cannot read (old message formats, a codec
    /// that is not built in).
    case unsupported(file: String, position: Int64, reason: String)
    /// A decoder would produce more than `limit` bytes (a decompression bomb or a limit set too low).
    case decompressionLimitExceeded(codec: String, limit: Int)
    /// A batch or record is larger than the configured maximum.
    case recordTooLarge(size: Int, limit: Int)
    /// A caller passed a value the API cannot accept.
    case invalidArgument(String)
    /// A topic name breaks Kafka's naming rules.
    case invalidTopicName(name: String, reason: String)
    /// A requested offset is outside `[logStart, logEnd]`.
    case offsetOutOfRange(requested: Int64, logStart: Int64, logEnd: Int64)
    /// A topic or partition that does not exist.
    case notFound(String)
    /// The object was closed before the call.
    case closed(String)
    /// Something with that name exists already (and differs from what was asked).
    case alreadyExists(String)
    /// An operation did not finish in the time it was given.
    case timedOut(String)
    /// Another process holds the directory's writer lock.
    case locked(path: String, holder: String)
    /// A write to something opened read-only.
    case readOnly(String)

    public var description: String {
        switch self {
        case let .io(operation, path, code):
            let text = String(cString: strerror(code))
            var hint = ""
            if code == ENOSPC { hint = "; free disk space and retry (nothing acknowledged was lost)" }
            if code == EACCES || code == EPERM { hint = "; check the permissions of the data directory" }
            if code == ENOENT { hint = "; check that the path exists" }
            return "\(operation) failed on \(path): \(text) (errno \(code))\(hint)"
        case let .corrupt(file, position, reason):
            // `strata dump` reads segment files; other files (JSON settings, index files)
            // are read by their owner, and the advice would mislead.
            let segmentFile = [".log", ".index", ".timeindex"].contains { file.hasSuffix($0) } || file.contains(".log.quarantine-")
            // An index is a view of its topic: whatever its files hold, a rebuild re-derives it.
            let indexFile = file.contains("/indexes/")
            return "corrupt data in \(file.isEmpty ? "buffer" : file) at byte \(position): \(reason)"
                + (segmentFile ? "; run `strata dump` on the file to inspect it"
                    : indexFile ? "; the index can be re-derived from its topic: `strata index rebuild`" : "")
        case let .unsupported(file, position, reason):
            return "unsupported data in \(file.isEmpty ? "buffer" : file) at byte \(position): \(reason)"
        case let .decompressionLimitExceeded(codec, limit):
            return "\(codec) data decompresses to more than \(limit) bytes (the configured limit); raise the limit if the data is trusted"
        case let .recordTooLarge(size, limit):
            return "record batch of \(size) bytes exceeds the maximum of \(limit) bytes (maxBatchBytes, like Kafka's message.max.bytes, and at most segmentBytes); split the record or raise the limits"
        case let .invalidArgument(message):
            return "invalid argument: \(message)"
        case let .invalidTopicName(name, reason):
            return "invalid topic name \"\(name)\": \(reason); use 1-249 characters from [a-zA-Z0-9._-], not \".\" or \"..\""
        case let .offsetOutOfRange(requested, logStart, logEnd):
            return "offset \(requested) is out of range: the log holds offsets \(logStart)..<\(logEnd) (earliest available offset \(logStart))"
        case let .notFound(what):
            return "not found: \(what)"
        case let .closed(what):
            return "\(what) is closed"
        case let .alreadyExists(what):
            return "already exists: \(what)"
        case let .timedOut(what):
            return "timed out: \(what)"
        case let .locked(path, holder):
            return "\(FileSystem.parent(of: path)) is already open for writing by \(holder) (\(FileSystem.lastComponent(path)) is held); close it there first, or open it read-only"
        case let .readOnly(what):
            return "\(what) was opened read-only; open it for writing to change it"
        }
    }

    /// The same error with `file` filled in and positions shifted by `base`, for errors raised
    /// while decoding a buffer that came from a file.
    public func located(in file: String, at base: Int64) -> StrataError {
        switch self {
        case let .corrupt(f, position, reason) where f.isEmpty:
            return .corrupt(file: file, position: base + position, reason: reason)
        case let .unsupported(f, position, reason) where f.isEmpty:
            return .unsupported(file: file, position: base + position, reason: reason)
        default:
            return self
        }
    }
}

/// Runs `body`, re-raising any `StrataError` located in `file` at `base`.
@inline(__always)
public func locating<T>(_ file: String, at base: Int64, _ body: () throws -> T) throws -> T {
    do { return try body() } catch let error as StrataError { throw error.located(in: file, at: base) }
}
