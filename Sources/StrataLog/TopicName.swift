import StrataIO

/// Kafka's topic naming rules (`org.apache.kafka.common.internals.Topic.validate`).
public enum TopicName {
    public static let maxLength = 249

    /// Throws `invalidTopicName` unless `name` is 1–249 characters of `[a-zA-Z0-9._-]` and not
    /// `.` or `..`.
    public static func validate(_ name: String) throws {
        if name.isEmpty { throw StrataError.invalidTopicName(name: name, reason: "the name is empty") }
        if name == "." || name == ".." { throw StrataError.invalidTopicName(name: name, reason: "\"\(name)\" is reserved") }
        let count = name.utf8.count
        if count > maxLength {
            throw StrataError.invalidTopicName(name: String(name.prefix(40)) + "…", reason: "the name is \(count) characters long; at most \(maxLength) are allowed")
        }
        for (i, c) in name.utf8.enumerated() {
            let ok = (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c == 0x2e || c == 0x5f || c == 0x2d
            if !ok {
                throw StrataError.invalidTopicName(name: name, reason: "byte \(i) (\(c < 0x80 ? "'\(Character(Unicode.Scalar(c)))'" : "non-ASCII")) is not allowed")
            }
        }
    }

    /// The partition directory name, `<topic>-<partition>`.
    public static func directoryName(topic: String, partition: Int32) -> String { "\(topic)-\(partition)" }

    /// Splits `<topic>-<partition>` at the last `-`.
    public static func parseDirectoryName(_ name: String) -> (topic: String, partition: Int32)? {
        guard let dash = name.lastIndex(of: "-") else { return nil }
        let topic = String(name[..<dash])
        guard let p = Int32(name[name.index(after: dash)...]), p >= 0, (try? validate(topic)) != nil else { return nil }
        return (topic, p)
    }
}
