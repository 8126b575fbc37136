import StrataIO
import StrataLog
import StrataSearch

/// Keeps a search index of one partition equal to the partition's log: indexes records from
/// the offset the index's last commit recorded and commits the documents together with the
/// next offset, so after any crash the index equals a replay of the log up to that offset, each
/// record once. Records that retention removed from the log are deleted from the index too.
///
/// Each record becomes a document: a value that is a JSON object contributes its fields
/// (dynamic mapping: `level:error`, `status:>=500`, `host.name:db-1`); any other value is the
/// text field `message`. Beside them `_offset` (i64), `_timestamp` and `_key` (keyword, UTF-8
/// keys); a hit's `_offset` leads back to the record. For a compacted topic
/// (`cleanupPolicy = .compact`) the index holds the latest record per key, as the compacted
/// log converges to: a keyed record replaces the documents of earlier records with its key, and
/// a tombstone (a key without a value) deletes them.
public enum LogIndexer {
    /// The user-data key holding the next offset to index.
    public static func offsetKey(topic: String, partition: Int32) -> String { "log.\(topic)-\(partition).next-offset" }
    /// The user-data key holding the log start offset the index reflects.
    static func startKey(topic: String, partition: Int32) -> String { "log.\(topic)-\(partition).start-offset" }

    /// The field holding each document's log offset.
    public static let offsetField = "_offset"

    /// The schema of an index of log records.
    public static func schema() throws -> Schema {
        try Schema(fields: [FieldDefinition("message", .text(.standard)), FieldDefinition(offsetField, .i64),
                            FieldDefinition("_timestamp", .timestamp), FieldDefinition("_key", .keyword)],
                   dynamic: .add)
    }

    /// Indexes up to `limit` records after the committed offset (first deleting documents of
    /// records retention removed) and commits; returns the offsets indexed.
    @discardableResult
    public static func catchUp(_ log: Log, topic: String, partition: Int32, index: SearchIndex, limit: Int = Int.max) throws -> Range<Int64> {
        let key = offsetKey(topic: topic, partition: partition), startKey = startKey(topic: topic, partition: partition)
        let committed = index.committedUserData
        var next = Int64(committed[key] ?? "") ?? 0
        let logStart = log.logStartOffset
        if logStart > (Int64(committed[startKey] ?? "") ?? 0) {
            // Retention moved the log start: its index must not keep the removed records.
            try index.delete(.range(field: offsetField, lower: nil, upper: String(logStart), includeLower: false, includeUpper: false))
        }
        if next < logStart { next = logStart }
        let first = next
        let compacted = log.config.cleanupPolicy == .compact
        let cursor = try log.cursor(from: .offset(next))
        var added = 0
        while added < limit, let r = try cursor.next() {
            var extra: [(String, Document.Value)] = [(offsetField, .integer(r.offset)), ("_timestamp", .integer(r.timestamp))]
            let key = r.key.flatMap { String(validating: $0, as: UTF8.self) }
            if let key {
                extra.append(("_key", .string(key)))
                if compacted {
                    try index.delete(field: "_key", value: key)
                    if r.value == nil { next = r.offset + 1; added += 1; continue } // tombstone
                }
            }
            if let v = r.value, v.first == UInt8(ascii: "{") {
                // A JSON object: its fields; a value that is not one after all (or does not fit
                // the fields' types) is indexed as text.
                do { try index.add(json: v, extra: Document(extra)) } catch StrataError.invalidArgument {
                    try index.add(Document(extra + [("message", .string(String(decoding: v, as: UTF8.self)))]))
                }
            } else {
                if let v = r.value { extra.append(("message", .string(String(decoding: v, as: UTF8.self)))) }
                try index.add(Document(extra))
            }
            next = r.offset + 1
            added += 1
        }
        var userData = committed
        userData[key] = String(next)
        userData[startKey] = String(logStart)
        // The commit is durable even when a merge after it failed; the merge error is thrown so
        // the caller sees a failing disk (running catchUp again is safe: nothing is indexed twice).
        if let e = try index.commit(userData: userData).mergeError { throw e }
        return first ..< next
    }

    /// Empties the index and indexes the partition again from its log start.
    @discardableResult
    public static func rebuild(_ log: Log, topic: String, partition: Int32, index: SearchIndex) throws -> Range<Int64> {
        try index.delete(.matchAll)
        var userData = index.committedUserData
        userData[offsetKey(topic: topic, partition: partition)] = "0"
        userData[startKey(topic: topic, partition: partition)] = "0"
        try index.commit(userData: userData)
        try index.forceMerge()
        return try catchUp(log, topic: topic, partition: partition, index: index)
    }
}
