#if canImport(Glibc)
import Glibc
#endif
import Foundation
import StrataIO

/// Builds an index's memory buffer on a second thread (`SearchIndex.Options.pipelinedIndexing`),
/// so adding documents uses two cores: the adding thread parses, maps and analyzes each
/// document into a batch of operations — a text value's tokens with their positions, keyword
/// values, numbers, document ends — and this thread replays the batches onto the
/// `IndexBuffer` in the order they were made (term lookup and postings, the other half of the
/// work). Three batches at most are alive: one filling, one handed over, one being applied.
///
/// The buffer is this thread's while it runs. When a document brings the buffer to the index's
/// flush size, this thread seals it — exactly where a single thread would flush — and goes on
/// in a new one; the index writes sealed buffers as segments, in order, after the next
/// hand-over or drain. The adding thread touches the current buffer only after `drain()`, which
/// returns once every batch handed over has been applied: the buffers then hold exactly the
/// documents added, in order, split where one thread would have split them. Replaying cannot
/// fail: a document is checked whole before any of it is written to a batch, and a batch does
/// no I/O (flushes stay with the index).
final class InversionPipeline: @unchecked Sendable {
    /// One batch: operations in memory (native byte order; never stored) and the field
    /// definitions they refer to.
    final class Batch {
        let bytes = ByteWriter(capacity: 1 << 16)
        var documents = 0
        var fields: [FieldDefinition] = []
    }

    /// Operation tags.
    private enum Op: UInt8 {
        /// u32 field, u32 token count, then per token: u32 position, u32 length, the bytes.
        case tokens = 0
        /// u32 field, u32 length, the bytes (a keyword value: the buffer's own analyzer).
        case value = 1
        /// u32 field, i64 bits.
        case number = 2
        case endDocument = 3
    }

    /// A batch is handed over at this many documents or bytes, whichever comes first.
    static let batchDocuments = 256
    static let batchBytes = 1 << 20

    private let monitor = Monitor()
    // Guarded by `monitor`.
    private var handedOver: Batch?
    private var applying = false
    private var spare: Batch?
    private var stopped = false
    private var sealed: [IndexBuffer] = []
    private var thread: Thread?

    /// The buffer being filled: the pipeline thread's, the adding thread's after `drain()`.
    var buffer = IndexBuffer()
    /// The index's flush size (`Options.bufferBytes`).
    private let flushBytes: Int

    // The adding thread's own.
    private var filling = Batch()
    /// Analyzers of text fields, used on the adding thread only (the buffer's own are the other
    /// thread's).
    private var analyzers: [Analyzer?] = []

    init(flushBytes: Int) {
        self.flushBytes = flushBytes
    }

    deinit { stop() }

    /// Buffers sealed since the last call, oldest first (to be written as segments).
    func takeSealed() -> [IndexBuffer] {
        monitor.withLock {
            defer { sealed.removeAll() }
            return sealed
        }
    }

    /// Puts buffers back in front (their flush failed: a later one retries).
    func restoreSealed(_ buffers: [IndexBuffer]) {
        monitor.withLock { sealed.insert(contentsOf: buffers, at: 0) }
    }

    /// Documents in sealed buffers and the current one (after `drain()`).
    var bufferedDocuments: Int { monitor.withLock { sealed.reduce(0) { $0 + $1.documentCount } } + buffer.documentCount }

    /// Ends the thread once it has applied what it was given.
    func stop() {
        let t = monitor.withLock { () -> Thread? in
            stopped = true
            return thread
        }
        monitor.broadcast()
        if t != nil { _ = monitor.wait(until: { thread == nil }, timeoutNanoseconds: nil) }
    }

    // MARK: writing a batch (adding thread)

    /// Analyzes a text value of `field` into the batch.
    /// The field's definition is read once, when the field's analyzer is made.
    func addText(_ field: Int, _ definition: @autoclosure () -> FieldDefinition, _ text: UnsafeRawBufferPointer) {
        let analyzer: Analyzer
        if field < analyzers.count, let a = analyzers[field] {
            analyzer = a
        } else {
            analyzer = definition().makeAnalyzer()
            if field >= analyzers.count { analyzers += repeatElement(nil, count: field + 1 - analyzers.count) }
            analyzers[field] = analyzer
        }
        let out = filling.bytes
        out.append(Op.tokens.rawValue)
        put(UInt32(field))
        let countSlot = out.count
        put(UInt32(0))
        var count: UInt32 = 0
        analyzer.analyze(text) { token in
            let n = token.bytes.count
            let p = out.reserve(8 &+ n)
            p.storeBytes(of: UInt32(truncatingIfNeeded: token.position), as: UInt32.self)
            p.storeBytes(of: UInt32(truncatingIfNeeded: n), toByteOffset: 4, as: UInt32.self)
            if n > 0 { (p + 8).copyMemory(from: token.bytes.baseAddress!, byteCount: n) }
            out.count += 8 &+ n
            count &+= 1
        }
        (out.base + countSlot).storeBytes(of: count, as: UInt32.self)
    }

    /// A value the buffer analyzes itself (keywords).
    func addValue(_ field: Int, _ bytes: UnsafeRawBufferPointer) {
        filling.bytes.append(Op.value.rawValue)
        put(UInt32(field))
        put(UInt32(bytes.count))
        filling.bytes.append(bytes)
    }

    func setNumber(_ field: Int, _ bits: Int64) {
        filling.bytes.append(Op.number.rawValue)
        put(UInt32(field))
        put(UInt64(bitPattern: bits))
    }

    /// Ends the document; hands the batch over when it is full (waiting while the other thread
    /// is behind by a whole batch). Returns whether it did. `fields` (the schema's, for the
    /// batch) is read only at a hand-over.
    @discardableResult
    func endDocument(fields: @autoclosure () -> [FieldDefinition]) -> Bool {
        filling.bytes.append(Op.endDocument.rawValue)
        filling.documents += 1
        guard filling.documents >= Self.batchDocuments || filling.bytes.count >= Self.batchBytes else { return false }
        handOver(fields: fields())
        return true
    }

    /// Hands the filling batch over (waits while another is still waiting to be taken).
    func handOver(fields: [FieldDefinition]) {
        guard filling.bytes.count > 0 else { return }
        filling.fields = fields
        let batch = filling
        _ = monitor.wait(until: { handedOver == nil }, timeoutNanoseconds: nil)
        let next = monitor.withLock { () -> Batch? in
            handedOver = batch
            if thread == nil { start() }
            defer { spare = nil }
            return spare
        }
        monitor.broadcast()
        filling = next ?? Batch()
    }

    /// Hands over what is filling and waits until every batch is applied: afterwards the buffer
    /// holds every document added, and the other thread is idle until the next hand-over.
    func drain(fields: [FieldDefinition]) {
        handOver(fields: fields)
        _ = monitor.wait(until: { handedOver == nil && !applying }, timeoutNanoseconds: nil)
    }

    /// Drops what is filling (the index is closing without committing).
    func discardFilling() {
        filling.bytes.removeAll()
        filling.documents = 0
    }

    @inline(__always) private func put<T: FixedWidthInteger>(_ v: T) {
        filling.bytes.reserve(MemoryLayout<T>.size).storeBytes(of: v, as: T.self)
        filling.bytes.count += MemoryLayout<T>.size
    }

    // MARK: applying batches (the pipeline's thread)

    /// Called with the monitor held.
    private func start() {
        let t = Thread { [self] in self.loop() }
        t.name = "strata-invert"
        thread = t
        t.start()
    }

    private func loop() {
        while true {
            _ = monitor.wait(until: { handedOver != nil || stopped }, timeoutNanoseconds: nil)
            let batch = monitor.withLock { () -> Batch? in
                guard let b = handedOver else { return nil }
                handedOver = nil
                applying = true
                return b
            }
            guard let batch else {
                monitor.withLock { thread = nil }
                monitor.broadcast()
                return
            }
            apply(batch)
            batch.bytes.removeAll()
            batch.documents = 0
            batch.fields = []
            monitor.withLock {
                applying = false
                if spare == nil { spare = batch }
            }
            monitor.broadcast()
        }
    }

    private func apply(_ batch: Batch) {
        var buffer = self.buffer
        defer { self.buffer = buffer }
        let fields = batch.fields
        let bytes = batch.bytes.bytes
        guard let base = bytes.baseAddress else { return }
        var at = 0
        @inline(__always) func u32() -> Int {
            defer { at &+= 4 }
            return Int(base.loadUnaligned(fromByteOffset: at, as: UInt32.self))
        }
        while at < bytes.count {
            let op = base.load(fromByteOffset: at, as: UInt8.self)
            at &+= 1
            switch Op(rawValue: op)! {
            case .tokens:
                let field = u32(), count = u32()
                at = buffer.addAnalyzed(field, fields[field], tokens: base + at, count: count) - base
            case .value:
                let field = u32(), n = u32()
                buffer.addTerms(field, fields[field], UnsafeRawBufferPointer(start: base + at, count: n))
                at &+= n
            case .number:
                let field = u32()
                let bits = Int64(bitPattern: base.loadUnaligned(fromByteOffset: at, as: UInt64.self))
                at &+= 8
                buffer.setNumber(field, fields[field].type, bits)
            case .endDocument:
                buffer.endDocument()
                // Where one thread would flush (`SearchIndex.flushIfFull`).
                if buffer.estimatedBytes >= flushBytes {
                    let full = buffer
                    monitor.withLock { sealed.append(full) }
                    buffer = IndexBuffer()
                }
            }
        }
    }
}
