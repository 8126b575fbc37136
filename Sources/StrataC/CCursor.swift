#if canImport(Glibc)
import Glibc
#endif
import CStrata
import Synchronization
import Strata

/// `strata_cursor`: a partition cursor, the records it has read ahead (up to one batch,
/// borrowed from the log until the next read) and the headers of the record it last returned.
final class CCursor {
    let owner: CStore
    let log: Log
    let partition: Int32
    let cursor: LogCursor
    let errors = ErrorState()
    /// Records read ahead from the current batch: `strata_cursor_next` hands them out one per
    /// call and reads the next run only when they are used up (a call through the boundary
    /// then costs a copy, not a walk through the log cursor). Behind a pointer, so that hot
    /// path works on plain memory without reference counting.
    let run: UnsafeMutablePointer<ReadAhead>
    struct ReadAhead {
        let records: UnsafeMutableBufferPointer<RecordView>
        /// Records in `records`, and how many of them were returned.
        var count = 0
        var returned = 0
        /// Whether the last call returned a record (`records[returned - 1]`) whose headers
        /// may be read.
        var hasCurrent = false
        var headersParsed = false
        let partition: Int32
        let storeClosed: UnsafeMutablePointer<Atomic<Bool>>

        /// Copies the next record read ahead (there must be one) into `out`: it becomes the
        /// current record.
        @inline(__always)
        mutating func handOut(into out: UnsafeMutablePointer<strata_record>) -> Int32 {
            fill(out, records[returned], partition: partition)
            returned += 1
            hasCurrent = true
            headersParsed = false
            return STRATA_ROW
        }
    }
    var ahead: UnsafeMutableBufferPointer<RecordView> { run.pointee.records }
    var aheadCount: Int { get { run.pointee.count } set { run.pointee.count = newValue } }
    var returned: Int { get { run.pointee.returned } set { run.pointee.returned = newValue } }
    var hasCurrent: Bool { get { run.pointee.hasCurrent } set { run.pointee.hasCurrent = newValue } }
    var headersParsed: Bool { get { run.pointee.headersParsed } set { run.pointee.headersParsed = newValue } }
    /// Per header of the current record: key and value views (filled on first use).
    @exclusivity(unchecked) var headers: [(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer?)] = []
    private var signal: WakeSignal?

    init(owner: CStore, log: Log, partition: Int32, cursor: LogCursor) {
        self.owner = owner
        self.log = log
        self.partition = partition
        self.cursor = cursor
        run = .allocate(capacity: 1)
        run.initialize(to: ReadAhead(records: .allocate(capacity: 64), partition: partition, storeClosed: owner.closedFlag))
    }

    /// The offset the next record returned will have at least.
    var position: Int64 { returned < aheadCount ? ahead[returned].offset : cursor.nextOffset }

    /// Forgets the records read ahead (before a seek).
    func dropReadAhead() {
        aheadCount = 0
        returned = 0
        hasCurrent = false
    }

    deinit {
        if let signal { log.removeAppendObserver(signal) }
        run.pointee.records.deallocate()
        run.deinitialize(count: 1)
        run.deallocate()
    }

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
    return b.baseAddress ?? emptyBytesPointer()
}

/// `emptyBytes`, out of line: reading a lazily initialized global costs a once-check, and
/// views without a base address are rare (views into a record always have one).
@inline(never) func emptyBytesPointer() -> UnsafeRawPointer { emptyBytes }

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
    guard let raw = HandleTable.object(c, .cursor) else { return STRATA_MISUSE_HANDLE }
    let cursor = Unmanaged<CCursor>.fromOpaque(raw)
    let run = cursor._withUnsafeGuaranteedRef { $0.run }
    // The hot path of a scan: a record read ahead, handed out with a copy, on plain memory (no
    // reference counting). Anything else (the end of the run, a NULL, a closed store) goes to
    // `nextSlowly`.
    guard run.pointee.returned < run.pointee.count, let out, !run.pointee.storeClosed.pointee.load(ordering: .acquiring) else {
        return cursor._withUnsafeGuaranteedRef { $0.nextSlowly(into: out) }
    }
    return run.pointee.handOut(into: out)
}

extension CCursor {
    @inline(never)
    func nextSlowly(into out: UnsafeMutablePointer<strata_record>?) -> Int32 {
        if owner.closed { return errors.fail(STRATA_MISUSE_CLOSED, "the store of this cursor was closed; close the cursor") }
        guard let out else { return errors.fail(CArgumentError.null("strata_cursor_next: out")) }
        hasCurrent = false
        do {
            if returned == aheadCount, try !readAhead() { return STRATA_DONE }
        } catch {
            return errors.fail(error)
        }
        return run.pointee.handOut(into: out)
    }

    /// Reads the next run of records into `ahead`; false at the end of the log.
    private func readAhead() throws -> Bool {
        returned = 0
        aheadCount = try cursor.read(into: ahead)
        if aheadCount == 0, log.isReadOnly, try log.refresh() { aheadCount = try cursor.read(into: ahead) }
        return aheadCount > 0
    }
}

@c @implementation
public func strata_cursor_header(_ c: OpaquePointer?, _ i: Int, _ key: UnsafeMutablePointer<UnsafePointer<CChar>?>?, _ keyLength: UnsafeMutablePointer<Int>?,
                                 _ value: UnsafeMutablePointer<UnsafeRawPointer?>?, _ valueLength: UnsafeMutablePointer<Int>?) -> Int32 {
    withCursor(c) { cur in
        guard cur.hasCurrent else { throw CArgumentError(code: STRATA_MISUSE, message: "strata_cursor_header: no current record (call strata_cursor_next first)") }
        let current = cur.ahead[cur.returned - 1]
        let r = RecordHeaders(bytes: current.headerBytes, count: current.headerCount)
        return header(r, i, &cur.headers, &cur.headersParsed, key, keyLength, value, valueLength)
    }
}

@c @implementation
public func strata_cursor_wait(_ c: OpaquePointer?, _ timeoutMs: Int32) -> Int32 {
    withCursor(c) { cur in
        cur.hasCurrent = false
        // Records past the cursor's position: records read ahead, or the log's end beyond it.
        if cur.returned < cur.aheadCount { return STRATA_OK }
        return try cur.wait(beyond: cur.cursor.waitOffset, timeoutMs: Int(timeoutMs)) ? STRATA_OK : STRATA_TIMEOUT
    }
}

@c @implementation
public func strata_cursor_seek(_ c: OpaquePointer?, _ offset: Int64) -> Int32 {
    withCursor(c) { cur in
        cur.dropReadAhead()
        if cur.log.isReadOnly { _ = try cur.log.refresh() }
        try cur.cursor.seek(to: offset)
        return STRATA_OK
    }
}

@c @implementation
public func strata_cursor_set_isolation(_ c: OpaquePointer?, _ level: Int32) -> Int32 {
    withCursor(c) { cur in
        let isolation: IsolationLevel
        switch level {
        case STRATA_READ_UNCOMMITTED: isolation = .readUncommitted
        case STRATA_READ_COMMITTED: isolation = .readCommitted
        default: throw CArgumentError(code: STRATA_MISUSE, message: "strata_cursor_set_isolation: level \(level) (STRATA_READ_UNCOMMITTED or STRATA_READ_COMMITTED)")
        }
        // From the cursor's position on: records read ahead under the old level are read again.
        let at = cur.position
        cur.dropReadAhead()
        cur.cursor.isolation = isolation
        try cur.cursor.seek(to: at)
        return STRATA_OK
    }
}

@c @implementation
public func strata_cursor_position(_ c: OpaquePointer?, _ offset: UnsafeMutablePointer<Int64>?) -> Int32 {
    withCursor(c) { cur in
        guard let offset else { throw CArgumentError.null("strata_cursor_position: offset") }
        offset.pointee = cur.position
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
