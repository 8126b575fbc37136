import StrataIO

/// Bytes recovery takes out of a segment are kept, not destroyed: they go to a quarantine file
/// beside it (Formats/log-segment.md §9), `<segment>.log.quarantine-<position>-<unix ms>`,
/// holding exactly the bytes removed from `<position>` on (or the removed batches, in order),
/// written and fsynced before the segment changes. No reader opens them; an operator can
/// inspect them with `strata dump` or delete them.
enum Quarantine {
    static let marker = ".quarantine-"

    /// The quarantine file name for bytes removed from `logPath` at `position`.
    static func path(for logPath: String, position: Int) -> String {
        "\(logPath)\(marker)\(position)-\(currentTimeMillis())"
    }

    /// Writes `bytes` (removed from `logPath` at `position`) durably; returns the file's path.
    static func keep(_ bytes: [UInt8], from logPath: String, position: Int) throws -> String {
        let path = path(for: logPath, position: position)
        try FileSystem.writeAtomically(bytes, to: path)
        return path
    }

    /// Whether the bytes from `pos` to the end of `data` are only what a crash mid-write
    /// leaves (zeros of preallocation, or one batch whose bytes run past the end): nothing
    /// worth keeping. Anything else — a whole batch that failed validation, or more bytes
    /// after one — is kept.
    static func isTornTail(_ data: UnsafeRawBufferPointer, from pos: Int) -> Bool {
        let tail = UnsafeRawBufferPointer(rebasing: data[pos...])
        if tail.allSatisfy({ $0 == 0 }) { return true }
        if case .truncated? = try? RecordBatchView.probe(data, at: pos) { return true }
        return false
    }

    /// Whether `name` is a quarantine file.
    static func isQuarantine(_ name: String) -> Bool { name.contains(marker) }
}
