#if canImport(Glibc)
import Glibc
#endif
import CStrata
import Strata

/// `strata_cursor`: a partition cursor, the record it last returned (borrowed from the log
/// until the next call) and that record's headers.
final class CCursor {
    let owner: CStore
    let log: Log
    let partition: Int32
    let cursor: LogCursor
    let errors = ErrorState()
    // One thread at a time uses a cursor (strata.h): no dynamic exclusivity checks per call.
    /// The header count of the record the last STRATA_ROW returned (nil: none); its header
    /// bytes are the LogCursor's `lastHeaderBytes`.
    @exclusivity(unchecked) var currentHeaderCount: Int?
    /// Per header of the current record: key and value views (filled on first use).
    @exclusivity(unchecked) var headers: [(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer?)] = []
    @exclusivity(unchecked) var headersParsed = false
    private var signal: WakeSignal?

    init(owner: CStore, log: Log, partition: Int32, cursor: LogCursor) {
        self.owner = owner
        self.log = log
        self.partition = partition
        self.cursor = cursor
    }

    deinit { if let signal { log.removeAppendObserver(signal) } }

    /// Waits until the log holds records past `seen`, at most `timeoutMs` (< 0: forever).
    func wait(beyond seen: Int64, timeoutMs: Int) throws -> Bool {
        let deadline = timeoutMs < 0 ? Int64.max : monotonicNanoseconds() + Int64(timeoutMs) * 1_000_000
        if log.isReadOnly {
            // Another process appends: look every 50 ms.
            while true {
                _ = try log.refresh()
                if log.highWatermark > seen { return true }
                let left = deadline - monotonicNanoseconds()
                if left <= 0 { return false }
                usleep(UInt32(min(left / 1000, 50_000)))
            }
        }
        if signal == nil {
            let s = WakeSignal()
            log.addAppendObserver(s)
            signal = s
        }
        while true {
            if log.highWatermark > seen { return true }
            if owner.closed { throw StrataError.closed("the store of this cursor") }
            let left = deadline - monotonicNanoseconds()
            if left <= 0 { return false }
            signal!.wait(nanoseconds: min(left, 100_000_000))
        }
    }
}

/// A readable zero-length buffer for empty (not null) keys, values and headers.
nonisolated(unsafe) let emptyBytes: UnsafeRawPointer = UnsafeRawPointer(UnsafeMutableRawPointer.allocate(byteCount: 1, alignment: 1))

/// The C pointer of a borrowed buffer: NULL for nil (null), never NULL for an empty one.
@inline(__always) func cPointer(_ b: UnsafeRawBufferPointer?) -> UnsafeRawPointer? {
    guard let b else { return nil }
    return b.baseAddress.map { UnsafeRawPointer($0) } ?? emptyBytes
}

/// Fills a C record view from a borrowed Swift one.
@inline(__always)
func fill(_ out: UnsafeMutablePointer<strata_record>, _ r: RecordView, partition: Int32) {
    out.pointee = strata_record(partition: partition, offset: r.offset, timestamp: r.timestamp,
                                key: cPointer(r.key), key_len: r.key?.count ?? 0,
                                value: cPointer(r.value), value_len: r.value?.count ?? 0, header_count: r.headerCount)
}

/// The encoded headers of the record an iterator stands on (all that later calls need of it:
/// keeping the whole `RecordView` cost a wide unaligned copy per record).
struct RecordHeaders {
    let bytes: UnsafeRawBufferPointer
    let count: Int
}

/// Header `i` of a record as borrowed views, parsing its headers once into `cache`.
func header(_ r: RecordHeaders, _ i: Int, _ cache: inout [(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer?)], _ parsed: inout Bool,
            _ key: UnsafeMutablePointer<UnsafePointer<CChar>?>?, _ keyLength: UnsafeMutablePointer<Int>?,
            _ value: UnsafeMutablePointer<UnsafeRawPointer?>?, _ valueLength: UnsafeMutablePointer<Int>?) -> Int32 {
    if !parsed {
        cache.removeAll(keepingCapacity: true)
        var reader = ByteReader(r.bytes)
        // Validated when the record was read; a failure here only ends the list.
        do {
            for _ in 0 ..< r.count {
                let k = try reader.readNullableBytes("header key")
                let v = try reader.readNullableBytes("header value")
                cache.append((k ?? UnsafeRawBufferPointer(start: nil, count: 0), v))
            }
        } catch {}
        parsed = true
    }
    guard i >= 0, i < cache.count else { return STRATA_RANGE }
    let h = cache[i]
    key?.pointee = cPointer(h.key)!.assumingMemoryBound(to: CChar.self)
    keyLength?.pointee = h.key.count
    value?.pointee = cPointer(h.value)
    valueLength?.pointee = h.value?.count ?? 0
    return STRATA_OK
}

private func openCursor(_ db: OpaquePointer?, _ topic: UnsafePointer<CChar>?, _ partition: Int32, _ out: UnsafeMutablePointer<OpaquePointer?>?,
                        _ start: (Store, String) throws -> ConsumerStart) -> Int32 {
    out?.pointee = nil
    return withStore(db) { s in
        guard let out else { throw CArgumentError.null("out") }
        let name = try string(topic, "topic")
        let c = try s.store.cursor(topic: name, partition: partition, from: try start(s.store, name))
        guard let h = HandleTable.shared.insert(CCursor(owner: s, log: c.log, partition: partition, cursor: c), kind: .cursor) else {
            throw CArgumentError(code: STRATA_ERROR, message: "too many open handles")
        }
        out.pointee = h
        return STRATA_OK
    }
}

private func startPosition(_ v: Int64) throws -> StartPosition {
    switch v {
    case Int64(STRATA_EARLIEST): return .earliest
    case Int64(STRATA_LATEST): return .latest
    case 0...: return .offset(v)
    default: throw CArgumentError(code: STRATA_RANGE, message: "offset \(v) (an offset ≥ 0, STRATA_EARLIEST or STRATA_LATEST)")
    }
}

@c @implementation
public func strata_cursor_open(_ db: OpaquePointer?, _ topic: UnsafePointer<CChar>?, _ partition: Int32, _ offset: Int64, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    openCursor(db, topic, partition, out) { _, _ in .position(try startPosition(offset)) }
}

@c @implementation
public func strata_cursor_open_time(_ db: OpaquePointer?, _ topic: UnsafePointer<CChar>?, _ partition: Int32, _ timestamp: Int64, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    openCursor(db, topic, partition, out) { _, _ in .position(.timestamp(timestamp)) }
}

@c @implementation
public func strata_cursor_open_group(_ db: OpaquePointer?, _ group: UnsafePointer<CChar>?, _ topic: UnsafePointer<CChar>?, _ partition: Int32, _ otherwise: Int64,
                                     _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    openCursor(db, topic, partition, out) { _, _ in
        guard otherwise == Int64(STRATA_EARLIEST) || otherwise == Int64(STRATA_LATEST) else {
            throw CArgumentError(code: STRATA_RANGE, message: "strata_cursor_open_group: otherwise must be STRATA_EARLIEST or STRATA_LATEST")
        }
        return .committed(group: try string(group, "group"), otherwise: try startPosition(otherwise))
    }
}

/// Runs `body` on the cursor of handle `c`; refuses a cursor whose store was closed.
@inline(__always)
private func withCursor(_ c: OpaquePointer?, _ body: (CCursor) throws -> Int32) -> Int32 {
    withHandle(c, .cursor, as: CCursor.self, { cur in
        if cur.owner.closed { return cur.errors.fail(STRATA_MISUSE_CLOSED, "the store of this cursor was closed; close the cursor") }
        do { return try body(cur) } catch { return cur.errors.fail(error) }
    }, invalid: { STRATA_MISUSE_HANDLE })
}

@c @implementation
public func strata_cursor_next(_ c: OpaquePointer?, _ out: UnsafeMutablePointer<strata_record>?) -> Int32 {
    // The hot path of a scan, written out without the generic wrapper (borrowed reference,
    // no reference counting).
    guard let raw = HandleTable.object(c, .cursor) else { return STRATA_MISUSE_HANDLE }
    return Unmanaged<CCursor>.fromOpaque(raw)._withUnsafeGuaranteedRef { cur in cur.next(into: out) }
}

extension CCursor {
    @inline(__always)
    func next(into out: UnsafeMutablePointer<strata_record>?) -> Int32 {
        if owner.closed { return errors.fail(STRATA_MISUSE_CLOSED, "the store of this cursor was closed; close the cursor") }
        guard let out else { return errors.fail(CArgumentError.null("strata_cursor_next: out")) }
        currentHeaderCount = nil
        headersParsed = false
        do {
            var r = try cursor.next()
            if r == nil, log.isReadOnly, try log.refresh() { r = try cursor.next() }
            guard let r else { return STRATA_DONE }
            // Only the count: copying the header view out of the returned record stalled on
            // store forwarding (a third of this call's time); the cursor keeps the bytes.
            currentHeaderCount = r.headerCount
            fill(out, r, partition: partition)
            return STRATA_ROW
        } catch {
            return errors.fail(error)
        }
    }
}

@c @implementation
public func strata_cursor_header(_ c: OpaquePointer?, _ i: Int, _ key: UnsafeMutablePointer<UnsafePointer<CChar>?>?, _ keyLength: UnsafeMutablePointer<Int>?,
                                 _ value: UnsafeMutablePointer<UnsafeRawPointer?>?, _ valueLength: UnsafeMutablePointer<Int>?) -> Int32 {
    withCursor(c) { cur in
        guard let count = cur.currentHeaderCount else { throw CArgumentError(code: STRATA_MISUSE, message: "strata_cursor_header: no current record (call strata_cursor_next first)") }
        let r = RecordHeaders(bytes: cur.cursor.lastHeaderBytes, count: count)
        return header(r, i, &cur.headers, &cur.headersParsed, key, keyLength, value, valueLength)
    }
}

@c @implementation
public func strata_cursor_wait(_ c: OpaquePointer?, _ timeoutMs: Int32) -> Int32 {
    withCursor(c) { cur in
        cur.currentHeaderCount = nil
        // Records past the cursor's position: the log's end beyond its next offset.
        return try cur.wait(beyond: cur.cursor.nextOffset, timeoutMs: Int(timeoutMs)) ? STRATA_OK : STRATA_TIMEOUT
    }
}

@c @implementation
public func strata_cursor_seek(_ c: OpaquePointer?, _ offset: Int64) -> Int32 {
    withCursor(c) { cur in
        cur.currentHeaderCount = nil
        if cur.log.isReadOnly { _ = try cur.log.refresh() }
        try cur.cursor.seek(to: offset)
        return STRATA_OK
    }
}

@c @implementation
public func strata_cursor_position(_ c: OpaquePointer?, _ offset: UnsafeMutablePointer<Int64>?) -> Int32 {
    withCursor(c) { cur in
        guard let offset else { throw CArgumentError.null("strata_cursor_position: offset") }
        offset.pointee = cur.cursor.nextOffset
        return STRATA_OK
    }
}

@c @implementation
public func strata_cursor_errmsg(_ c: OpaquePointer?) -> UnsafePointer<CChar>? {
    withHandle(c, .cursor, as: CCursor.self, { $0.errors.message }, invalid: { StaticMessage.badHandle })
}

@c @implementation
public func strata_cursor_close(_ c: OpaquePointer?) -> Int32 {
    releaseHandle(c, .cursor)
}
