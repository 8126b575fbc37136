import StrataIO

/// `topics/recovery-point-offset-checkpoint`: Kafka's offset checkpoint file (see
/// Formats/checkpoints.md). Text, one entry per line:
///
///     0                      version
///     2                      number of entries
///     events 0 1042          topic, partition, recovery point
///     events 1 977
public enum RecoveryCheckpoint {
    public static let fileName = "recovery-point-offset-checkpoint"

    public struct Key: Hashable, Sendable {
        public var topic: String
        public var partition: Int32
    }

    public static func encode(_ points: [Key: Int64]) -> [UInt8] {
        var text = "0\n\(points.count)\n"
        for (k, v) in points.sorted(by: { ($0.key.topic, $0.key.partition) < ($1.key.topic, $1.key.partition) }) {
            text += "\(k.topic) \(k.partition) \(v)\n"
        }
        return Array(text.utf8)
    }

    /// Parses a checkpoint; throws `corrupt` naming the line for anything malformed.
    public static func decode(_ bytes: [UInt8], file: String = "") throws -> [Key: Int64] {
        if bytes.isEmpty { return [:] } // Kafka creates empty checkpoint files
        var lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        if lines.last == "" { lines.removeLast() }
        func bad(_ line: Int, _ why: String) -> StrataError {
            .corrupt(file: file, position: Int64(line), reason: "checkpoint line \(line + 1): \(why)")
        }
        guard lines.count >= 2 else { throw bad(0, "missing version and count lines") }
        guard lines[0] == "0" else { throw bad(0, "unknown version \"\(lines[0])\" (expected 0)") }
        guard let count = Int(lines[1]), count >= 0 else { throw bad(1, "bad entry count \"\(lines[1])\"") }
        guard lines.count == 2 + count else { throw bad(lines.count, "expected \(count) entries, found \(lines.count - 2)") }
        var out: [Key: Int64] = [:]
        for i in 0 ..< count {
            let parts = lines[2 + i].split(separator: " ")
            guard parts.count == 3, let p = Int32(parts[1]), p >= 0, let o = Int64(parts[2]), o >= 0,
                  (try? TopicName.validate(String(parts[0]))) != nil else {
                throw bad(2 + i, "expected \"<topic> <partition> <offset>\", found \"\(lines[2 + i])\"")
            }
            out[Key(topic: String(parts[0]), partition: p)] = o
        }
        return out
    }

    public static func read(_ path: String) throws -> [Key: Int64] {
        guard try FileSystem.existsChecked(path) else { return [:] }
        return try decode(try FileSystem.readFile(path), file: path)
    }

    public static func write(_ points: [Key: Int64], to path: String) throws {
        try FileSystem.writeAtomically(encode(points), to: path)
    }
}
