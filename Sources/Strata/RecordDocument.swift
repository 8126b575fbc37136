@_spi(Store) import StrataSearch
import StrataIO
import StrataLog

/// How a log record becomes a document of an index (Formats/store.md §3): a JSON object value
/// contributes its fields, any other value (or an object that does not fit the mapping) is the
/// text field `message`; beside them the record's partition, offset, timestamp and key.
struct RecordDocument {
    static let partitionField = "_partition"
    static let offsetField = "_offset"
    static let timestampField = "_timestamp"
    static let keyField = "_key"
    static let partitionKeyField = "_pkey"
    static let fallbackField = "_fallback"
    static let messageField = "message"

    /// The fields every store index has, before the mapping's.
    static let reservedFields: [FieldDefinition] = [
        FieldDefinition(partitionField, .i64), FieldDefinition(offsetField, .i64), FieldDefinition(timestampField, .timestamp),
        FieldDefinition(keyField, .keyword), FieldDefinition(partitionKeyField, .keyword), FieldDefinition(fallbackField, .keyword),
        FieldDefinition(messageField, .text(.standard)),
    ]
    private static let reservedPaths: Set<[UInt8]> = Set(reservedFields.filter { $0.name.hasPrefix("_") }.map { Array($0.name.utf8) })

    let partition: Int32
    /// JSON path of the document timestamp in the value (nil: the record's timestamp).
    let timestampPath: String?
    let compacted: Bool
    private var keyText: [UInt8] = []
    private var partitionKey: [UInt8] = []

    init(partition: Int32, timestampPath: String?, compacted: Bool) {
        self.partition = partition
        self.timestampPath = timestampPath
        self.compacted = compacted
    }

    enum Outcome { case indexed, fallback, deletedOnly }

    /// Adds `record` to `index`: deletes earlier documents of its key first in a compacted
    /// topic (a tombstone only deletes); falls back to text when its JSON does not fit.
    mutating func add(_ r: RecordView, to index: SearchIndex) throws -> Outcome {
        if let key = r.key { Self.keyText(key, into: &keyText) } else { keyText.removeAll(keepingCapacity: true) }
        if compacted, r.key != nil {
            partitionKey.removeAll(keepingCapacity: true)
            Self.appendDecimal(Int64(partition), to: &partitionKey)
            partitionKey.append(UInt8(ascii: ":"))
            partitionKey.append(contentsOf: keyText)
            try index.delete(field: Self.partitionKeyField, value: String(decoding: partitionKey, as: UTF8.self))
            if r.value == nil { return .deletedOnly }
        }
        if let value = r.value, Self.looksLikeObject(value) {
            do {
                try index.add { doc in
                    try doc.parseAppending(value)
                    try Self.checkReserved(doc)
                    appendMeta(&doc, r, fallback: false)
                }
                return .indexed
            } catch StrataError.invalidArgument {
                // Invalid JSON, or an object that does not fit the mapping: kept as text.
            }
            try index.add { doc in
                doc.append(path: "message", string: value)
                appendMeta(&doc, r, fallback: true)
            }
            return .fallback
        }
        try index.add { doc in
            if let value = r.value { doc.append(path: "message", string: value) }
            appendMeta(&doc, r, fallback: false)
        }
        return .indexed
    }

    private func appendMeta(_ doc: inout JSONDocument, _ r: RecordView, fallback: Bool) {
        doc.append(path: "_partition", integer: Int64(partition))
        doc.append(path: "_offset", integer: r.offset)
        var ts = r.timestamp
        if let timestampPath, !fallback, let e = doc.lastEntry(at: timestampPath) {
            switch e.kind {
            case .integer: ts = e.integer
            case .string: if let t = doc.withBytes(e, { Timestamp.parse($1) }) { ts = t }
            default: break
            }
        }
        doc.append(path: "_timestamp", integer: ts)
        if r.key != nil { keyText.withUnsafeBytes { doc.append(path: "_key", string: $0) } }
        if compacted, r.key != nil { partitionKey.withUnsafeBytes { doc.append(path: "_pkey", string: $0) } }
        if fallback { Self.trueBytes.withUnsafeBytes { doc.append(path: "_fallback", string: $0) } }
    }

    private static let trueBytes: [UInt8] = Array("true".utf8)

    /// A JSON object value may not use the store's field names.
    private static func checkReserved(_ doc: JSONDocument) throws {
        for e in doc.entries {
            let reserved = doc.withBytes(e) { path, _ in path.first == UInt8(ascii: "_") && reservedPaths.contains(Array(path)) }
            if reserved {
                let name = doc.withBytes(e) { p, _ in String(decoding: p, as: UTF8.self) }
                throw StrataError.invalidArgument("the value's field '\(name)' is one of the store's reserved fields")
            }
        }
    }

    /// Whether the first non-space byte is `{`.
    @inline(__always) static func looksLikeObject(_ v: UnsafeRawBufferPointer) -> Bool {
        for b in v {
            if b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D { continue }
            return b == UInt8(ascii: "{")
        }
        return false
    }

    /// A key as document text: its bytes when UTF-8, else `0x` + lowercase hex.
    static func keyText(_ key: UnsafeRawBufferPointer, into out: inout [UInt8]) {
        out.removeAll(keepingCapacity: true)
        if key.allSatisfy({ $0 < 0x80 }) || String(validating: key, as: UTF8.self) != nil {
            out.append(contentsOf: key)
            return
        }
        let digits = Array("0123456789abcdef".utf8)
        out.append(contentsOf: [UInt8(ascii: "0"), UInt8(ascii: "x")])
        for b in key {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 15)])
        }
    }

    static func keyText(_ key: [UInt8]) -> String {
        var out: [UInt8] = []
        key.withUnsafeBytes { keyText($0, into: &out) }
        return String(decoding: out, as: UTF8.self)
    }

    static func appendDecimal(_ v: Int64, to out: inout [UInt8]) {
        out.append(contentsOf: String(v).utf8)
    }
}
