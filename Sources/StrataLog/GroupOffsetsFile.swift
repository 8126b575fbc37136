import StrataIO

/// One consumer group's committed offsets on disk (`groups/<group>.offsets`, see
/// Formats/consumer-offsets.md): UTF-8 text, a CRC-32C over everything before the last line.
///
///     strata-group-offsets 1
///     2
///     events 0 1042 1763771234567 -
///     events 1 977 1763771234567 batch%2012
///     crc32c 769f4aaf
enum GroupOffsetsFile {
    static let magic = "strata-group-offsets 1"

    static func encode(_ offsets: [TopicPartition: CommittedOffset]) -> [UInt8] {
        var text = magic + "\n\(offsets.count)\n"
        for (tp, o) in offsets.sorted(by: { ($0.key.topic, $0.key.partition) < ($1.key.topic, $1.key.partition) }) {
            text += "\(tp.topic) \(tp.partition) \(o.offset) \(o.commitTimestamp) \(escape(o.metadata))\n"
        }
        let body = Array(text.utf8)
        return body + Array("crc32c \(String(CRC32C.checksum(body), radix: 16).leftPadded(8))\n".utf8)
    }

    static func decode(_ bytes: [UInt8], file: String) throws -> [TopicPartition: CommittedOffset] {
        func bad(_ why: String) -> StrataError { .corrupt(file: file, position: 0, reason: "group offsets file: \(why)") }
        guard let crcLineStart = bytes.dropLast().lastIndex(of: 0x0a).map({ $0 + 1 }) else { throw bad("no checksum line") }
        let body = Array(bytes[..<crcLineStart])
        let crcLine = String(decoding: bytes[crcLineStart...], as: UTF8.self).trimmingNewline()
        guard crcLine.hasPrefix("crc32c "), let stored = UInt32(crcLine.dropFirst(7), radix: 16) else { throw bad("malformed checksum line \"\(crcLine)\"") }
        let computed = CRC32C.checksum(body)
        guard stored == computed else {
            throw bad("checksum mismatch (stored \(String(stored, radix: 16).leftPadded(8)), computed \(String(computed, radix: 16).leftPadded(8))); the file was damaged — delete it or reset the group")
        }
        let lines = String(decoding: body, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        guard lines.first == Substring(magic) else { throw bad("unknown header \"\(lines.first ?? "")\"") }
        guard lines.count >= 2, let count = Int(lines[1]), count >= 0, lines.count >= count + 2 else { throw bad("bad entry count") }
        var out: [TopicPartition: CommittedOffset] = [:]
        for i in 0 ..< count {
            let f = lines[2 + i].split(separator: " ", omittingEmptySubsequences: false)
            guard f.count == 5, let p = Int32(f[1]), let o = Int64(f[2]), let t = Int64(f[3]), let meta = unescape(String(f[4])) else {
                throw bad("malformed entry \"\(lines[2 + i])\"")
            }
            out[TopicPartition(topic: String(f[0]), partition: p)] = CommittedOffset(offset: o, commitTimestamp: t, metadata: meta)
        }
        return out
    }

    /// Metadata as one token: "-" when empty, else every byte outside printable ASCII
    /// (and space, %, -) as %XX.
    static func escape(_ s: String) -> String {
        if s.isEmpty { return "-" }
        var out = ""
        for b in s.utf8 {
            if b > 0x20 && b < 0x7f && b != 0x25 && b != 0x2d { out.append(Character(Unicode.Scalar(b))) } else {
                out += "%" + String(b, radix: 16, uppercase: true).leftPadded(2)
            }
        }
        return out
    }

    static func unescape(_ s: String) -> String? {
        if s == "-" { return "" }
        var bytes: [UInt8] = []
        var it = Array(s.utf8).makeIterator()
        while let c = it.next() {
            if c == 0x25 {
                guard let h = it.next(), let l = it.next(), let v = UInt8(String(decoding: [h, l], as: UTF8.self), radix: 16) else { return nil }
                bytes.append(v)
            } else { bytes.append(c) }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

extension String {
    func trimmingNewline() -> String { hasSuffix("\n") ? String(dropLast()) : self }
}
