import StrataIO

/// Writes a `MemoryIndex` as an immutable segment file (Formats/search-segment.md): norms,
/// postings (blocks of 128 bit-packed doc deltas and frequencies with skip and block-max data,
/// varint tail), positions, the prefix-compressed term dictionary with its block index, and a
/// footer with section offsets and a CRC-32C of everything before it. Written to a temp file,
/// fsync'd and renamed, so a crash leaves no partial segment under the final name.
public enum SegmentWriter {
    public static func write(_ index: MemoryIndex, to path: String) throws {
        let bytes = encode(index)
        try FileSystem.writeAtomically(bytes, to: path)
    }

    static func encode(_ index: MemoryIndex) -> [UInt8] {
        var out = SegmentFormat.magic
        // Norms: one u32 length per document.
        let normsOffset = out.count
        for l in index.documentLengths { SegmentFormat.putLE(l, &out) }
        // Terms in byte order.
        var ids = (0 ..< Int32(index.termCount)).map { $0 }
        ids.sort { a, b in
            let x = index.terms.bytes(a), y = index.terms.bytes(b)
            return x.lexicographicallyPrecedes(y)
        }
        var postings: [UInt8] = []
        var positions: [UInt8] = []
        struct Entry { var term: [UInt8]; var docFreq: Int; var postingsOffset: Int; var postingsLength: Int; var positionsOffset: Int; var positionsLength: Int }
        var entries: [Entry] = []
        entries.reserveCapacity(ids.count)
        var deltas = [UInt32](repeating: 0, count: BitPacking.blockSize)
        var freqs = [UInt32](repeating: 0, count: BitPacking.blockSize)
        for id in ids {
            let docs = index.postingDocs[Int(id)], fs = index.postingFreqs[Int(id)], pos = index.postingPositions[Int(id)]
            let pStart = postings.count
            let fullBlocks = docs.count / BitPacking.blockSize
            // Skip table: per full block, last doc, byte offset of the block (after the table),
            // max frequency and min norm (for block-max scoring).
            SegmentFormat.putVarint(UInt64(fullBlocks), &postings)
            var blockBytes: [UInt8] = []
            var skip: [UInt8] = []
            var previous: UInt32 = 0
            var first = true
            for b in 0 ..< fullBlocks {
                var maxFreq: UInt32 = 0, minNorm = UInt32.max
                for k in 0 ..< BitPacking.blockSize {
                    let i = b * BitPacking.blockSize + k
                    deltas[k] = first ? docs[i] : docs[i] - previous
                    first = false
                    previous = docs[i]
                    freqs[k] = fs[i] - 1
                    maxFreq = max(maxFreq, fs[i])
                    minNorm = min(minNorm, index.documentLengths[Int(docs[i])])
                }
                SegmentFormat.putLE(previous, &skip)
                SegmentFormat.putLE(UInt32(blockBytes.count), &skip)
                SegmentFormat.putLE(maxFreq, &skip)
                SegmentFormat.putLE(minNorm, &skip)
                let dw = deltas.withUnsafeBufferPointer { BitPacking.width($0) }
                let fw = freqs.withUnsafeBufferPointer { BitPacking.width($0) }
                blockBytes.append(UInt8(dw))
                blockBytes.append(UInt8(fw))
                deltas.withUnsafeBufferPointer { BitPacking.pack($0, width: dw, into: &blockBytes) }
                freqs.withUnsafeBufferPointer { BitPacking.pack($0, width: fw, into: &blockBytes) }
            }
            postings.append(contentsOf: skip)
            postings.append(contentsOf: blockBytes)
            // Tail: varint doc deltas and frequencies.
            for i in fullBlocks * BitPacking.blockSize ..< docs.count {
                SegmentFormat.putVarint(UInt64(first ? docs[i] : docs[i] - previous), &postings)
                first = false
                previous = docs[i]
                SegmentFormat.putVarint(UInt64(fs[i]), &postings)
            }
            // Positions: per posting, deltas within the document.
            let qStart = positions.count
            var p = 0
            for f in fs {
                var last: UInt32 = 0
                for k in 0 ..< Int(f) {
                    SegmentFormat.putVarint(UInt64(pos[p] - (k == 0 ? 0 : last)), &positions)
                    last = pos[p]
                    p += 1
                }
            }
            entries.append(Entry(term: Array(index.terms.bytes(id)), docFreq: docs.count, postingsOffset: pStart,
                                 postingsLength: postings.count - pStart, positionsOffset: qStart, positionsLength: positions.count - qStart))
        }
        let postingsOffset = out.count
        out.append(contentsOf: postings)
        let positionsOffset = out.count
        out.append(contentsOf: positions)
        // Dictionary: blocks of 16 terms, prefix-compressed within a block.
        let termsOffset = out.count
        var blockStarts: [UInt32] = []
        var previousTerm: [UInt8] = []
        for (i, e) in entries.enumerated() {
            var shared = 0
            if i % SegmentFormat.termsPerBlock == 0 {
                blockStarts.append(UInt32(out.count - termsOffset))
            } else {
                while shared < min(previousTerm.count, e.term.count) && previousTerm[shared] == e.term[shared] { shared += 1 }
            }
            SegmentFormat.putVarint(UInt64(shared), &out)
            SegmentFormat.putVarint(UInt64(e.term.count - shared), &out)
            out.append(contentsOf: e.term[shared...])
            SegmentFormat.putVarint(UInt64(e.docFreq), &out)
            SegmentFormat.putVarint(UInt64(e.postingsOffset), &out)
            SegmentFormat.putVarint(UInt64(e.postingsLength), &out)
            SegmentFormat.putVarint(UInt64(e.positionsOffset), &out)
            SegmentFormat.putVarint(UInt64(e.positionsLength), &out)
            previousTerm = e.term
        }
        let blockIndexOffset = out.count
        for b in blockStarts { SegmentFormat.putLE(b, &out) }
        // Footer (72 bytes).
        SegmentFormat.putLE(UInt32(index.documentCount), &out)
        SegmentFormat.putLE(UInt32(entries.count), &out)
        SegmentFormat.putLE(index.totalLength, &out)
        for o in [normsOffset, postingsOffset, positionsOffset, termsOffset, blockIndexOffset] { SegmentFormat.putLE(UInt64(o), &out) }
        SegmentFormat.putLE(UInt32(blockStarts.count), &out)
        let crc = out.withUnsafeBytes { CRC32C.checksum($0) }
        SegmentFormat.putLE(crc, &out)
        out.append(contentsOf: SegmentFormat.magic)
        return out
    }
}
