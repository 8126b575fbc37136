import StrataIO

/// A commit point (`manifest-<generation>`, Formats/search-index.md §2): the schema, the live
/// segments with their document and delete counts, and user data (e.g. the log offsets the
/// index has consumed). Written to a temp file, fsync'd, renamed and the directory fsync'd;
/// the highest generation present is the index's state.
@_spi(Internals) public struct Manifest: Sendable, Equatable {
    static let magic: [UInt8] = Array("STRAMAN1".utf8)
    static let prefix = "manifest-"

    public struct SegmentEntry: Sendable, Equatable {
        public var number: UInt32
        public var documentCount: Int
        public var deletedCount: Int
        /// 0: no deletes file.
        public var deleteGeneration: UInt32
        /// Field numbers with an inverted file in this segment.
        public var invertedFields: [Int]

        public var name: String { Manifest.segmentName(number) }
    }

    public var generation: UInt64
    public var nextSegmentNumber: UInt32
    public var schema: Schema
    public var segments: [SegmentEntry]
    public var userData: [String: String]

    static func segmentName(_ n: UInt32) -> String {
        let s = String(n)
        return "s" + String(repeating: "0", count: max(0, 10 - s.count)) + s
    }

    static func fileName(_ generation: UInt64) -> String { numberedName(prefix, generation) }

    /// The generation a file name encodes, or nil when it is not a manifest name.
    static func generation(ofFile name: String) -> UInt64? { number(in: name, prefix: prefix) }

    static let refreshPrefix = "refresh-"

    /// A refresh point: the manifest format, written without fsync (Formats/search-index.md §2a).
    static func refreshFileName(_ generation: UInt64) -> String { numberedName(refreshPrefix, generation) }

    /// The generation a refresh point's file name encodes, or nil.
    static func generation(ofRefreshFile name: String) -> UInt64? { number(in: name, prefix: refreshPrefix) }

    /// `prefix` + the generation in 20 decimal digits.
    private static func numberedName(_ prefix: String, _ generation: UInt64) -> String {
        let s = String(generation)
        return prefix + String(repeating: "0", count: max(0, 20 - s.count)) + s
    }

    private static func number(in name: String, prefix: String) -> UInt64? {
        guard name.hasPrefix(prefix), name.count == prefix.count + 20 else { return nil }
        return UInt64(name.dropFirst(prefix.count))
    }

    func encode() -> [UInt8] {
        var out = Self.magic
        SegmentFormat.putLE(generation, &out)
        SegmentFormat.putLE(nextSegmentNumber, &out)
        let schemaBytes = schema.jsonBytes()
        SegmentFormat.putLE(UInt32(schemaBytes.count), &out)
        out.append(contentsOf: schemaBytes)
        SegmentFormat.putLE(UInt32(segments.count), &out)
        for s in segments {
            SegmentFormat.putLE(s.number, &out)
            SegmentFormat.putLE(UInt32(s.documentCount), &out)
            SegmentFormat.putLE(UInt32(s.deletedCount), &out)
            SegmentFormat.putLE(s.deleteGeneration, &out)
            SegmentFormat.putLE(UInt16(s.invertedFields.count), &out)
            for f in s.invertedFields { SegmentFormat.putLE(UInt16(f), &out) }
        }
        SegmentFormat.putLE(UInt32(userData.count), &out)
        for (k, v) in userData.sorted(by: { $0.key < $1.key }) {
            SegmentFormat.putLE(UInt32(k.utf8.count), &out)
            out.append(contentsOf: k.utf8)
            SegmentFormat.putLE(UInt32(v.utf8.count), &out)
            out.append(contentsOf: v.utf8)
        }
        let crc = out.withUnsafeBytes { CRC32C.checksum($0) }
        SegmentFormat.putLE(crc, &out)
        out.append(contentsOf: Self.magic)
        return out
    }

    /// Decodes and validates a manifest; every inconsistency is `StrataError.corrupt`.
    public static func decode(_ bytes: [UInt8], path: String, verifyChecksum: Bool = true) throws -> Manifest {
        func bad(_ at: Int, _ why: String) -> StrataError { .corrupt(file: path, position: Int64(at), reason: "manifest: \(why)") }
        guard bytes.count >= 8 + 8 + 4 + 4 + 4 + 4 + 4 + 8 else { throw bad(0, "\(bytes.count) bytes is too short (truncated?)") }
        guard Array(bytes[0 ..< 8]) == magic else { throw bad(0, "bad magic (not a Strata manifest)") }
        guard Array(bytes[bytes.count - 8 ..< bytes.count]) == magic else { throw bad(bytes.count - 8, "bad footer magic (truncated or damaged)") }
        return try bytes.withUnsafeBytes { b in
            let stored = b.loadUnaligned(fromByteOffset: b.count - 12, as: UInt32.self).littleEndian
            let computed = verifyChecksum ? CRC32C.checksum(UnsafeRawBufferPointer(rebasing: b[0 ..< b.count - 12])) : stored
            if stored != computed { throw bad(b.count - 12, "CRC mismatch (stored \(stored), computed \(computed))") }
            var i = 8
            let end = b.count - 12
            func need(_ n: Int, _ what: String) throws { if n > end - i { throw bad(i, "\(what) runs past the end") } }
            func u16() throws -> Int { try need(2, "u16"); defer { i += 2 }; return Int(b.loadUnaligned(fromByteOffset: i, as: UInt16.self).littleEndian) }
            func u32() throws -> UInt32 { try need(4, "u32"); defer { i += 4 }; return b.loadUnaligned(fromByteOffset: i, as: UInt32.self).littleEndian }
            func u64() throws -> UInt64 { try need(8, "u64"); defer { i += 8 }; return b.loadUnaligned(fromByteOffset: i, as: UInt64.self).littleEndian }
            func bytes(_ n: Int, _ what: String) throws -> [UInt8] { try need(n, what); defer { i += n }; return Array(b[i ..< i + n]) }
            let generation = try u64()
            let next = try u32()
            let schemaLength = Int(try u32())
            let schemaAt = i
            let schema: Schema
            do { schema = try Schema.decode(json: try bytes(schemaLength, "schema")) } catch let e as StrataError where e.isInvalidArgument {
                throw bad(schemaAt, "schema: \(e)")
            }
            let count = Int(try u32())
            guard count <= (end - i) / 18 else { throw bad(i - 4, "\(count) segments do not fit") }
            var segments: [SegmentEntry] = []
            var seen = Set<UInt32>()
            for _ in 0 ..< count {
                let at = i
                let number = try u32(), docs = Int(try u32()), deleted = Int(try u32()), gen = try u32()
                let fieldCount = try u16()
                var fields: [Int] = []
                for _ in 0 ..< fieldCount {
                    let f = try u16()
                    guard f < schema.fields.count, schema.fields[f].type.isInverted else { throw bad(i - 2, "segment \(number) names field \(f), not an inverted field of the schema") }
                    fields.append(f)
                }
                guard number < next, seen.insert(number).inserted, deleted <= docs, (gen == 0) == (deleted == 0) else {
                    throw bad(at, "segment entry \(number) is inconsistent (next segment \(next), \(docs) docs, \(deleted) deleted, deletes generation \(gen))")
                }
                segments.append(SegmentEntry(number: number, documentCount: docs, deletedCount: deleted, deleteGeneration: gen, invertedFields: fields))
            }
            let pairs = Int(try u32())
            var userData: [String: String] = [:]
            for _ in 0 ..< pairs {
                let k = try bytes(Int(try u32()), "user data key"), v = try bytes(Int(try u32()), "user data value")
                userData[String(decoding: k, as: UTF8.self)] = String(decoding: v, as: UTF8.self)
            }
            guard i == end else { throw bad(i, "\(end - i) unexpected bytes before the footer") }
            return Manifest(generation: generation, nextSegmentNumber: next, schema: schema, segments: segments, userData: userData)
        }
    }
}

extension StrataError {
    var isInvalidArgument: Bool { if case .invalidArgument = self { return true } else { return false } }
}
