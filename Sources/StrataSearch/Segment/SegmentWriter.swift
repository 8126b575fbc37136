import StrataIO

/// Writes one inverted field as an immutable segment file (Formats/search-segment.md): norms,
/// postings (blocks of 128 bit-packed doc deltas and frequencies with skip and block-max data,
/// varint tail), positions, the prefix-compressed term dictionary with its block index, and a
/// footer with section offsets and a CRC-32C of everything before it. Written to a temp file,
/// fsync'd and renamed, so a crash leaves no partial segment under the final name.
public enum SegmentWriter {
    public static func write(_ index: MemoryIndex, to path: String) throws {
        try FileSystem.writeAtomically(encode(index), to: path)
    }

    static func encode(_ index: MemoryIndex) -> [UInt8] {
        var encoder = InvertedFieldEncoder(norms: index.documentLengths)
        index.forEachTermSorted { term, docs, freqs, positions in
            encoder.add(term: term, docs: docs, freqs: freqs, positions: positions)
        }
        return encoder.finish()
    }
}

/// Builds a segment file term by term: the caller hands terms in byte order with their
/// postings; `finish` lays out the sections and the footer. Used by flushes (from the memory
/// buffer) and merges (from older segments).
struct InvertedFieldEncoder {
    private let norms: [UInt32]
    private var totalTokens: UInt64 = 0
    private var postings: [UInt8] = []
    private var positions: [UInt8] = []
    private var dictionary: [UInt8] = []
    private var blockStarts: [UInt32] = []
    private var previousTerm: [UInt8] = []
    private var termCount = 0
    private var deltas = [UInt32](repeating: 0, count: BitPacking.blockSize)
    private var freqScratch = [UInt32](repeating: 0, count: BitPacking.blockSize)
    private var skip: [UInt8] = []
    private var blockBytes: [UInt8] = []
    private var blockPositionEnds: [UInt32] = []

    init(norms: [UInt32]) {
        self.norms = norms
        for n in norms { totalTokens += UInt64(n) }
    }

    /// Adds one term: documents ascending, frequencies ≥ 1, and per posting its positions
    /// (ascending), concatenated.
    mutating func add(term: UnsafeRawBufferPointer, docs: UnsafeBufferPointer<UInt32>, freqs: UnsafeBufferPointer<UInt32>, positions pos: UnsafeBufferPointer<UInt32>) {
        let pStart = postings.count
        let fullBlocks = docs.count / BitPacking.blockSize
        // Positions first: each full block's skip entry records where its positions end.
        let qStart = positions.count
        blockPositionEnds.removeAll(keepingCapacity: true)
        var p = 0
        for (i, f) in freqs.enumerated() {
            var last: UInt32 = 0
            for k in 0 ..< Int(f) {
                SegmentFormat.putVarint(UInt64(pos[p] - (k == 0 ? 0 : last)), &positions)
                last = pos[p]
                p += 1
            }
            if (i + 1) % BitPacking.blockSize == 0 && i < fullBlocks * BitPacking.blockSize { blockPositionEnds.append(UInt32(positions.count - qStart)) }
        }
        SegmentFormat.putVarint(UInt64(fullBlocks), &postings)
        skip.removeAll(keepingCapacity: true)
        blockBytes.removeAll(keepingCapacity: true)
        var previous: UInt32 = 0
        var first = true
        for b in 0 ..< fullBlocks {
            var maxFreq: UInt32 = 0, minNorm = UInt32.max
            for k in 0 ..< BitPacking.blockSize {
                let i = b * BitPacking.blockSize + k
                deltas[k] = first ? docs[i] : docs[i] - previous
                first = false
                previous = docs[i]
                freqScratch[k] = freqs[i] - 1
                maxFreq = max(maxFreq, freqs[i])
                minNorm = min(minNorm, norms[Int(docs[i])])
            }
            SegmentFormat.putLE(previous, &skip)
            SegmentFormat.putLE(UInt32(blockBytes.count), &skip)
            SegmentFormat.putLE(maxFreq, &skip)
            SegmentFormat.putLE(minNorm, &skip)
            SegmentFormat.putLE(blockPositionEnds[b], &skip)
            let dw = deltas.withUnsafeBufferPointer { BitPacking.width($0) }
            let fw = freqScratch.withUnsafeBufferPointer { BitPacking.width($0) }
            blockBytes.append(UInt8(dw))
            blockBytes.append(UInt8(fw))
            deltas.withUnsafeBufferPointer { BitPacking.pack($0, width: dw, into: &blockBytes) }
            freqScratch.withUnsafeBufferPointer { BitPacking.pack($0, width: fw, into: &blockBytes) }
        }
        postings.append(contentsOf: skip)
        postings.append(contentsOf: blockBytes)
        for i in fullBlocks * BitPacking.blockSize ..< docs.count {
            SegmentFormat.putVarint(UInt64(first ? docs[i] : docs[i] - previous), &postings)
            first = false
            previous = docs[i]
            SegmentFormat.putVarint(UInt64(freqs[i]), &postings)
        }
        // Dictionary entry: blocks of 16 terms, prefix-compressed within a block; the first
        // entry of a block holds the absolute section offsets, the others follow on.
        var shared = 0
        let blockStart = termCount % SegmentFormat.termsPerBlock == 0
        if blockStart {
            blockStarts.append(UInt32(dictionary.count))
        } else {
            while shared < min(previousTerm.count, term.count) && previousTerm[shared] == term[shared] { shared += 1 }
        }
        SegmentFormat.putVarint(UInt64(shared), &dictionary)
        SegmentFormat.putVarint(UInt64(term.count - shared), &dictionary)
        dictionary.append(contentsOf: term[shared...])
        SegmentFormat.putVarint(UInt64(docs.count), &dictionary)
        if blockStart {
            SegmentFormat.putVarint(UInt64(pStart), &dictionary)
            SegmentFormat.putVarint(UInt64(qStart), &dictionary)
        }
        SegmentFormat.putVarint(UInt64(postings.count - pStart), &dictionary)
        SegmentFormat.putVarint(UInt64(positions.count - qStart), &dictionary)
        previousTerm.removeAll(keepingCapacity: true)
        previousTerm.append(contentsOf: term)
        termCount += 1
    }

    /// The whole file.
    func finish() -> [UInt8] {
        var out = SegmentFormat.magic
        out.reserveCapacity(8 + 4 * norms.count + postings.count + positions.count + dictionary.count + 4 * blockStarts.count + SegmentFormat.footerSize)
        let normsOffset = out.count
        for l in norms { SegmentFormat.putLE(l, &out) }
        let postingsOffset = out.count
        out.append(contentsOf: postings)
        let positionsOffset = out.count
        out.append(contentsOf: positions)
        let termsOffset = out.count
        out.append(contentsOf: dictionary)
        let blockIndexOffset = out.count
        for b in blockStarts { SegmentFormat.putLE(b, &out) }
        // Footer (72 bytes).
        SegmentFormat.putLE(UInt32(norms.count), &out)
        SegmentFormat.putLE(UInt32(termCount), &out)
        SegmentFormat.putLE(totalTokens, &out)
        for o in [normsOffset, postingsOffset, positionsOffset, termsOffset, blockIndexOffset] { SegmentFormat.putLE(UInt64(o), &out) }
        SegmentFormat.putLE(UInt32(blockStarts.count), &out)
        let crc = out.withUnsafeBytes { CRC32C.checksum($0) }
        SegmentFormat.putLE(crc, &out)
        out.append(contentsOf: SegmentFormat.magic)
        return out
    }
}
