import CStrata
import Strata

/// `strata_batch`: records to append, and where the last append put them.
final class CBatch {
    var records: [Record] = []
    var results: [(partition: Int32, offset: Int64)] = []
}

/// Byte lengths a C caller passes: at most 2 GiB, and a NULL pointer only with length 0.
func bytes(_ p: UnsafeRawPointer?, _ n: Int, _ what: String) throws -> [UInt8]? {
    guard n >= 0, n <= Int(Int32.max) else { throw CArgumentError.invalid("\(what): length \(UInt(bitPattern: n)) is over 2 GiB") }
    guard let p else {
        if n != 0 { throw CArgumentError.invalid("\(what) is NULL with length \(n)") }
        return nil
    }
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
            let k = try bytes(key, keyLength, "strata_batch_add: key"), v = try bytes(value, valueLength, "strata_batch_add: value")
            guard timestamp >= -1 else {
                throw CArgumentError.invalid("strata_batch_add: timestamp \(timestamp) is negative; use milliseconds since the epoch or STRATA_TIMESTAMP_NOW")
            }
            batch.records.append(Record(key: k, value: v, timestamp: timestamp == -1 ? nil : timestamp))
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
            guard !batch.records.isEmpty else { throw CArgumentError(code: STRATA_MISUSE, message: "strata_batch_add_header: the batch has no record yet") }
            let k = try string(key, "strata_batch_add_header: key")
            let v = try bytes(value, valueLength, "strata_batch_add_header: value")
            batch.records[batch.records.count - 1].headers.append(RecordHeader(key: k, value: v))
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
        count.pointee = batch.records.count
        return STRATA_OK
    }, invalid: { STRATA_MISUSE_HANDLE })
}

@c @implementation
public func strata_batch_clear(_ b: OpaquePointer?) -> Int32 {
    withHandle(b, .batch, as: CBatch.self, { batch in
        batch.records.removeAll(keepingCapacity: true)
        batch.results.removeAll(keepingCapacity: true)
        return STRATA_OK
    }, invalid: { STRATA_MISUSE_HANDLE })
}

@c @implementation
public func strata_batch_free(_ b: OpaquePointer?) -> Int32 {
    guard let b else { return STRATA_OK }
    guard let object = HandleTable.shared.remove(b, .batch) else { return STRATA_MISUSE_HANDLE }
    object.release()
    return STRATA_OK
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
        guard let raw = HandleTable.shared.object(b, .batch) else {
            throw CArgumentError(code: STRATA_MISUSE_HANDLE, message: "strata_append: the batch is not a live strata_batch")
        }
        let batch = Unmanaged<CBatch>.fromOpaque(raw).takeUnretainedValue()
        guard !batch.records.isEmpty else { throw CArgumentError.invalid("strata_append: the batch is empty") }
        guard partition >= -1 else { throw CArgumentError(code: STRATA_RANGE, message: "strata_append: partition \(partition) (a partition ≥ 0 or STRATA_PARTITION_BY_KEY)") }
        batch.results.removeAll(keepingCapacity: true)
        let t = try s.store.topic(name)
        if partition >= 0 {
            let r = try s.store.append(name, batch.records, partition: partition)[0]
            for i in 0 ..< batch.records.count { batch.results.append((partition, r.firstOffset + Int64(i))) }
            return STRATA_OK
        }
        // By key: route each record as the topic would (murmur2 of the key; unkeyed records of
        // one call share a round-robin partition), then append each partition's records in order.
        let n = Int32(t.partitions.count)
        var unkeyed: Int32?
        var picks = [Int32](repeating: 0, count: batch.records.count)
        var groups: [Int32: [Int]] = [:]
        for (i, r) in batch.records.enumerated() {
            let p: Int32
            if let key = r.key { p = Murmur2.partition(forKey: key, partitions: n) } else {
                if unkeyed == nil { unkeyed = t.partition(forKey: nil) }
                p = unkeyed!
            }
            picks[i] = p
            groups[p, default: []].append(i)
        }
        var first: [Int32: Int64] = [:]
        for (p, indices) in groups.sorted(by: { $0.key < $1.key }) {
            first[p] = try s.store.append(name, indices.map { batch.records[$0] }, partition: p)[0].firstOffset
        }
        var seen: [Int32: Int64] = [:]
        for p in picks {
            batch.results.append((p, first[p]! + seen[p, default: 0]))
            seen[p, default: 0] += 1
        }
        return STRATA_OK
    }
}
