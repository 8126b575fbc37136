import StrataIO

/// One entry of a segment's `.txnindex` (Formats/transactions.md §2): an aborted transaction
/// whose ABORT marker is in that segment.
public struct AbortedTransaction: Sendable, Equatable {
    public var producerId: Int64
    /// Offset of the transaction's first data batch.
    public var firstOffset: Int64
    /// Offset of the ABORT marker.
    public var lastOffset: Int64
    /// The partition's last stable offset once the marker was written.
    public var lastStableOffset: Int64

    public init(producerId: Int64, firstOffset: Int64, lastOffset: Int64, lastStableOffset: Int64) {
        self.producerId = producerId
        self.firstOffset = firstOffset
        self.lastOffset = lastOffset
        self.lastStableOffset = lastStableOffset
    }
}

/// Kafka's `.txnindex` file: 34-byte big-endian entries, version 0. Strata reads these files
/// where Kafka wrote them, keeps them with their segments and trims them when recovery cuts a
/// segment; it writes no new entries (it writes no transactional data).
enum TransactionIndex {
    static let entrySize = 34
    static let suffix = ".txnindex"

    /// The entries of `bytes`, checked against the segment's offsets `[baseOffset, nextOffset)`.
    /// Entries whose marker lies at or past `nextOffset` are returned in `beyondEnd` (a cut
    /// tail took their markers); anything else wrong makes the file unusable (`corrupt`).
    static func parse(_ bytes: UnsafeRawBufferPointer, baseOffset: Int64, nextOffset: Int64, file: String) throws -> (entries: [AbortedTransaction], beyondEnd: Int) {
        guard bytes.count % entrySize == 0 else {
            throw StrataError.corrupt(file: file, position: Int64(bytes.count - bytes.count % entrySize),
                                      reason: "transaction index of \(bytes.count) bytes is not whole \(entrySize)-byte entries")
        }
        var entries: [AbortedTransaction] = []
        var beyond = 0
        for at in stride(from: 0, to: bytes.count, by: entrySize) {
            let version = Int16(bigEndian: bytes.loadUnaligned(fromByteOffset: at, as: Int16.self))
            let e = AbortedTransaction(producerId: Int64(bigEndian: bytes.loadUnaligned(fromByteOffset: at + 2, as: Int64.self)),
                                       firstOffset: Int64(bigEndian: bytes.loadUnaligned(fromByteOffset: at + 10, as: Int64.self)),
                                       lastOffset: Int64(bigEndian: bytes.loadUnaligned(fromByteOffset: at + 18, as: Int64.self)),
                                       lastStableOffset: Int64(bigEndian: bytes.loadUnaligned(fromByteOffset: at + 26, as: Int64.self)))
            func bad(_ why: String) -> StrataError { .corrupt(file: file, position: Int64(at), reason: "transaction index entry \(at / entrySize): \(why)") }
            guard version == 0 else { throw bad("version \(version) (only 0 exists)") }
            guard e.producerId >= 0, e.firstOffset >= 0, e.firstOffset <= e.lastOffset else {
                throw bad("producer \(e.producerId), offsets \(e.firstOffset)...\(e.lastOffset) cannot describe a transaction")
            }
            guard e.lastOffset >= baseOffset else { throw bad("marker offset \(e.lastOffset) is below the segment's base offset \(baseOffset)") }
            if e.lastOffset >= nextOffset { beyond += 1; continue }
            if beyond > 0 { throw bad("entries are not in marker order") }
            entries.append(e)
        }
        return (entries, beyond)
    }

    static func encode(_ entries: [AbortedTransaction]) -> [UInt8] {
        let out = ByteWriter(capacity: max(entries.count * entrySize, 16))
        for e in entries {
            out.appendBE(Int16(0))
            out.appendBE(e.producerId)
            out.appendBE(e.firstOffset)
            out.appendBE(e.lastOffset)
            out.appendBE(e.lastStableOffset)
        }
        return out.toArray()
    }

    /// Reads `<base>.txnindex` when it exists. Returns its usable entries, or a problem that
    /// makes it unusable (the log's markers then decide alone). When `writable` and recovery
    /// cut markers away, the file is rewritten without their entries (Kafka's `truncateTo`).
    static func load(directory: String, baseOffset: Int64, nextOffset: Int64, writable: Bool) -> (entries: [AbortedTransaction], problem: String?) {
        let path = directory + "/" + LogSegment.fileName(baseOffset, suffix)
        guard FileSystem.exists(path) else { return ([], nil) }
        do {
            let bytes = try FileSystem.readFile(path)
            let (entries, beyond) = try bytes.withUnsafeBytes { try parse($0, baseOffset: baseOffset, nextOffset: nextOffset, file: path) }
            if beyond > 0 && writable { try FileSystem.writeAtomically(encode(entries), to: path) }
            return (entries, nil)
        } catch {
            return ([], "\(error)")
        }
    }
}
