import CStrata
import Strata

/// `strata_batch`: records to append — their keys and values copied into one growing byte
/// arena (no allocation per record once warm), appended from there without another copy —
/// and where the last append put them.
final class CBatch {
    struct Entry {
        var key: Int        // arena start, or -1 for a null key
        var keyLength: Int
        var value: Int      // arena start, or -1 for a null value
        var valueLength: Int
        var timestamp: Int64 // -1: the time of the append
        var headers: [RecordHeader]
    }
    // One thread at a time uses a batch (strata.h): no dynamic exclusivity checks per record.
    @exclusivity(unchecked) var arena: [UInt8] = []
    @exclusivity(unchecked) var entries: [Entry] = []
    @exclusivity(unchecked) var results: [(partition: Int32, offset: Int64)] = []

    /// Copies `n` bytes at `p` into the arena; their start (-1 for nil).
    func copy(_ p: UnsafeRawPointer?, _ n: Int) -> Int {
        guard let p else { return -1 }
        let start = arena.count
        arena.append(contentsOf: UnsafeRawBufferPointer(start: p, count: n))
        return start
    }

    /// Calls `body` with the arena, to read entries' bytes from.
    func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try arena.withUnsafeBytes(body)
    }

    @inline(__always) static func slice(_ bytes: UnsafeRawBufferPointer, _ start: Int, _ count: Int) -> UnsafeRawBufferPointer? {
        start < 0 ? nil : UnsafeRawBufferPointer(rebasing: bytes[start ..< start + count])
    }

    /// Adds entry `i` to a batch being built.
    @inline(__always) func add(_ i: Int, from bytes: UnsafeRawBufferPointer, to builder: RecordBatchBuilder, now: Int64) {
        let e = entries[i]
        builder.add(key: Self.slice(bytes, e.key, e.keyLength), value: Self.slice(bytes, e.value, e.valueLength),
                    headers: e.headers, timestamp: e.timestamp < 0 ? now : e.timestamp)
    }
}

/// Checks a byte length a C caller passes: at most 2 GiB, and a NULL pointer only with length 0.
func checkBytes(_ p: UnsafeRawPointer?, _ n: Int, _ what: String) throws {
    guard n >= 0, n <= Int(Int32.max) else { throw CArgumentError.invalid("\(what): length \(UInt(bitPattern: n)) is over 2 GiB") }
    if p == nil && n != 0 { throw CArgumentError.invalid("\(what) is NULL with length \(n)") }
}

/// A copy of bytes a C caller passes (checked as `checkBytes` does); nil for NULL.
func bytes(_ p: UnsafeRawPointer?, _ n: Int, _ what: String) throws -> [UInt8]? {
    try checkBytes(p, n, what)
    guard let p else { return nil }
    return Array(UnsafeRawBufferPointer(start: p, count: n))
}

@c @implementation
public func strata_batch_new(_ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guard let out else { return STRATA_MISUSE_NULL }
    out.pointee = HandleTable.shared.insert(CBatch(), kind: .batch)
    return out.pointee == nil ? STRATA_ERROR : STRATA_OK
}

@c @implementation
public func strata_batch_add(_ b: OpaquePointer?, _ key: UnsafeRawPointer?, _ keyLength: Int, _ value: UnsafeRawPointer?, _ valueLength: Int, _ timestamp: Int64) -> Int32 {
    withHandle(b, .batch, as: CBatch.self, { batch in
        do {
            try checkBytes(key, keyLength, "strata_batch_add: key")
            try checkBytes(value, valueLength, "strata_batch_add: value")
            guard timestamp >= -1 else {
                throw CArgumentError.invalid("strata_batch_add: timestamp \(timestamp) is negative; use milliseconds since the epoch or STRATA_TIMESTAMP_NOW")
            }
            let k = batch.copy(key, keyLength), v = batch.copy(value, valueLength)
            batch.entries.append(CBatch.Entry(key: k, keyLength: keyLength, value: v, valueLength: valueLength, timestamp: timestamp, headers: []))
            return STRATA_OK
        } catch {
            return resultCode(for: error).code
        }
    }, invalid: { STRATA_MISUSE_HANDLE })
}

@c @implementation
public func strata_batch_add_header(_ b: OpaquePointer?, _ key: UnsafePointer<CChar>?, _ value: UnsafeRawPointer?, _ valueLength: Int) -> Int32 {
    withHandle(b, .batch, as: CBatch.self, { batch in
        do {
            guard !batch.entries.isEmpty else { throw CArgumentError(code: STRATA_MISUSE, message: "strata_batch_add_header: the batch has no record yet") }
            let k = try string(key, "strata_batch_add_header: key")
            let v = try bytes(value, valueLength, "strata_batch_add_header: value")
            batch.entries[batch.entries.count - 1].headers.append(RecordHeader(key: k, value: v))
            return STRATA_OK
        } catch {
            return resultCode(for: error).code
        }
    }, invalid: { STRATA_MISUSE_HANDLE })
}

@c @implementation
public func strata_batch_count(_ b: OpaquePointer?, _ count: UnsafeMutablePointer<Int>?) -> Int32 {
    withHandle(b, .batch, as: CBatch.self, { batch in
        guard let count else { return STRATA_MISUSE_NULL }
        count.pointee = batch.entries.count
        return STRATA_OK
    }, invalid: { STRATA_MISUSE_HANDLE })
}

@c @implementation
public func strata_batch_clear(_ b: OpaquePointer?) -> Int32 {
    withHandle(b, .batch, as: CBatch.self, { batch in
        batch.arena.removeAll(keepingCapacity: true)
        batch.entries.removeAll(keepingCapacity: true)
        batch.results.removeAll(keepingCapacity: true)
        return STRATA_OK
    }, invalid: { STRATA_MISUSE_HANDLE })
}

@c @implementation
public func strata_batch_free(_ b: OpaquePointer?) -> Int32 {
    releaseHandle(b, .batch)
}

@c @implementation
public func strata_batch_result(_ b: OpaquePointer?, _ i: Int, _ partition: UnsafeMutablePointer<Int32>?, _ offset: UnsafeMutablePointer<Int64>?) -> Int32 {
    withHandle(b, .batch, as: CBatch.self, { batch in
        guard i >= 0, i < batch.results.count else { return STRATA_RANGE }
        partition?.pointee = batch.results[i].partition
        offset?.pointee = batch.results[i].offset
        return STRATA_OK
    }, invalid: { STRATA_MISUSE_HANDLE })
}

@c @implementation
public func strata_append(_ db: OpaquePointer?, _ topic: UnsafePointer<CChar>?, _ partition: Int32, _ b: OpaquePointer?) -> Int32 {
    withStore(db) { s in
        let name = try string(topic, "strata_append: topic")
        guard let raw = HandleTable.object(b, .batch) else {
            throw CArgumentError(code: STRATA_MISUSE_HANDLE, message: "strata_append: the batch is not a live strata_batch")
        }
        let batch = Unmanaged<CBatch>.fromOpaque(raw).takeUnretainedValue()
        guard !batch.entries.isEmpty else { throw CArgumentError.invalid("strata_append: the batch is empty") }
        guard partition >= -1 else { throw CArgumentError(code: STRATA_RANGE, message: "strata_append: partition \(partition) (a partition ≥ 0 or STRATA_PARTITION_BY_KEY)") }
        batch.results.removeAll(keepingCapacity: true)
        let t = try s.store.topic(name)
        let now = currentTimeMillis()
        let count = batch.entries.count
        if partition >= 0 {
            let r = try batch.withBytes { bytes in
                try s.store.append(name, partition: partition, count: count) { i, builder in batch.add(i, from: bytes, to: builder, now: now) }
            }
            for i in 0 ..< count { batch.results.append((partition, r.firstOffset + Int64(i))) }
            return STRATA_OK
        }
        // By key: route each record as the topic would (murmur2 of the key; unkeyed records of
        // one call share a round-robin partition), then append each partition's records in order.
        let n = Int32(t.partitions.count)
        var unkeyed: Int32?
        var picks = [Int32](repeating: 0, count: count)
        var groups: [Int32: [Int]] = [:]
        batch.withBytes { bytes in
            for (i, e) in batch.entries.enumerated() {
                let p: Int32
                if let key = CBatch.slice(bytes, e.key, e.keyLength) { p = Murmur2.partition(forKey: key, partitions: n) } else {
                    if unkeyed == nil { unkeyed = t.partition(forKey: nil) }
                    p = unkeyed!
                }
                picks[i] = p
                groups[p, default: []].append(i)
            }
        }
        var first: [Int32: Int64] = [:]
        for (p, indices) in groups.sorted(by: { $0.key < $1.key }) {
            first[p] = try batch.withBytes { bytes in
                try s.store.append(name, partition: p, count: indices.count) { j, builder in batch.add(indices[j], from: bytes, to: builder, now: now) }
            }.firstOffset
        }
        var seen: [Int32: Int64] = [:]
        for p in picks {
            batch.results.append((p, first[p]! + seen[p, default: 0]))
            seen[p, default: 0] += 1
        }
        return STRATA_OK
    }
}
