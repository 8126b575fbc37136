import StrataIO

/// A segment's deleted documents (`STRADEL1`, Formats/search-index.md §6): a bitmap written
/// whole at each commit that changes it, under a new generation number, so the previous
/// commit's file stays intact until the new manifest replaces it.
enum DeletesFile {
    static let magic: [UInt8] = Array("STRADEL1".utf8)

    static func encode(_ deleted: DocSet) -> [UInt8] {
        var out = magic
        SegmentFormat.putLE(UInt32(deleted.capacity), &out)
        SegmentFormat.putLE(UInt32(deleted.count), &out)
        for w in deleted.words { SegmentFormat.putLE(w, &out) }
        let crc = out.withUnsafeBytes { CRC32C.checksum($0) }
        SegmentFormat.putLE(crc, &out)
        out.append(contentsOf: magic)
        return out
    }

    static func read(path: String, documents: Int, deleted expected: Int) throws -> DocSet {
        try decode(try FileSystem.readFile(path), path: path, documents: documents, deleted: expected)
    }

    static func decode(_ bytes: [UInt8], path: String, documents: Int, deleted expected: Int?, verifyChecksum: Bool = true) throws -> DocSet {
        func bad(_ at: Int, _ why: String) -> StrataError { .corrupt(file: path, position: Int64(at), reason: "deletes: \(why)") }
        let words = (documents + 63) / 64
        guard bytes.count == 8 + 8 + 8 * words + 12 else { throw bad(0, "\(bytes.count) bytes, expected \(28 + 8 * words) for \(documents) documents") }
        guard Array(bytes[0 ..< 8]) == magic, Array(bytes[bytes.count - 8 ..< bytes.count]) == magic else { throw bad(0, "bad magic") }
        return try bytes.withUnsafeBytes { b in
            let stored = b.loadUnaligned(fromByteOffset: b.count - 12, as: UInt32.self).littleEndian
            let computed = verifyChecksum ? CRC32C.checksum(UnsafeRawBufferPointer(rebasing: b[0 ..< b.count - 12])) : stored
            if stored != computed { throw bad(b.count - 12, "CRC mismatch (stored \(stored), computed \(computed))") }
            let docs = Int(b.loadUnaligned(fromByteOffset: 8, as: UInt32.self).littleEndian)
            let count = Int(b.loadUnaligned(fromByteOffset: 12, as: UInt32.self).littleEndian)
            guard docs == documents else { throw bad(8, "\(docs) documents, the manifest says \(documents)") }
            var set = DocSet(capacity: documents)
            for w in 0 ..< words { set.words[w] = b.loadUnaligned(fromByteOffset: 16 + 8 * w, as: UInt64.self).littleEndian }
            if documents % 64 != 0, set.words[words - 1] >> UInt64(documents % 64) != 0 { throw bad(16 + 8 * (words - 1), "bits set past the last document") }
            guard set.count == count, count == expected ?? count else { throw bad(12, "\(set.count) bits set, header says \(count), manifest says \(expected ?? count)") }
            return set
        }
    }
}
