import StrataIO
import StrataLog
import StrataSearch

/// Keeps a search index of one partition up to date: indexes records from the offset the
/// index's last commit recorded and commits the documents together with the next offset, so
/// after any crash the index equals a replay of the log up to that offset, each record once.
enum LogIndexer {
    /// The user-data key holding the next offset to index.
    static func offsetKey(topic: String, partition: Int32) -> String { "log.\(topic)-\(partition).next-offset" }

    /// The schema of an index of log records: the value as text, plus offset and timestamp.
    static func schema() throws -> Schema {
        try Schema(fields: [FieldDefinition("message", .text(.standard)), FieldDefinition("offset", .i64), FieldDefinition("timestamp", .timestamp)],
                   dynamic: .strict, defaultFields: ["message"])
    }

    /// Indexes up to `limit` records after the committed offset; returns the range indexed.
    static func catchUp(_ log: Log, topic: String, partition: Int32, index: SearchIndex, limit: Int) throws -> Range<Int64> {
        let key = offsetKey(topic: topic, partition: partition)
        var next = Int64(index.committedUserData[key] ?? "") ?? 0
        if next < log.logStartOffset { next = log.logStartOffset } // retention removed older records
        let first = next
        let cursor = try log.cursor(from: .offset(next))
        var added = 0
        while added < limit, let r = try cursor.next() {
            var fields: [(String, Document.Value)] = [("offset", .integer(r.offset)), ("timestamp", .integer(r.timestamp))]
            if let v = r.value { fields.append(("message", .string(String(decoding: v, as: UTF8.self)))) }
            try index.add(Document(fields))
            next = r.offset + 1
            added += 1
        }
        try index.commit(userData: [key: String(next)])
        return first ..< next
    }
}
