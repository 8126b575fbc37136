#if canImport(Glibc)
import Glibc
#endif
import StrataIO

/// A segment's deleted documents (`STRADEL1`, Formats/search-index.md §6): a bitmap written
/// whole at each commit that changes it, under a new generation number, so the previous
/// commit's file stays intact until the new manifest replaces it.
@_spi(Internals) public enum DeletesFile {
    static let magic: [UInt8] = Array("STRADEL1".utf8)
    /// Where the bitmap words start.
    static let wordsOffset = 16

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

    /// Maps a deletes file and checks it (size, magic numbers, CRC, document count, no bits
    /// past the last document, bit count = header = manifest); readers use the mapped words.
    static func read(path: String, documents: Int, deleted expected: Int) throws -> DeletedDocuments {
        let file = try DataFile(path: path, flags: O_RDONLY)
        let size = Int(try file.size())
        let region = try MappedRegion(file: file, length: size)
        let bytes = region.bytes(count: size)
        let count = try validate(bytes, path: path, documents: documents, deleted: expected, verifyChecksum: true)
        return DeletedDocuments(mapped: region, file: file, words: bytes.baseAddress! + wordsOffset, documents: documents, count: count)
    }

    /// Decodes a deletes file held in memory (tests and the fuzzer; same checks as `read`).
    public static func decode(_ bytes: [UInt8], path: String, documents: Int, deleted expected: Int?, verifyChecksum: Bool = true) throws -> DocSet {
        try bytes.withUnsafeBytes { b in
            _ = try validate(b, path: path, documents: documents, deleted: expected, verifyChecksum: verifyChecksum)
            return bitmap(b.baseAddress! + wordsOffset, documents: documents)
        }
    }

    /// The set held by the little-endian bitmap words at `words` (⌈documents / 64⌉ of them).
    static func bitmap(_ words: UnsafeRawPointer, documents: Int) -> DocSet {
        var set = DocSet(capacity: documents)
        for w in set.words.indices { set.words[w] = words.loadUnaligned(fromByteOffset: 8 * w, as: UInt64.self).littleEndian }
        return set
    }

    /// Checks a whole deletes file; returns the number of deleted documents.
    private static func validate(_ b: UnsafeRawBufferPointer, path: String, documents: Int, deleted expected: Int?, verifyChecksum: Bool) throws -> Int {
        func bad(_ at: Int, _ why: String) -> StrataError { .corrupt(file: path, position: Int64(at), reason: "deletes: \(why)") }
        let words = (documents + 63) / 64
        guard b.count == wordsOffset + 8 * words + 12 else { throw bad(0, "\(b.count) bytes, expected \(wordsOffset + 12 + 8 * words) for \(documents) documents") }
        guard b.prefix(8).elementsEqual(magic), b.suffix(8).elementsEqual(magic) else { throw bad(0, "bad magic") }
        let stored = b.loadUnaligned(fromByteOffset: b.count - 12, as: UInt32.self).littleEndian
        let computed = verifyChecksum ? CRC32C.checksum(UnsafeRawBufferPointer(rebasing: b[0 ..< b.count - 12])) : stored
        if stored != computed { throw bad(b.count - 12, "CRC mismatch (stored \(stored), computed \(computed))") }
        let docs = Int(b.loadUnaligned(fromByteOffset: 8, as: UInt32.self).littleEndian)
        let count = Int(b.loadUnaligned(fromByteOffset: 12, as: UInt32.self).littleEndian)
        guard docs == documents else { throw bad(8, "\(docs) documents, the manifest says \(documents)") }
        var bits = 0
        for w in 0 ..< words { bits += b.loadUnaligned(fromByteOffset: wordsOffset + 8 * w, as: UInt64.self).nonzeroBitCount }
        if documents % 64 != 0, b.loadUnaligned(fromByteOffset: wordsOffset + 8 * (words - 1), as: UInt64.self).littleEndian >> UInt64(documents % 64) != 0 {
            throw bad(wordsOffset + 8 * (words - 1), "bits set past the last document")
        }
        guard bits == count, count == expected ?? count else { throw bad(12, "\(bits) bits set, header says \(count), manifest says \(expected ?? count)") }
        return bits
    }
}

/// A segment's deleted documents as readers see them: the bitmap words of a mapped deletes
/// file (after a commit) or of memory the writer filled (deletes not yet committed).
/// Immutable; searchers share it with the writer until the writer's next delete replaces it.
final class DeletedDocuments: @unchecked Sendable {
    private let words: UnsafePointer<UInt64>
    private let wordCount: Int
    /// The documents the bitmap covers (the segment's).
    let documents: Int
    /// How many are deleted.
    let count: Int
    private let region: MappedRegion?
    private let file: DataFile?

    init(mapped region: MappedRegion, file: DataFile, words: UnsafeRawPointer, documents: Int, count: Int) {
        self.region = region
        self.file = file
        self.words = words.assumingMemoryBound(to: UInt64.self)
        wordCount = (documents + 63) / 64
        self.documents = documents
        self.count = count
    }

    /// Copies `set` (the writer's deletes).
    init(_ set: DocSet) {
        let buffer = UnsafeMutablePointer<UInt64>.allocate(capacity: max(1, set.words.count))
        set.words.withUnsafeBufferPointer { buffer.initialize(from: $0.baseAddress!, count: $0.count) }
        words = UnsafePointer(buffer)
        wordCount = set.words.count
        documents = set.capacity
        count = set.count
        region = nil
        file = nil
    }

    deinit { if region == nil { UnsafeMutablePointer(mutating: words).deallocate() } }

    /// Whether document `d` (< `documents`) is deleted. Mapped words are little-endian on disk,
    /// as in memory on the platforms Strata builds for.
    @inline(__always) func contains(_ d: UInt32) -> Bool {
        UInt64(littleEndian: words[Int(d >> 6)]) & (1 << UInt64(d & 63)) != 0
    }

    /// The deleted documents as a set (the writer adds to a copy).
    var docSet: DocSet { DeletesFile.bitmap(UnsafeRawPointer(words), documents: documents) }

    /// Removes the deleted documents from `set` (same capacity).
    func subtract(from set: inout DocSet) {
        for w in 0 ..< wordCount { set.words[w] &= ~UInt64(littleEndian: words[w]) }
    }
}
