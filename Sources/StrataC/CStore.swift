#if canImport(Glibc)
import Glibc
#endif
import CStrata
import Synchronization
import Strata

/// A `strata*`: the store, its error state, and whether it was closed (its cursors and hits
/// then refuse to run).
final class CStore {
    let store: Store
    let errors = ErrorState()
    /// Read on every cursor and hits call: an atomic load, not a lock. Behind a pointer so a
    /// cursor's hot path reads it without touching this object (valid while it lives, and
    /// each cursor keeps its store object alive).
    let closedFlag: UnsafeMutablePointer<Atomic<Bool>>
    var closed: Bool { closedFlag.pointee.load(ordering: .acquiring) }

    init(_ store: Store) {
        self.store = store
        closedFlag = .allocate(capacity: 1)
        closedFlag.initialize(to: Atomic(false))
    }

    deinit {
        closedFlag.deinitialize(count: 1)
        closedFlag.deallocate()
    }

    func markClosed() { closedFlag.pointee.store(true, ordering: .releasing) }
}

/// `withStore` for a call whose result is JSON text in `*json` (malloc'd, freed with
/// strata_free): `*json` is NULL on failure, a NULL `json` is STRATA_MISUSE_NULL.
@inline(__always)
func withJSONOutput(_ db: OpaquePointer?, _ json: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?, _ call: String,
                    _ body: (CStore) throws -> String) -> Int32 {
    json?.pointee = nil
    return withStore(db) { s in
        guard let json else { throw CArgumentError.null("\(call): json") }
        json.pointee = mallocString(try body(s))
        return STRATA_OK
    }
}

/// Runs `body` on the store of handle `db`, turning errors into result codes recorded on it.
@inline(__always)
func withStore(_ db: OpaquePointer?, _ body: (CStore) throws -> Int32) -> Int32 {
    withHandle(db, .store, as: CStore.self, { s in
        do { return try body(s) } catch { return s.errors.fail(error) }
    }, invalid: { STRATA_MISUSE_HANDLE })
}

/// The options of handle `opt` (NULL: none); throws MISUSE for a handle that is not live.
func options(_ opt: OpaquePointer?) throws -> [String: String] {
    guard let opt else { return [:] }
    guard let raw = HandleTable.object(opt, .options) else {
        throw CArgumentError(code: STRATA_MISUSE_HANDLE, message: "the options handle is not a live strata_options")
    }
    return Unmanaged<COptions>.fromOpaque(raw).takeUnretainedValue().values
}

/// Reads typed values out of a call's options; unknown keys are refused at `finish`.
struct OptionReader {
    var values: [String: String]
    let call: String
    private var seen = Set<String>()

    init(_ values: [String: String], call: String) {
        self.values = values
        self.call = call
    }

    mutating func string(_ key: String) -> String? {
        seen.insert(key)
        return values[key]
    }

    mutating func int(_ key: String, _ range: ClosedRange<Int64> = Int64.min ... Int64.max) throws -> Int64? {
        guard let s = string(key) else { return nil }
        guard let v = Int64(s.trimmingWhitespace()), range.contains(v) else {
            throw CArgumentError.option("\(call): option \(key)='\(s)' is not an integer in \(range.lowerBound)...\(range.upperBound)")
        }
        return v
    }

    mutating func bool(_ key: String) throws -> Bool? {
        guard let s = string(key) else { return nil }
        switch s.lowercased() {
        case "1", "true", "yes", "on": return true
        case "0", "false", "no", "off": return false
        default: throw CArgumentError.option("\(call): option \(key)='\(s)' is not true or false")
        }
    }

    /// Throws for any key no reader asked for.
    func finish() throws {
        let unknown = Set(values.keys).subtracting(seen).sorted()
        if !unknown.isEmpty {
            throw CArgumentError.option("\(call) has no option \(unknown.map { "'\($0)'" }.joined(separator: ", ")) (it reads \(seen.sorted().joined(separator: ", ")))")
        }
    }
}

extension String {
    func trimmingWhitespace() -> String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" { s.removeLast() }
        return String(s)
    }
}

// MARK: memory, options

@c @implementation
public func strata_free(_ p: UnsafeMutableRawPointer?) {
    free(p)
}

@c @implementation
public func strata_options_new(_ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guard let out else { return STRATA_MISUSE_NULL }
    out.pointee = HandleTable.shared.insert(COptions(), kind: .options)
    return out.pointee == nil ? STRATA_ERROR : STRATA_OK
}

@c @implementation
public func strata_options_set(_ o: OpaquePointer?, _ key: UnsafePointer<CChar>?, _ value: UnsafePointer<CChar>?) -> Int32 {
    withHandle(o, .options, as: COptions.self, { opts in
        guard let key, let value else { return STRATA_MISUSE_NULL }
        guard let k = String(validatingCString: key), let v = String(validatingCString: value) else { return STRATA_INVALID }
        opts.values[k] = v
        return STRATA_OK
    }, invalid: { STRATA_MISUSE_HANDLE })
}

@c @implementation
public func strata_options_free(_ o: OpaquePointer?) -> Int32 {
    releaseHandle(o, .options)
}

// MARK: open, close, errors

@c @implementation
public func strata_open(_ path: UnsafePointer<CChar>?, _ opt: OpaquePointer?, _ out: UnsafeMutablePointer<OpaquePointer?>?,
                        _ errmsg: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    errmsg?.pointee = nil
    guard let out else {
        errmsg?.pointee = mallocString("strata_open: out is NULL")
        return STRATA_MISUSE_NULL
    }
    out.pointee = nil
    do {
        let dir = try string(path, "strata_open: path")
        var reader = OptionReader(try options(opt), call: "strata_open")
        var o = StoreOptions()
        for key in ["read_only", "indexing", "refresh_interval_ms", "minimum_refresh_gap_ms", "catch_up_refresh_interval_ms",
                    "commit_interval_ms", "index_buffer_bytes", "background_interval_ms", "force_full_recovery"] {
            if let v = reader.string(key) {
                do { try o.set(key, v) } catch { throw CArgumentError.option("strata_open: \(error)") }
            }
        }
        try reader.finish()
        let store = try Store(directory: dir, options: o)
        guard let h = HandleTable.shared.insert(CStore(store), kind: .store) else {
            try? store.close()
            throw CArgumentError(code: STRATA_ERROR, message: "too many open handles")
        }
        out.pointee = h
        return STRATA_OK
    } catch {
        let (code, message) = resultCode(for: error)
        errmsg?.pointee = mallocString(message)
        return code
    }
}

@c @implementation
public func strata_close(_ db: OpaquePointer?) -> Int32 {
    guard let db else { return STRATA_OK }
    guard let object = HandleTable.shared.remove(db, .store) else { return STRATA_MISUSE_HANDLE }
    let s = object.takeRetainedValue() as! CStore
    s.markClosed()
    do {
        try s.store.close()
        return STRATA_OK
    } catch {
        return resultCode(for: error).code
    }
}

@c @implementation
public func strata_errcode(_ db: OpaquePointer?) -> Int32 {
    withHandle(db, .store, as: CStore.self, { $0.errors.lastCode }, invalid: { STRATA_MISUSE_HANDLE })
}

@c @implementation
public func strata_errmsg(_ db: OpaquePointer?) -> UnsafePointer<CChar>? {
    withHandle(db, .store, as: CStore.self, { $0.errors.message }, invalid: { StaticMessage.badHandle })
}

// MARK: topics

@c @implementation
public func strata_topic_create(_ db: OpaquePointer?, _ topic: UnsafePointer<CChar>?, _ opt: OpaquePointer?) -> Int32 {
    withStore(db) { s in
        let name = try string(topic, "strata_topic_create: topic")
        var r = OptionReader(try options(opt), call: "strata_topic_create")
        var config = TopicConfig()
        if let p = try r.int("partitions", 1 ... 100_000) { config.partitions = Int32(p) }
        if let c = r.string("compression") {
            guard let codec = CompressionCodec(name: c) else { throw CArgumentError.option("strata_topic_create: compression '\(c)' (none, gzip, snappy, lz4, zstd)") }
            config.log.compression = codec
        }
        if let v = try r.int("retention_ms", 1 ... Int64.max) { config.log.retentionMs = v }
        if let v = try r.int("retention_bytes", 1 ... Int64.max) { config.log.retentionBytes = Int(v) }
        if let v = try r.int("segment_bytes", 1 << 14 ... 1 << 31) { config.log.segmentBytes = Int(v) }
        if let p = r.string("cleanup_policy") {
            guard let policy = CleanupPolicy(rawValue: p) else { throw CArgumentError.option("strata_topic_create: cleanup_policy '\(p)' (delete, compact)") }
            config.log.cleanupPolicy = policy
        }
        if let f = r.string("flush") {
            let parts = f.split(separator: ":").map(String.init)
            switch parts.first {
            case "os" where parts.count == 1: config.flushPolicy = .os
            case "every-batch" where parts.count == 1: config.flushPolicy = .everyBatch
            case "interval" where parts.count == 3:
                guard let n = Int(parts[1]), let ms = Int64(parts[2]), n > 0, ms > 0 else { fallthrough }
                config.flushPolicy = .interval(records: n, ms: ms)
            default: throw CArgumentError.option("strata_topic_create: flush '\(f)' (os, every-batch, interval:<records>:<ms>)")
            }
        }
        try r.finish()
        try s.store.createTopic(name, config: config)
        return STRATA_OK
    }
}

@c @implementation
public func strata_topic_list(_ db: OpaquePointer?, _ json: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    withJSONOutput(db, json, "strata_topic_list") { s in
        return JSONWriter.array(try s.store.topicNames().map(JSONWriter.string))
    }
}

@c @implementation
public func strata_topic_describe(_ db: OpaquePointer?, _ topic: UnsafePointer<CChar>?, _ json: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    withJSONOutput(db, json, "strata_topic_describe") { s in
        let d = try s.store.describeTopic(try string(topic, "strata_topic_describe: topic"))
        let parts = d.partitions.map { p in
            JSONWriter.object([("partition", "\(p.partition)"), ("log_start", "\(p.logStartOffset)"), ("high_watermark", "\(p.highWatermark)"),
                               ("bytes", "\(p.sizeBytes)"), ("segments", "\(p.segments)")])
        }
        return JSONWriter.object([
            ("name", JSONWriter.string(d.name)), ("partitions", JSONWriter.array(parts)),
            ("compression", JSONWriter.string(d.config.log.compression.description)),
            ("cleanup_policy", JSONWriter.string(d.config.log.cleanupPolicy.rawValue)),
            ("retention_ms", d.config.log.retentionMs.map { "\($0)" } ?? "null"),
            ("retention_bytes", d.config.log.retentionBytes.map { "\($0)" } ?? "null"),
            ("indexes", JSONWriter.array(d.indexes.map(JSONWriter.string))),
        ])
    }
}

// MARK: groups

@c @implementation
public func strata_group_commit(_ db: OpaquePointer?, _ group: UnsafePointer<CChar>?, _ topic: UnsafePointer<CChar>?, _ partition: Int32, _ offset: Int64,
                                _ metadata: UnsafePointer<CChar>?) -> Int32 {
    withStore(db) { s in
        try s.store.commitGroupOffset(group: try string(group, "strata_group_commit: group"), topic: try string(topic, "strata_group_commit: topic"),
                                      partition: partition, offset: offset, metadata: try optionalString(metadata, "strata_group_commit: metadata") ?? "")
        return STRATA_OK
    }
}

@c @implementation
public func strata_group_fetch(_ db: OpaquePointer?, _ group: UnsafePointer<CChar>?, _ topic: UnsafePointer<CChar>?, _ partition: Int32,
                               _ offset: UnsafeMutablePointer<Int64>?) -> Int32 {
    withStore(db) { s in
        guard let offset else { throw CArgumentError.null("strata_group_fetch: offset") }
        let g = try string(group, "strata_group_fetch: group"), t = try string(topic, "strata_group_fetch: topic")
        guard let o = try s.store.groupOffset(group: g, topic: t, partition: partition) else {
            throw StrataError.notFound("a committed offset of group \(g) for \(t)-\(partition)")
        }
        offset.pointee = o
        return STRATA_OK
    }
}

// MARK: maintenance

@c @implementation
public func strata_verify(_ db: OpaquePointer?, _ topic: UnsafePointer<CChar>?, _ json: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    withJSONOutput(db, json, "strata_verify") { s in
        let reports = try s.store.verify(topic: try optionalString(topic, "strata_verify: topic"))
        return JSONWriter.array(reports.map { r in
            JSONWriter.object([("partition", JSONWriter.string(FileSystem.lastComponent(r.partition))), ("damaged", r.isDamaged ? "true" : "false"),
                               ("segments", "\(r.segments)"), ("batches", "\(r.batches)"), ("records", "\(r.records)"), ("bytes", "\(r.bytes)"),
                               ("findings", JSONWriter.array(r.findings.map { JSONWriter.string("\($0)") }))])
        })
    }
}

@c @implementation
public func strata_recovery_report(_ db: OpaquePointer?, _ json: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    withJSONOutput(db, json, "strata_recovery_report") { s in
        return JSONWriter.array(try s.store.recoveryReports().map { p in
            JSONWriter.object([("partition", JSONWriter.string(p.partition)), ("repaired", p.report.isEmpty ? "false" : "true"),
                               ("report", JSONWriter.string(p.report.description)),
                               ("quarantined", JSONWriter.array(p.report.quarantined.map(JSONWriter.string)))])
        })
    }
}

/// Minimal JSON text building for the C API's outputs.
enum JSONWriter {
    static func string(_ s: String) -> String { jsonQuoted(s) }

    static func array(_ items: [String]) -> String { "[" + items.joined(separator: ",") + "]" }

    static func object(_ pairs: [(String, String)]) -> String {
        "{" + pairs.map { string($0.0) + ":" + $0.1 }.joined(separator: ",") + "}"
    }

    static func number(_ d: Double?) -> String {
        guard let d, d.isFinite else { return "null" }
        if d.rounded() == d && abs(d) < 1e15 { return String(Int64(d)) }
        return "\(d)"
    }
}
