import StrataIO

/// Writes one inverted field as an immutable segment file (Formats/search-segment.md): norms,
/// postings (blocks of 128 bit-packed doc deltas and frequencies with skip and block-max data,
/// varint tail), positions, the prefix-compressed term dictionary with its block index, and a
/// footer with section offsets and a CRC-32C of everything before it. Written to a temp file
/// and renamed (fsync'd first when `durable`), so a crash leaves no partial segment under the
/// final name.
@_spi(Internals) public enum SegmentWriter {
    public static func write(_ index: MemoryIndex, to path: String, durable: Bool = true) throws {
        try write(index, to: path, durable: durable, renumbering: nil)
    }

    /// Writes the field with document `d` renumbered `newOf[d]` (index sorting).
    static func write(_ index: MemoryIndex, to path: String, durable: Bool, renumbering newOf: [Int32]?) throws {
        let out = try SegmentOutput(path: path)
        do {
            try encoder(index, spillDirectory: FileSystem.parent(of: path), renumbering: newOf).finish(to: out)
            try out.commit(durable: durable)
        } catch {
            out.abandon()
            throw error
        }
    }

    static func encode(_ index: MemoryIndex) -> [UInt8] {
        let out = SegmentOutput()
        try! encoder(index, spillDirectory: nil).finish(to: out) // in memory: cannot fail
        return out.memory
    }

    private static func encoder(_ index: MemoryIndex, spillDirectory: String?, renumbering newOf: [Int32]? = nil) throws -> InvertedFieldEncoder {
        guard let newOf else {
            var encoder = InvertedFieldEncoder(norms: index.documentLengths, spillDirectory: spillDirectory)
            try index.encodeTermsSorted(&encoder)
            return encoder
        }
        var norms = [UInt32](repeating: 0, count: index.documentLengths.count)
        for (d, n) in index.documentLengths.enumerated() { norms[Int(newOf[d])] = n }
        var encoder = InvertedFieldEncoder(norms: norms, spillDirectory: spillDirectory)
        var reorder = PostingsReorder()
        var docs: [UInt32] = [], freqs: [UInt32] = [], positions: [UInt32] = []
        try index.forEachTermSorted { term, d, f, p in
            docs.removeAll(keepingCapacity: true)
            for x in d { docs.append(UInt32(newOf[Int(x)])) }
            freqs.removeAll(keepingCapacity: true)
            freqs.append(contentsOf: f)
            positions.removeAll(keepingCapacity: true)
            positions.append(contentsOf: p)
            reorder.sortByDocument(docs: &docs, freqs: &freqs, positions: &positions)
            try docs.withUnsafeBufferPointer { dd in
                try freqs.withUnsafeBufferPointer { ff in try positions.withUnsafeBufferPointer { pp in try encoder.add(term: term, docs: dd, freqs: ff, positions: pp) } }
            }
        }
        return encoder
    }
}

/// Builds a segment file term by term: the caller hands terms in byte order with their
/// postings; `finish` lays out the sections and the footer. Used by flushes (from the memory
/// buffer) and merges (from older segments).
/// Document lengths of a segment being written, by (new) document number: one array (flushes,
/// sorted or filtered merges) or the merge inputs' mapped norms back to back (a merge in order
/// without deletes holds no per-document array).
struct NormSource {
    private let array: [UInt32]
    /// Inputs in order: first new document number, and the segment (nil: the input lacks the
    /// field; its documents have length 0).
    private let parts: [(base: Int, segment: IndexSegment?)]
    let count: Int

    init(_ norms: [UInt32]) {
        array = norms
        parts = []
        count = norms.count
    }

    /// Inputs of `count` documents each, back to back.
    init(concatenating inputs: [(segment: IndexSegment?, count: Int)]) {
        array = []
        var parts: [(base: Int, segment: IndexSegment?)] = []
        var n = 0
        for (segment, count) in inputs where count > 0 {
            parts.append((n, segment))
            n += count
        }
        self.parts = parts
        count = n
    }

    /// Calls `body` with every length in document order (no lookup per document).
    func forEach(_ body: (UInt32) throws -> Void) rethrows {
        if parts.isEmpty { for n in array { try body(n) }; return }
        for (k, part) in parts.enumerated() {
            let end = k + 1 < parts.count ? parts[k + 1].base : count
            for d in 0 ..< end - part.base { try body(part.segment?.norm(d) ?? 0) }
        }
    }

    @inline(__always) subscript(_ d: Int) -> UInt32 {
        if parts.isEmpty { return array[d] }
        var lo = 0, hi = parts.count - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if parts[mid].base <= d { lo = mid } else { hi = mid - 1 }
        }
        return parts[lo].segment?.norm(d - parts[lo].base) ?? 0
    }
}

struct InvertedFieldEncoder {
    private let norms: NormSource
    private var totalTokens: UInt64 = 0
    private var longest: UInt32 = 0
    /// Sections being built: large ones spill to temp files beside the segment.
    private let postings: SpillBuffer
    private let positions: SpillBuffer
    private let dictionary: SpillBuffer
    private var blockStarts: [UInt32] = []
    private var blockKeys: [UInt64] = []
    private let previousTerm = ByteWriter(capacity: 256)
    private var termCount = 0
    // The term being added: its postings arrive one at a time (`beginTerm`, `addPosting`,
    // `endTerm`). Positions go on to the positions section as they come; documents and
    // frequencies wait in blocks of 128, encoded as each fills; the skip entries and encoded
    // blocks wait for the term's end (they are small beside the postings they encode).
    private var termDocs = 0
    private var termPostingsStart = 0
    private var termPositionsStart = 0
    private let termPositions = ByteWriter(capacity: 1 << 12)
    /// Position values (first position, then gaps) not yet encoded: all of them until the term
    /// has a full postings block (then they are varints), afterwards fewer than 128 (§4).
    private let positionValues = ByteWriter(capacity: 4 * 256)
    /// The term has a full postings block: its positions are packed in blocks of 128 values.
    private var packsPositions = false
    /// Four runs of 128 words in one allocation (`blockWords` owns it, never grown): the
    /// pending documents and frequencies, and the block's deltas and frequencies − 1 as packed.
    private let blockWords = ByteWriter(capacity: 4 * 4 * BitPacking.blockSize)
    private let pendingDocs: UnsafeMutablePointer<UInt32>
    private let pendingFreqs: UnsafeMutablePointer<UInt32>
    private var previousDoc: UInt32 = 0
    private let deltas: UnsafeMutablePointer<UInt32>
    private let freqScratch: UnsafeMutablePointer<UInt32>
    private let skip = ByteWriter(capacity: 256)
    private let blockBytes = ByteWriter(capacity: 1 << 12)
    private let tail = ByteWriter(capacity: 1 << 10)

    init(norms: [UInt32], spillDirectory: String?) {
        self.init(norms: NormSource(norms), spillDirectory: spillDirectory)
    }

    init(norms: NormSource, spillDirectory: String?) {
        self.norms = norms
        pendingDocs = blockWords.base.bindMemory(to: UInt32.self, capacity: 4 * BitPacking.blockSize)
        pendingFreqs = pendingDocs + BitPacking.blockSize
        deltas = pendingFreqs + BitPacking.blockSize
        freqScratch = deltas + BitPacking.blockSize
        postings = SpillBuffer(directory: spillDirectory)
        positions = SpillBuffer(directory: spillDirectory)
        dictionary = SpillBuffer(directory: spillDirectory)
        norms.forEach { totalTokens += UInt64($0); longest = max(longest, $0) }
    }

    /// Adds one term: documents ascending, frequencies ≥ 1, and per posting its positions
    /// (ascending), concatenated.
    mutating func add(term: UnsafeRawBufferPointer, docs: UnsafeBufferPointer<UInt32>, freqs: UnsafeBufferPointer<UInt32>, positions pos: UnsafeBufferPointer<UInt32>) throws {
        beginTerm()
        var p = 0
        for i in docs.indices {
            try addPosting(doc: docs[i], freq: freqs[i], positions: pos.baseAddress! + p)
            p += Int(freqs[i])
        }
        try endTerm(term)
    }

    /// Starts a term; its postings follow in document order, then `endTerm`.
    mutating func beginTerm() {
        termDocs = 0
        termPostingsStart = postings.count
        termPositionsStart = positions.count
        termPositions.removeAll()
        positionValues.removeAll()
        packsPositions = false
        skip.removeAll()
        blockBytes.removeAll()
        previousDoc = 0
    }

    /// Position values waiting in `positionValues` (4 bytes each).
    @inline(__always) private var pendingPositionValues: Int { positionValues.count / 4 }

    /// Bytes of the current term's positions so far.
    @inline(__always) private var termPositionsBytes: Int { positions.count - termPositionsStart + termPositions.count }

    /// One posting of the current term: its document (above the previous one), frequency (≥ 1)
    /// and `freq` ascending positions.
    mutating func addPosting(doc: UInt32, freq: UInt32, positions pos: UnsafePointer<UInt32>) throws {
        let k = termDocs % BitPacking.blockSize
        var last: UInt32 = 0
        let values = positionValues.handle
        for j in 0 ..< Int(freq) {
            values.appendNative(pos[j] - last)
            last = pos[j]
            if packsPositions && values.count == 4 * BitPacking.blockSize { packPositions() }
        }
        if termPositions.count >= 1 << 16 {
            try positions.append(termPositions.bytes)
            termPositions.removeAll()
        }
        pendingDocs[k] = doc
        pendingFreqs[k] = freq
        termDocs += 1
        if k == BitPacking.blockSize - 1 { try encodeBlock() }
    }

    /// Appends the pending position values as one packed block (128 of them, or the term's last
    /// ≤ 128): a width byte, then the values bit-packed.
    private mutating func packPositions() {
        packPositions(0 ..< pendingPositionValues)
        positionValues.removeAll()
    }

    /// Appends `range` of the pending values as one packed block (left pending).
    private mutating func packPositions(_ range: Range<Int>) {
        let v = UnsafeBufferPointer(rebasing: positionValues.elements(as: UInt32.self)[range])
        let w = BitPacking.width(v)
        termPositions.append(UInt8(w))
        BitPacking.pack(v, width: w, into: termPositions)
    }

    /// Encodes the 128 pending postings as a full block (its skip entry and packed bytes).
    private mutating func encodeBlock() throws {
        if !packsPositions {
            // The term's first full block: its positions so far become packed blocks.
            packsPositions = true
            var start = 0
            while pendingPositionValues - start >= BitPacking.blockSize {
                packPositions(start ..< start + BitPacking.blockSize)
                start += BitPacking.blockSize
            }
            positionValues.removeFirst(4 * start)
        }
        let positionsBlock = termPositionsBytes
        guard positionsBlock <= Int(UInt32.max) else {
            throw StrataError.invalidArgument("a term's positions exceed 4 GiB in one segment; commit more often")
        }
        var maxFreq: UInt32 = 0, minNorm = UInt32.max
        var previous = previousDoc // 0 for a term's first block
        let norms = self.norms
        let docs = pendingDocs, freqs = pendingFreqs, deltas = deltas, freqScratch = freqScratch
        for k in 0 ..< BitPacking.blockSize {
            let d = docs[k], f = freqs[k]
            deltas[k] = d &- previous
            previous = d
            freqScratch[k] = f &- 1
            maxFreq = max(maxFreq, f)
            minNorm = min(minNorm, norms[Int(d)])
        }
        previousDoc = previous
        SegmentFormat.putLE(previousDoc, skip)
        SegmentFormat.putLE(UInt32(blockBytes.count), skip)
        SegmentFormat.putLE(UInt16(min(maxFreq, 0xFFFF)), skip)
        SegmentFormat.putLE(UInt16(min(minNorm, 0xFFFF)), skip)
        SegmentFormat.putLE(UInt32(positionsBlock), skip)
        skip.append(UInt8(pendingPositionValues))
        let deltaWords = UnsafeBufferPointer(start: deltas, count: BitPacking.blockSize)
        let freqWords = UnsafeBufferPointer(start: freqScratch, count: BitPacking.blockSize)
        let dw = BitPacking.width(deltaWords), fw = BitPacking.width(freqWords)
        blockBytes.append(UInt8(dw))
        blockBytes.append(UInt8(fw))
        BitPacking.pack(deltaWords, width: dw, into: blockBytes)
        BitPacking.pack(freqWords, width: fw, into: blockBytes)
    }

    /// Ends the current term (nothing is written for a term without postings).
    mutating func endTerm(_ term: UnsafeRawBufferPointer) throws {
        guard termDocs > 0 else { return }
        let pStart = termPostingsStart, qStart = termPositionsStart
        let fullBlocks = termDocs / BitPacking.blockSize
        let out = postings.tail
        SegmentFormat.putVarint(UInt64(fullBlocks), out)
        out.append(skip.bytes)
        out.append(blockBytes.bytes)
        var previous = previousDoc
        let docs = pendingDocs, freqs = pendingFreqs
        for k in 0 ..< termDocs % BitPacking.blockSize {
            SegmentFormat.putVarint(UInt64(fullBlocks == 0 && k == 0 ? docs[k] : docs[k] - previous), out)
            previous = docs[k]
            SegmentFormat.putVarint(UInt64(freqs[k]), out)
        }
        try postings.settle()
        if packsPositions {
            if pendingPositionValues > 0 { packPositions() }
            try positions.append(termPositions.bytes)
        } else {
            // Varints straight onto the section (the term's earlier bytes, if any, first).
            if termPositions.count > 0 { try positions.append(termPositions.bytes) }
            let out = positions.tail
            for v in positionValues.elements(as: UInt32.self) { SegmentFormat.putVarint(UInt64(v), out) }
            try positions.settle()
        }
        termPositions.removeAll()
        let docCount = termDocs
        // Dictionary entry: blocks of 16 terms, prefix-compressed within a block; the first
        // entry of a block holds the absolute section offsets, the others follow on.
        var shared = 0
        let blockStart = termCount % SegmentFormat.termsPerBlock == 0
        if blockStart {
            blockStarts.append(UInt32(dictionary.count))
            blockKeys.append(SegmentFormat.blockKey(term))
        } else {
            let previous = previousTerm.bytes, n = min(previous.count, term.count)
            while shared < n && previous[shared] == term[shared] { shared += 1 }
        }
        let postingsBytes = postings.count - pStart, positionsBytes = positions.count - qStart
        let entry = dictionary.tail
        SegmentFormat.putVarint(UInt64(shared), entry)
        SegmentFormat.putVarint(UInt64(term.count - shared), entry)
        entry.append(UnsafeRawBufferPointer(rebasing: term[shared...]))
        SegmentFormat.putVarint(UInt64(docCount), entry)
        if blockStart {
            SegmentFormat.putVarint(UInt64(pStart), entry)
            SegmentFormat.putVarint(UInt64(qStart), entry)
        }
        SegmentFormat.putVarint(UInt64(postingsBytes), entry)
        SegmentFormat.putVarint(UInt64(positionsBytes), entry)
        try dictionary.settle()
        previousTerm.removeAll()
        previousTerm.append(term)
        termCount += 1
    }

    /// Writes the whole file to `out` (sections, then the footer with the CRC of all before it).
    func finish(to out: SegmentOutput) throws {
        var head = SegmentFormat.magic
        head.reserveCapacity(1 << 16)
        let normBytes = SegmentFormat.normBytes(longest: longest)
        try norms.forEach { n in
            switch normBytes {
            case 1: head.append(UInt8(truncatingIfNeeded: n))
            case 2: SegmentFormat.putLE(UInt16(truncatingIfNeeded: n), &head)
            default: SegmentFormat.putLE(n, &head)
            }
            if head.count >= 1 << 16 {
                try out.write(head)
                head.removeAll(keepingCapacity: true)
            }
        }
        try out.write(head)
        let normsOffset = 8
        let postingsOffset = out.count
        try postings.copy(to: out)
        let positionsOffset = out.count
        try positions.copy(to: out)
        let termsOffset = out.count
        try dictionary.copy(to: out)
        let blockIndexOffset = out.count
        var tail: [UInt8] = []
        for b in blockStarts { SegmentFormat.putLE(b, &tail) }
        for k in blockKeys { SegmentFormat.putLE(k, &tail) }
        // Footer (72 bytes).
        SegmentFormat.putLE(UInt32(norms.count), &tail)
        SegmentFormat.putLE(UInt32(termCount), &tail)
        SegmentFormat.putLE(totalTokens, &tail)
        SegmentFormat.putLE(UInt32(normsOffset), &tail)
        SegmentFormat.putLE(UInt32(normBytes), &tail)
        for o in [postingsOffset, positionsOffset, termsOffset, blockIndexOffset] { SegmentFormat.putLE(UInt64(o), &tail) }
        SegmentFormat.putLE(UInt32(blockStarts.count), &tail)
        try out.write(tail)
        var end: [UInt8] = []
        SegmentFormat.putLE(out.crc, &end)
        end.append(contentsOf: SegmentFormat.magic)
        try out.write(end)
    }
}
