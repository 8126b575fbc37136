import Foundation
import Testing
import StrataIO
@_spi(Internals) @testable import StrataSearch

/// Formats/search-segment.md §3–4 for a term with full postings blocks, read by a decoder
/// written here from the page (not the cursor): skip entries of 17 bytes, positions packed in
/// blocks of 128 values with a width byte, the last block short.
@Suite struct PositionsFormatTests {
    /// 700 documents holding "w" 1–4 times at spread-out positions (some gaps over 255, so
    /// widths above 8 occur); every other document holds "z" once.
    static func index() -> (MemoryIndex, [[UInt32]]) {
        let idx = MemoryIndex(analyzer: Analyzer(.whitespace))
        var expected: [[UInt32]] = []
        var x: UInt64 = 7
        for d in 0 ..< 700 {
            var tokens: [String] = []
            var mine: [UInt32] = []
            let n = 1 + d % 4
            for _ in 0 ..< n {
                x ^= x << 13; x ^= x >> 7; x ^= x << 17
                let gap = d % 50 == 0 ? 300 : Int(x % 9)
                tokens.append(contentsOf: repeatElement("f", count: gap))
                mine.append(UInt32(tokens.count))
                tokens.append("w")
            }
            if d % 2 == 0 { tokens.append("z") }
            idx.add(tokens.joined(separator: " "))
            expected.append(mine)
        }
        return (idx, expected)
    }

    /// The test index's segment bytes, written to a file of `tag`, and the term "w"'s entry.
    static func written(_ tag: String) throws -> (bytes: [UInt8], info: IndexSegment.TermInfo, expected: [[UInt32]], path: String) {
        let (idx, expected) = index()
        let bytes = SegmentWriter.encode(idx)
        let path = tempPath(tag)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let info = try #require(try Array("w".utf8).withUnsafeBytes { try IndexSegment(path: path).lookup($0) })
        return (bytes, info, expected, path)
    }

    /// `good` damaged by `damage`, its whole-file CRC made valid again, written to a file of
    /// `tag` and opened: damage a checksum cannot see.
    static func reopened(_ good: [UInt8], _ tag: String, _ damage: (inout [UInt8]) -> Void) throws -> IndexSegment {
        var bytes = good
        damage(&bytes)
        let crc = bytes[0 ..< bytes.count - 12].withUnsafeBytes { CRC32C.checksum($0) }
        withUnsafeBytes(of: crc.littleEndian) { bytes.replaceSubrange(bytes.count - 12 ..< bytes.count - 8, with: $0) }
        let bad = tempPath(tag)
        try Data(bytes).write(to: URL(fileURLWithPath: bad))
        return try IndexSegment(path: bad)
    }

    @Test func packedPositionsAndSkipEntriesAsSpecified() throws {
        let (idx, expected) = Self.index()
        let bytes = SegmentWriter.encode(idx)
        let path = tempPath("positions.seg")
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let seg = try IndexSegment(path: path)
        let info = try #require(try Array("w".utf8).withUnsafeBytes { try seg.lookup($0) })
        #expect(info.docFreq == 700)

        // §3: varint fullBlocks, then 17-byte skip entries.
        var at = info.postings.lowerBound
        #expect(bytes[at] == 5, "⌊700 / 128⌋ full blocks")
        at += 1
        func u32(_ o: Int) -> Int { Int(bytes[o]) | Int(bytes[o + 1]) << 8 | Int(bytes[o + 2]) << 16 | Int(bytes[o + 3]) << 24 }
        let entries = (0 ..< 5).map { b in (block: u32(at + 17 * b + 12), index: Int(bytes[at + 17 * b + 16])) }

        // §4: the term's values in packed blocks, read bit by bit.
        let values = expected.flatMap { p in p.enumerated().map { $0.offset == 0 ? $0.element : $0.element - p[$0.offset - 1] } }
        var decoded: [UInt32] = []
        var blockStarts: [Int] = []
        var q = info.positions.lowerBound
        while decoded.count < values.count {
            blockStarts.append(q - info.positions.lowerBound)
            let w = Int(bytes[q])
            #expect(w <= 32)
            let n = min(128, values.count - decoded.count)
            for i in 0 ..< n {
                var v: UInt32 = 0
                for bit in 0 ..< w {
                    let b = i * w + bit
                    if bytes[q + 1 + b / 8] >> (b % 8) & 1 == 1 { v |= 1 << UInt32(bit) }
                }
                decoded.append(v)
            }
            q += 1 + (n * w + 7) / 8
        }
        #expect(decoded == values)
        #expect(q == info.positions.upperBound, "the last block ends the term's positions")
        #expect(blockStarts.count > 1 && blockStarts.count == (values.count + 127) / 128)

        // Each skip entry points at the value after its block's postings.
        var ordinal = 0
        for b in 0 ..< 5 {
            ordinal += expected[b * 128 ..< (b + 1) * 128].reduce(0) { $0 + $1.count }
            #expect(entries[b].block == (ordinal / 128 < blockStarts.count ? blockStarts[ordinal / 128] : q - info.positions.lowerBound))
            #expect(entries[b].index == ordinal % 128)
        }

        // The reader agrees, whole and skipping.
        #expect(try seg.positions(info, freqs: expected.map { UInt32($0.count) }) == expected)
        let c = try PostingsCursor.open(seg, info, positions: true)
        var out: [UInt32] = []
        for target in stride(from: 3, to: 700, by: 37) {
            try c.advance(to: UInt32(target))
            #expect(c.frequency == UInt32(expected[target].count), "frequency read in place, doc \(target)")
            try c.positions(into: &out)
            #expect(out == expected[target], "doc \(target)")
        }
    }

    /// Document gaps of 0 in a full block, or gaps that do not sum to the block's last
    /// document in the skip entry, behind a valid CRC, are `corrupt` when the block is read.
    @Test func damagedDocumentGapsAreCorrupt() throws {
        let (good, info, _, path) = try Self.written("gaps.seg")
        let skip = info.postings.lowerBound + 1, blockArea = skip + 17 * 5
        func u32(_ b: [UInt8], _ o: Int) -> Int { Int(b[o]) | Int(b[o + 1]) << 8 | Int(b[o + 2]) << 16 | Int(b[o + 3]) << 24 }
        let block1 = blockArea + u32(good, skip + 17 + 4)
        #expect(good[block1] == 1, "every document holds the term: gaps of 1, width 1")
        func reopened(_ damage: (inout [UInt8]) -> Void) throws -> IndexSegment {
            try Self.reopened(good, "bad-gaps.seg", damage)
        }
        // One gap of 0 (a bit cleared): the document repeats.
        var seg = try reopened { $0[block1 + 2 + 5] &= 0xFE }
        #expect(throws: StrataError.self) { _ = try seg.postings(info) }
        // The skip entry's last document one higher than the gaps reach.
        seg = try reopened { $0[skip + 17] &+= 1 }
        #expect(throws: StrataError.self) { _ = try seg.postings(info) }
        // A gap of 0 at the start of block 1 and one inside it, each with the skip entry's
        // last document lowered to match: only the checks of the gaps themselves see them
        // (the cursor stops in block 1, before block 2 would disagree with the skip table).
        for bit in [0, 5 * 8 + 3] {
            let s = try reopened { b in
                b[block1 + 2 + bit / 8] &= ~UInt8(1 << (bit % 8))
                b[skip + 17] &-= 1
            }
            #expect(throws: StrataError.self, "gap \(bit) of block 1") {
                let c = try PostingsCursor.open(s, info)
                try c.advance(to: 200)
            }
        }
        #expect(try IndexSegment(path: path).postings(info).docs == (0 ..< 700).map { UInt32($0) })
    }

    /// Positions that run past the term's range (its last block cut short, as a damaged
    /// dictionary entry would say) are `corrupt` when a cursor reaches them; the positions
    /// before the cut still read.
    @Test func positionsPastTheTermAreCorrupt() throws {
        var (_, info, expected, path) = try Self.written("short.seg")
        let seg = try IndexSegment(path: path)
        for cut in [1, 3, 40] {
            info.positions = info.positions.lowerBound ..< (info.positions.upperBound - cut)
            let c = try PostingsCursor.open(seg, info, positions: true)
            var out: [UInt32] = []
            var read = 0
            #expect(throws: StrataError.self, "cut \(cut)") {
                while c.doc != PostingsCursor.exhausted {
                    try c.positions(into: &out)
                    #expect(out == expected[Int(c.doc)])
                    read += 1
                    try c.next()
                }
            }
            #expect(read > 600 && read < 700, "cut \(cut): \(read) documents read before the damage")
        }
    }

    /// A full-block count other than ⌊docFreq / 128⌋, behind a valid CRC, is `corrupt` when a
    /// cursor opens: fewer blocks would make the varint tail longer than the block buffer.
    @Test func wrongFullBlockCountIsCorrupt() throws {
        let (good, info, _, _) = try Self.written("blocks-good.seg")
        #expect(good[info.postings.lowerBound] == 5)
        for blocks: UInt8 in [0, 4, 6] {
            let seg = try Self.reopened(good, "blocks-\(blocks).seg") { $0[info.postings.lowerBound] = blocks }
            // Reported as the count it is when the cursor opens, not as whatever misreading
            // the blocks with the wrong count runs into later.
            #expect("\(blocks) full blocks") {
                _ = try PostingsCursor.open(seg, info, positions: true)
            } throws: { e in
                guard case let StrataError.corrupt(_, _, reason) = e else { return false }
                return reason.contains("\(blocks) blocks for 700 documents")
            }
        }
    }

    /// A width byte above 32, behind a valid CRC, is `corrupt` when read, never a crash.
    @Test func damagedWidthIsCorrupt() throws {
        let (bytes, info, expected, _) = try Self.written("good.seg")
        let seg = try Self.reopened(bytes, "bad.seg") { $0[info.positions.lowerBound] = 40 }
        #expect(throws: StrataError.self) { _ = try seg.positions(info, freqs: expected.map { UInt32($0.count) }) }
    }
}
