import StrataIO

/// The one check of whether a batch in a segment may be read: `strata verify`, `strata
/// recover`, open-time recovery and (through `BatchRecordIterator`, which it runs) every cursor
/// agree on what is valid because they all ask this.
///
/// Framing and CRC first (the header's length, magic, CRC-32C over attributes … records), then
/// placement (offsets rise across batches and fit the segment's 32-bit relative offsets), then,
/// when `records` is asked for, every record decoded as a cursor would: codec, decompression
/// (bomb-capped), varints, lengths, headers, offset deltas inside the header's range, the
/// record count and no trailing bytes.
struct BatchValidator {
    /// Decode every record too (slower: `strata verify`, `strata recover`), or only framing,
    /// CRC and placement (open-time recovery, like Kafka's `LogSegment.recover`).
    var records: Bool { decoder != nil }
    private let decoder: (codecs: Codecs, buffer: ByteWriter)?

    init(records: Bool, maxDecompressedBytes: Int = Codecs.defaultMaxDecompressedBytes) {
        decoder = records ? (Codecs(maxDecompressedBytes: maxDecompressedBytes), ByteWriter()) : nil
    }

    /// Why batch `b` (CRC already probed by `RecordBatchView.probe`) cannot be read as the
    /// batch after offset `next` in the segment based at `segmentBase`; nil when it can.
    func problem(of b: RecordBatchView, segmentBase: Int64, next: Int64, file: String) -> String? {
        if !b.isChecksumValid { return "CRC mismatch in the batch at offset \(b.header.baseOffset)" }
        if b.header.baseOffset < next { return "batch offset \(b.header.baseOffset) goes backwards (expected ≥ \(next))" }
        if b.header.baseOffset < segmentBase { return "batch offset \(b.header.baseOffset) lies below the segment's base offset \(segmentBase)" }
        // (`probe` refused negative deltas and base offsets this arithmetic could overflow.)
        if b.header.lastOffset - segmentBase > Int64(Int32.max) {
            return "batch ends at offset \(b.header.lastOffset), beyond what segment \(segmentBase)'s 32-bit relative offsets can address"
        }
        guard let decoder else { return nil }
        do {
            var it = try BatchRecordIterator(batch: b, codecs: decoder.codecs, buffer: decoder.buffer, file: file)
            while try it.next() != nil {}
        } catch let StrataError.corrupt(_, _, reason) {
            return reason
        } catch let StrataError.unsupported(_, _, reason) {
            return reason
        } catch {
            return "\(error)"
        }
        return nil
    }
}
