import Foundation
import Logging
import StrataIO

/// How a `Store` opens and runs. Every field has a working default; `Store(directory:)` uses them.
public struct StoreOptions: Sendable {
    /// Open without the writer lock, beside a writer process: read what it has appended,
    /// committed and refreshed; writes throw.
    public var readOnly = false
    /// Follow indexes on background threads (default). Without it, indexes catch up only in
    /// `refresh(_:)` and on open.
    public var indexing = true
    /// Longest time from an append to the record being searchable while the indexer keeps up
    /// (the refresh interval; Elasticsearch's default is 1 s).
    public var refreshIntervalMs = 100
    /// Shortest time between two refreshes: an indexer that has caught up refreshes at once
    /// unless it refreshed more recently than this (each refresh writes a small segment).
    public var minimumRefreshGapMs = 10
    /// The refresh interval while an indexer is behind (more than a slice of work waiting,
    /// as when it catches up after an outage or a bulk load): fewer, larger segments.
    public var catchUpRefreshIntervalMs = 1_000
    /// How often indexes commit (fsync) their state with the log offsets it covers. A crash
    /// loses no record — the log is the write-ahead log — only indexing work since the last
    /// commit, redone on open.
    public var commitIntervalMs = 5_000
    /// Memory buffer of each index before it writes a segment.
    public var indexBufferBytes = 64 << 20
    /// Pace of the log's background work (interval flushes, checkpoints, retention); 0 turns
    /// it off.
    public var backgroundIntervalMs = 100
    /// Validate every batch of every partition on open, whatever the last shutdown was.
    public var forceFullRecovery = false
    /// Where operational messages go (recovery, retention, indexing failures).
    public var logger = Logger(label: "strata")

    public init(readOnly: Bool = false) { self.readOnly = readOnly }

    /// Sets an option by name from text (the C API's and CLI's way, so new options never
    /// change a signature): `read_only`, `indexing`, `refresh_interval_ms`,
    /// `minimum_refresh_gap_ms`, `catch_up_refresh_interval_ms`, `commit_interval_ms`, `index_buffer_bytes`,
    /// `background_interval_ms`, `force_full_recovery`. Throws `invalidArgument` for an
    /// unknown name or a value that does not parse or is out of range.
    public mutating func set(_ name: String, _ value: String) throws {
        func int(_ min: Int, _ max: Int) throws -> Int {
            guard let v = Int(value.trimmingCharacters(in: .whitespaces)), v >= min, v <= max else {
                throw StrataError.invalidArgument("option \(name): '\(value)' is not an integer in \(min)...\(max)")
            }
            return v
        }
        func bool() throws -> Bool {
            switch value.lowercased() {
            case "1", "true", "yes", "on": return true
            case "0", "false", "no", "off": return false
            default: throw StrataError.invalidArgument("option \(name): '\(value)' is not a boolean (true/false)")
            }
        }
        switch name {
        case "read_only": readOnly = try bool()
        case "indexing": indexing = try bool()
        case "refresh_interval_ms": refreshIntervalMs = try int(1, 3_600_000)
        case "minimum_refresh_gap_ms": minimumRefreshGapMs = try int(0, 3_600_000)
        case "catch_up_refresh_interval_ms": catchUpRefreshIntervalMs = try int(1, 3_600_000)
        case "commit_interval_ms": commitIntervalMs = try int(1, 86_400_000)
        case "index_buffer_bytes": indexBufferBytes = try int(1 << 16, 1 << 40)
        case "background_interval_ms": backgroundIntervalMs = try int(0, 3_600_000)
        case "force_full_recovery": forceFullRecovery = try bool()
        default:
            throw StrataError.invalidArgument("unknown option '\(name)' (read_only, indexing, refresh_interval_ms, minimum_refresh_gap_ms, catch_up_refresh_interval_ms, commit_interval_ms, index_buffer_bytes, background_interval_ms, force_full_recovery)")
        }
    }
}
