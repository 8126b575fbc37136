import Testing
@testable import StrataIO

@Suite struct CRC32CTests {
    @Test func knownVector() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum([]) == 0)
    }

    @Test func hardwareMatchesPortableOnEveryLengthAndAlignment() {
        var rng = SystemRandomNumberGenerator()
        let data = (0 ..< 120_000).map { _ in UInt8.random(in: 0 ... 255, using: &rng) }
        data.withUnsafeBytes { all in
            for start in 0 ..< 9 {
                for length in [0, 1, 7, 8, 9, 63, 64, 65, 200, 1000, 1535, 1536, 1537, 3085, 4000, 16384, 100_003] where start + length <= all.count {
                    let slice = UnsafeRawBufferPointer(rebasing: all[start ..< start + length])
                    #expect(CRC32C.checksum(slice) == CRC32C.portableChecksum(slice))
                }
            }
        }
    }

    @Test func continuationEqualsWholeChecksum() {
        let a = Array("hello, ".utf8), b = Array("world".utf8)
        let whole = CRC32C.checksum(a + b)
        let part = a.withUnsafeBytes { CRC32C.checksum($0) }
        #expect(b.withUnsafeBytes { CRC32C.checksum($0, continuing: part) } == whole)
    }
}

@Suite struct VarintTests {
    func encode(_ v: Int64) -> [UInt8] {
        let w = ByteWriter()
        w.appendVarint(v)
        return w.toArray()
    }

    @Test func goldenEncodings() {
        #expect(encode(0) == [0x00])
        #expect(encode(-1) == [0x01])
        #expect(encode(1) == [0x02])
        #expect(encode(63) == [0x7e])
        #expect(encode(-64) == [0x7f])
        #expect(encode(64) == [0x80, 0x01])
        #expect(encode(300) == [0xd8, 0x04])
        #expect(encode(Int64.min).count == 10)
    }

    @Test func roundTripAndSize() throws {
        var values: [Int64] = [0, 1, -1, Int64(Int32.max), Int64(Int32.min), Int64.max, Int64.min]
        for _ in 0 ..< 2000 { values.append(Int64.random(in: Int64.min ... Int64.max) >> Int64.random(in: 0 ... 63)) }
        for v in values {
            let bytes = encode(v)
            #expect(bytes.count == Varint.size(v))
            try bytes.withUnsafeBytes { (buf) throws in
                var r = ByteReader(buf)
                #expect(try r.readVarlong() == v)
                #expect(r.isAtEnd)
            }
        }
    }

    @Test func readerRejectsTruncatedOverlongAndOversizedVarints() {
        [UInt8]([0x80, 0x80]).withUnsafeBytes { buf in
            var r = ByteReader(buf)
            #expect(throws: StrataError.self) { try r.readVarint() }
        }
        [UInt8](repeating: 0xff, count: 11).withUnsafeBytes { buf in
            var r = ByteReader(buf)
            #expect(throws: StrataError.self) { try r.readVarlong() }
        }
        // 2^32 does not fit a 32-bit varint.
        [UInt8]([0x80, 0x80, 0x80, 0x80, 0x10]).withUnsafeBytes { buf in
            var r = ByteReader(buf)
            #expect(throws: StrataError.self) { try r.readVarint() }
        }
    }

    @Test func readerBoundsCheckedWithPositions() {
        [UInt8]([1, 2, 3]).withUnsafeBytes { buf in
            var r = ByteReader(buf, base: 100)
            _ = try? r.readUInt8()
            do {
                _ = try r.readBE(UInt32.self)
                Issue.record("expected a throw")
            } catch let StrataError.corrupt(_, position, _) {
                #expect(position == 101)
            } catch { Issue.record("wrong error \(error)") }
        }
    }
}

@Suite struct ErrorAdviceTests {
    /// The advice a corrupt-data message gives fits the file: `strata dump` reads segment
    /// files, an index is rebuilt from its topic, and a settings file gets neither (issue 12:
    /// garbage topic-config JSON advised `strata dump`).
    @Test func corruptDataAdviceFitsTheFile() {
        func text(_ file: String) -> String { "\(StrataError.corrupt(file: file, position: 0, reason: "bad"))" }
        #expect(text("d/topics/t-0/00000000000000000000.log").contains("strata dump"))
        #expect(text("d/topics/t-0/00000000000000000000.log.quarantine-5-6").contains("strata dump"))
        #expect(text("d/indexes/t/g0000000001/manifest-00000000000000000003").contains("strata index rebuild"))
        let config = text("d/topic-configs/t.json")
        #expect(!config.contains("strata dump") && !config.contains("rebuild"))
    }
}
