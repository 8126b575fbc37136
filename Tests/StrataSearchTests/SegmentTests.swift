import Foundation
import Testing
import StrataIO
import CStrataSupport
@_spi(Internals) @testable import StrataSearch

func tempPath(_ name: String) -> String {
    let dir = NSTemporaryDirectory() + "strata-seg-\(getpid())-\(UInt32.random(in: 0 ... .max))"
    try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir + "/" + name
}

/// A corpus with common terms (full 128-doc blocks), rare terms (varint tails), repeated terms
/// (frequencies > 1) and large gaps between documents (wide bit widths).
func sampleIndex(docs: Int = 3000) -> MemoryIndex {
    let idx = MemoryIndex(analyzer: Analyzer(.standard))
    var x: UInt64 = 42
    let words = ["log", "segment", "index", "error", "warn", "kafka", "block", "offset", "record", "batch"]
    for i in 0 ..< docs {
        var line = ""
        for _ in 0 ..< 3 + Int(i % 9) {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17
            line += words[Int(x % UInt64(words.count))] + " "
        }
        if i % 500 == 0 { line += "rare\(i / 500) " }
        if i == 0 || i == docs - 1 { line += "bookend " }
        line += "doc\(i % 37)"
        idx.add(line)
    }
    return idx
}

@Suite struct SegmentTests {
    /// Packs 128 random values at every width and unpacks them with both unpackers (vector and
    /// scalar), against a decoder of the layout written here bit by bit; the buffer ends right
    /// after the block (the vector path must then step aside) or 16 bytes later (it runs).
    @Test func bitPackingRoundTripsEveryWidth() {
        var rng = SystemRandomNumberGenerator()
        for width in 0 ... 32 {
            let values = (0 ..< 128).map { _ in width == 0 ? 0 : UInt32.random(in: 0 ... (width == 32 ? .max : (1 << UInt32(width)) - 1), using: &rng) }
            var packed: [UInt8] = []
            values.withUnsafeBufferPointer { BitPacking.pack($0, width: width, into: &packed) }
            #expect(packed.count == 16 * width)
            var bitwise = [UInt32](repeating: 0, count: 128)
            for i in 0 ..< 128 {
                for k in 0 ..< width where packed[(i * width + k) / 8] >> UInt8((i * width + k) % 8) & 1 == 1 { bitwise[i] |= 1 << UInt32(k) }
            }
            #expect(bitwise == values, "width \(width): the packer's layout")
            for slack in [0, 16] {
                let bytes = packed + [UInt8](repeating: 0xA5, count: slack)
                bytes.withUnsafeBufferPointer { p in
                    let src = p.baseAddress ?? UnsafePointer(bitPattern: 1)!
                    var out = [UInt32](repeating: 7, count: 128), scalar = out
                    strata_unpack128(src, bytes.count, UInt32(width), 3, &out)
                    strata_unpack128_portable(src, bytes.count, UInt32(width), 3, &scalar)
                    #expect(out == values.map { $0 &+ 3 } && scalar == out, "width \(width), \(slack) bytes after")
                    // Running sums from a start, and the smallest gap after the first value.
                    let start: UInt32 = width <= 24 ? 1_000 : 0
                    var sums = [UInt64](), acc = UInt64(start)
                    for v in values { acc += UInt64(v); sums.append(acc) }
                    let wraps = acc > UInt64(UInt32.max)
                    let least = strata_unpack128_running(src, bytes.count, UInt32(width), start, &out)
                    let leastScalar = strata_unpack128_running_portable(src, bytes.count, UInt32(width), start, &scalar)
                    #expect(least == leastScalar && out == scalar, "width \(width): paths agree")
                    #expect(out == sums.map { UInt32(truncatingIfNeeded: $0) }, "width \(width): running sums")
                    #expect(least == (wraps ? 0 : values[1...].min()!), "width \(width): least gap or wrap")
                }
            }
        }
        // On a CPU with AVX2 the vector path is the one tested above.
        #if arch(x86_64)
        let avx2 = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?.contains(" avx2 ") ?? false
        if avx2 { #expect(strata_unpack128_is_vector() == 1) }
        #endif
    }

    /// A zero gap and a sum past UInt32.max are what the postings reader refuses: both paths
    /// report them (0) at the widths the vector path handles.
    @Test func runningSumsReportZeroGapsAndWraps() {
        for width in [1, 7, 13, 24] {
            var values = (0 ..< 128).map { UInt32(1 + $0 % ((1 << width) - 1 == 0 ? 1 : (1 << width) - 1)) }
            values[77] = 0
            var packed: [UInt8] = []
            values.withUnsafeBufferPointer { BitPacking.pack($0, width: width, into: &packed) }
            packed += [UInt8](repeating: 0, count: 16)
            var out = [UInt32](repeating: 0, count: 128)
            #expect(strata_unpack128_running(packed, packed.count, UInt32(width), 5, &out) == 0, "zero gap, width \(width)")
            #expect(strata_unpack128_running_portable(packed, packed.count, UInt32(width), 5, &out) == 0)
            values[77] = 1
            packed = []
            values.withUnsafeBufferPointer { BitPacking.pack($0, width: width, into: &packed) }
            packed += [UInt8](repeating: 0, count: 16)
            #expect(strata_unpack128_running(packed, packed.count, UInt32(width), 5, &out) == 1, "width \(width)")
            #expect(strata_unpack128_running(packed, packed.count, UInt32(width), UInt32.max - 10, &out) == 0, "wrap, width \(width)")
            #expect(strata_unpack128_running_portable(packed, packed.count, UInt32(width), UInt32.max - 10, &out) == 0)
        }
    }

    /// Every term's postings and positions read back from the file equal the in-memory index,
    /// and BM25 results are the same.
    @Test func segmentRoundTripsTheMemoryIndex() throws {
        let idx = sampleIndex()
        let path = tempPath("a.seg")
        try SegmentWriter.write(idx, to: path)
        let seg = try IndexSegment(path: path)
        #expect(seg.documentCount == idx.documentCount && seg.termCount == idx.termCount)
        var seen = 0
        var previous: [UInt8]?
        try seg.forEachTerm { term, info in
            let t = Array(term)
            if let p = previous { #expect(p.lexicographicallyPrecedes(t), "terms in byte order") }
            previous = t
            let id = try #require(idx.termID(t))
            let (docs, freqs) = try seg.postings(info)
            #expect(docs == idx.postings[Int(id)].docs && freqs == idx.postings[Int(id)].freqs, "postings of \(String(decoding: t, as: UTF8.self))")
            let positions = try seg.positions(info, freqs: freqs)
            #expect(positions.flatMap { $0 } == idx.postings[Int(id)].positions)
            seen += 1
        }
        #expect(seen == idx.termCount)
        #expect(try seg.lookup("segment")?.docFreq == idx.documentFrequency("segment"))
        #expect(try seg.lookup("nope") == nil && seg.lookup("") == nil && seg.lookup("zzzz") == nil)
        for d in [0, 1, 2999] { #expect(seg.norm(d) == idx.documentLengths[d]) }
        for q in ["kafka segment", "rare3 bookend", "error error warn", "doc5"] {
            let terms = idx.analyzedTokens(q).map(\.0)
            #expect(try seg.search(terms: terms, limit: 10) == idx.search(q, limit: 10), "\(q)")
        }
    }

    @Test func emptyAndTinyIndexes() throws {
        for lines in [[String](), ["one"], ["", "a b a"]] {
            let idx = MemoryIndex(analyzer: Analyzer(.standard))
            for l in lines { idx.add(l) }
            let path = tempPath("t.seg")
            try SegmentWriter.write(idx, to: path)
            let seg = try IndexSegment(path: path)
            #expect(seg.documentCount == lines.count && seg.termCount == idx.termCount)
            if lines.count == 2 {
                let info = try #require(try seg.lookup("a"))
                #expect(try seg.postings(info).freqs == [2])
            }
        }
    }

    /// Damage anywhere is a typed error at open (CRC) — and, with the CRC check off, decoding
    /// damaged structures still never crashes.
    @Test func corruptionIsATypedError() throws {
        let idx = sampleIndex(docs: 600)
        let path = tempPath("c.seg")
        try SegmentWriter.write(idx, to: path)
        let good = try FileSystem.readFile(path)
        var rng = SystemRandomNumberGenerator()
        for round in 0 ..< 300 {
            var bad = good
            if round % 3 == 0 {
                bad = Array(bad.prefix(Int.random(in: 0 ..< bad.count, using: &rng)))
            } else {
                for _ in 0 ..< 1 + round % 4 { bad[Int.random(in: 0 ..< bad.count, using: &rng)] ^= UInt8.random(in: 1 ... 255, using: &rng) }
            }
            let p = tempPath("bad.seg")
            try FileSystem.writeAtomically(bad, to: p)
            #expect(throws: StrataError.self, "round \(round)") { _ = try IndexSegment(path: p) }
            // Structure decoding without the CRC: errors or results, never a crash.
            if let seg = try? IndexSegment(path: p, verifyChecksum: false) {
                try? seg.forEachTerm { _, info in
                    if let (_, f) = try? seg.postings(info) { _ = try? seg.positions(info, freqs: f) }
                }
            }
        }
    }
}

@Suite struct DictionaryLookupTests {
    /// Every term is found with the info the dictionary walk gives it; near misses (a byte
    /// longer, shorter, or one higher) are found only when they are terms themselves.
    @Test func lookupFindsEveryTermAndNothingElse() throws {
        let idx = MemoryIndex(analyzer: Analyzer(.standard))
        var x: UInt64 = 99
        for _ in 0 ..< 3000 {
            var words: [String] = []
            for _ in 0 ..< 4 {
                x ^= x << 13; x ^= x >> 7; x ^= x << 17
                words.append(String(x % 5000, radix: 7) + ["", "a", "ab", "abc"][Int(x % 4)])
            }
            idx.add(words.joined(separator: " "))
        }
        let path = tempPath("lookup.seg")
        try SegmentWriter.write(idx, to: path)
        let seg = try IndexSegment(path: path)
        var all: [[UInt8]: IndexSegment.TermInfo] = [:]
        try seg.forEachTerm { t, info in all[Array(t)] = info }
        #expect(all.count == seg.termCount && all.count > 100)
        for (term, info) in all {
            #expect(try term.withUnsafeBytes { try seg.lookup($0) } == info)
            var variants = [term + [0], Array(term.dropLast())]
            if let last = term.last, last < 255 { variants.append(Array(term.dropLast()) + [last + 1]) }
            for v in variants { #expect(try v.withUnsafeBytes { try seg.lookup($0) } == all[v]) }
        }
    }
}

@Suite struct SegmentGoldenTests {
    /// Files of versions 1–4 are refused as `unsupported`, naming the version (§7); a stored key
    /// that lies behind a valid CRC is found by `verifyChecksum()` (merges, `checkIntegrity()`).
    @Test func olderVersionsRefusedAndLyingKeysFound() throws {
        let idx = sampleIndex(docs: 3000)
        let current = SegmentWriter.encode(idx)
        let blocks = Int(current.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: current.count - 72 + 56, as: UInt32.self) })
        #expect(blocks >= 4, "several dictionary blocks")
        let keysAt = Int(current.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: current.count - 72 + 48, as: UInt64.self) }) + 4 * blocks
        func resealed(_ b: [UInt8], magic: [UInt8]) -> [UInt8] {
            var b = b
            b.replaceSubrange(0 ..< 8, with: magic)
            b.replaceSubrange(b.count - 8 ..< b.count, with: magic)
            let crc = b[0 ..< b.count - 12].withUnsafeBytes { CRC32C.checksum($0) }
            withUnsafeBytes(of: crc.littleEndian) { b.replaceSubrange(b.count - 12 ..< b.count - 8, with: $0) }
            return b
        }
        for old in ["STRASEG1", "STRASEG2", "STRASEG3", "STRASEG4"] {
            let p = tempPath("old.seg")
            try Data(resealed(current, magic: Array(old.utf8))).write(to: URL(fileURLWithPath: p))
            do {
                _ = try IndexSegment(path: p)
                Issue.record("\(old) opened")
            } catch StrataError.unsupported(_, _, let reason) {
                #expect(reason.contains("version \(old.last!)"), "\(reason)")
            }
        }
        let p4 = tempPath("v4.seg")
        try Data(current).write(to: URL(fileURLWithPath: p4))
        try IndexSegment(path: p4).verifyChecksum()
        var lying = current
        lying[keysAt + 8 * (blocks / 2)] ^= 1
        let p5 = tempPath("lying.seg")
        try Data(resealed(lying, magic: SegmentFormat.magic)).write(to: URL(fileURLWithPath: p5))
        let c = try IndexSegment(path: p5)
        #expect(throws: StrataError.self) { try c.verifyChecksum() }
    }

    /// Norms take 1, 2 or 4 bytes per document, the fewest that hold the longest document
    /// (§1), and read back exact; a width other than 1, 2 or 4 behind a valid CRC is `corrupt`.
    @Test func normWidthFollowsTheLongestDocument() throws {
        for (longest, width) in [(255, 1), (256, 2), (65_535, 2), (65_536, 4), (70_000, 4)] {
            let idx = MemoryIndex(analyzer: Analyzer(.whitespace))
            let lengths = [3, longest, 0, 254, longest - 1, 1]
            for n in lengths { idx.add(Array(repeating: "w", count: n).joined(separator: " ")) }
            let bytes = SegmentWriter.encode(idx)
            let p = tempPath("norms-\(longest).seg")
            try Data(bytes).write(to: URL(fileURLWithPath: p))
            let seg = try IndexSegment(path: p)
            #expect(seg.normBytes == width, "longest \(longest)")
            #expect((0 ..< lengths.count).map { Int(seg.norm($0)) } == lengths, "longest \(longest)")
            #expect(bytes.count - 72 > 8 + width * lengths.count)
        }
        let idx = MemoryIndex(analyzer: Analyzer(.whitespace))
        idx.add("a b")
        idx.add("c")
        for bad: UInt8 in [0, 3, 8] {
            var b = SegmentWriter.encode(idx)
            b[b.count - 72 + 20] = bad
            let crc = b[0 ..< b.count - 12].withUnsafeBytes { CRC32C.checksum($0) }
            withUnsafeBytes(of: crc.littleEndian) { b.replaceSubrange(b.count - 12 ..< b.count - 8, with: $0) }
            let p = tempPath("norms-bad.seg")
            try Data(b).write(to: URL(fileURLWithPath: p))
            #expect(throws: StrataError.self, "width \(bad)") { _ = try IndexSegment(path: p) }
        }
    }

    /// The example of Formats/search-segment.md §6, byte for byte.
    @Test func goldenExample() throws {
        let idx = MemoryIndex(analyzer: Analyzer(.standard))
        idx.add("a b a")
        idx.add("")
        let bytes = SegmentWriter.encode(idx)
        func hex(_ b: ArraySlice<UInt8>) -> String { b.map { String(format: "%02x", $0) }.joined() }
        #expect(hex(bytes[0 ..< 8]) == "5354524153454735")
        #expect(hex(bytes[8 ..< 10]) == "0300", "norms: one byte per document")
        #expect(hex(bytes[10 ..< 16]) == "000002" + "000001")
        #expect(hex(bytes[16 ..< 19]) == "0002" + "01")
        #expect(hex(bytes[19 ..< 33]) == "0001610100000302" + "000162010301")
        #expect(hex(bytes[33 ..< 37]) == "00000000")
        #expect(hex(bytes[37 ..< 45]) == "0000000000000061", "block 0's key: \"a\" as a big-endian u64")
        let footer = Array(bytes[45...])
        #expect(footer.count == 72)
        #expect(hex(footer[0 ..< 16]) == "02000000" + "02000000" + "0300000000000000")
        #expect(hex(footer[16 ..< 24]) == "08000000" + "01000000", "norms at 8, 1 byte each")
        #expect(hex(footer[24 ..< 56]) == ["0a", "10", "13", "21"].map { $0 + "00000000000000" }.joined())
        #expect(hex(footer[56 ..< 60]) == "01000000" && hex(footer[64...]) == "5354524153454735")
        let crc = bytes[0 ..< bytes.count - 12].withUnsafeBytes { CRC32C.checksum($0) }
        #expect(Array(footer[60 ..< 64]) == withUnsafeBytes(of: crc.littleEndian) { Array($0) })
    }
}
