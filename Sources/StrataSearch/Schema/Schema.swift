import Foundation
import StrataIO

/// The type of an indexed field (Formats/search-index.md §3).
public enum FieldType: Sendable, Equatable, Hashable, Codable {
    /// Analyzed text: terms with positions and BM25 norms.
    case text(AnalyzerKind)
    /// One exact term per value: filters, term/range queries on the bytes, terms aggregations
    /// (a keyword doc-value column).
    case keyword
    /// 64-bit signed integers (a numeric doc-value column).
    case i64
    /// 64-bit IEEE floats (a numeric doc-value column).
    case f64
    /// Milliseconds since the Unix epoch, UTC; JSON values may be numbers (ms) or ISO 8601 /
    /// RFC 3339 strings.
    case timestamp

    /// Whether the field has an inverted file (terms and postings).
    public var isInverted: Bool {
        switch self {
        case .text, .keyword: return true
        default: return false
        }
    }

    /// Whether the field has a numeric doc-value column.
    public var isNumeric: Bool {
        switch self {
        case .i64, .f64, .timestamp: return true
        default: return false
        }
    }

    /// " (analyzer)" for text fields, for messages.
    var analyzerSuffix: String {
        if case let .text(kind) = self { return " (\(kind.rawValue))" }
        return ""
    }

    var analyzerKind: AnalyzerKind {
        if case let .text(kind) = self { return kind }
        return .keyword
    }

    /// The name used in the schema JSON (`text`, `keyword`, `i64`, `f64`, `timestamp`).
    public var typeName: String {
        switch self {
        case .text: return "text"
        case .keyword: return "keyword"
        case .i64: return "i64"
        case .f64: return "f64"
        case .timestamp: return "timestamp"
        }
    }
}

/// One field of a schema. Field numbers are positions in `Schema.fields`, fixed once given.
public struct FieldDefinition: Sendable, Equatable, Codable {
    public var name: String
    public var type: FieldType
    /// The JSON path this field takes its values from when it is not the field's own name: a
    /// multi-field, as Elasticsearch's `fields` (`service.keyword` indexes the values of
    /// `service` as one exact term). A document's value at `source` feeds both fields.
    public var source: String?
    /// Keyword fields: values longer than this many bytes are not indexed in this field
    /// (Elasticsearch's `ignore_above`; the dynamic `.keyword` sub-fields use 256).
    public var ignoreAbove: Int?
    /// Text fields: tokens longer than this many bytes are dropped, leaving a position gap
    /// (Elasticsearch's `max_token_length`; nil is the analyzer's 255; tantivy's default
    /// tokenizer keeps tokens shorter than 40 bytes: 39). 1…32,766.
    public var maxTokenLength: Int?

    /// The longest token length a schema may set (Lucene's largest term).
    public static let maxTokenLengthLimit = 32766

    public init(_ name: String, _ type: FieldType, source: String? = nil, ignoreAbove: Int? = nil, maxTokenLength: Int? = nil) {
        self.name = name
        self.type = type
        self.source = source
        self.ignoreAbove = ignoreAbove
        self.maxTokenLength = maxTokenLength
    }

    /// A new analyzer for this field's values and queries: its kind and token length.
    public func makeAnalyzer() -> Analyzer {
        Analyzer(type.analyzerKind, maxTokenLength: maxTokenLength ?? 255)
    }

    /// The keyword sub-field dynamic mapping adds beside a new string field (`name.keyword`).
    public static func keywordSubfield(of name: String) -> FieldDefinition {
        FieldDefinition(name + ".keyword", .keyword, source: name, ignoreAbove: 256)
    }

    private enum CodingKeys: String, CodingKey { case name, type, analyzer, source, ignoreAbove = "ignore_above", maxTokenLength = "max_token_length" }
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        source = try c.decodeIfPresent(String.self, forKey: .source)
        ignoreAbove = try c.decodeIfPresent(Int.self, forKey: .ignoreAbove)
        maxTokenLength = try c.decodeIfPresent(Int.self, forKey: .maxTokenLength)
        switch try c.decode(String.self, forKey: .type) {
        case "text": type = .text(try c.decodeIfPresent(AnalyzerKind.self, forKey: .analyzer) ?? .standard)
        case "keyword": type = .keyword
        case "i64": type = .i64
        case "f64": type = .f64
        case "timestamp": type = .timestamp
        case let other:
            throw DecodingError.dataCorruptedError(forKey: .type, in: c, debugDescription: "unknown field type '\(other)' (text, keyword, i64, f64, timestamp)")
        }
        if let n = maxTokenLength {
            guard case .text = type else {
                throw DecodingError.dataCorruptedError(forKey: .maxTokenLength, in: c, debugDescription: "max_token_length applies to text fields; '\(name)' is \(type.typeName)")
            }
            guard (1 ... Self.maxTokenLengthLimit).contains(n) else {
                throw DecodingError.dataCorruptedError(forKey: .maxTokenLength, in: c, debugDescription: "max_token_length \(n) of '\(name)' is outside 1…\(Self.maxTokenLengthLimit)")
            }
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(type.typeName, forKey: .type)
        if case let .text(kind) = type { try c.encode(kind, forKey: .analyzer) }
        try c.encodeIfPresent(source, forKey: .source)
        try c.encodeIfPresent(ignoreAbove, forKey: .ignoreAbove)
        try c.encodeIfPresent(maxTokenLength, forKey: .maxTokenLength)
    }
}

/// What happens to a JSON field the schema does not name (Elasticsearch's `dynamic`).
public enum DynamicMapping: String, Sendable, Codable {
    /// Add it with a type guessed from the value: strings → text (standard analyzer) plus a
    /// keyword sub-field `<name>.keyword` (values up to 256 bytes; terms aggregations and exact
    /// filters), or timestamp when the string is an ISO 8601 date; integers → i64; other
    /// numbers → f64; booleans → keyword.
    case add
    /// Ignore it.
    case ignore
    /// Reject the document.
    case strict
}

/// The fields of an index, stored in every commit's manifest. Fields are only ever added
/// (dynamically or by `Schema.adding`); a field's type never changes.
public struct Schema: Sendable, Equatable, Codable {
    public private(set) var fields: [FieldDefinition]
    public var dynamic: DynamicMapping
    /// Fields an unqualified query term searches; empty means every text field.
    public var defaultFields: [String]

    public init(fields: [FieldDefinition] = [], dynamic: DynamicMapping = .add, defaultFields: [String] = []) throws {
        self.fields = []
        self.dynamic = dynamic
        self.defaultFields = defaultFields
        for f in fields { try add(f) }
        for d in defaultFields where number(of: d) == nil {
            throw StrataError.invalidArgument("default field '\(d)' is not in the schema")
        }
    }

    private enum CodingKeys: String, CodingKey { case fields, dynamic, defaultFields = "default_fields" }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try self.init(fields: try c.decodeIfPresent([FieldDefinition].self, forKey: .fields) ?? [],
                      dynamic: try c.decodeIfPresent(DynamicMapping.self, forKey: .dynamic) ?? .add,
                      defaultFields: try c.decodeIfPresent([String].self, forKey: .defaultFields) ?? [])
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(fields, forKey: .fields)
        try c.encode(dynamic, forKey: .dynamic)
        try c.encode(defaultFields, forKey: .defaultFields)
    }

    public static func == (a: Schema, b: Schema) -> Bool {
        a.fields == b.fields && a.dynamic == b.dynamic && a.defaultFields == b.defaultFields
    }

    /// Field numbers by name (and, for multi-fields, by source path), kept in step with `fields`.
    private var byName: [String: Int] = [:]
    private var bySource: [String: [Int]] = [:]

    /// The number of field `name`, or nil.
    public func number(of name: String) -> Int? { byName[name] }

    /// The fields whose values come from JSON path `path` besides the field named `path`
    /// (multi-fields such as `path.keyword`).
    func derivedFields(of path: String) -> [Int] { bySource[path] ?? [] }

    /// Whether some multi-field takes its values from another path.
    var hasDerivedFields: Bool { !bySource.isEmpty }

    public func field(_ name: String) -> FieldDefinition? { number(of: name).map { fields[$0] } }

    /// Adds a field; the name must be new, non-empty and at most 255 bytes.
    public mutating func add(_ field: FieldDefinition) throws {
        guard !field.name.isEmpty, field.name.utf8.count <= 255 else {
            throw StrataError.invalidArgument("field name '\(field.name)' must have 1 to 255 bytes")
        }
        if let existing = self.field(field.name) {
            throw StrataError.invalidArgument("field '\(field.name)' already exists as \(existing.type.typeName)")
        }
        guard fields.count < Int(UInt16.max) else { throw StrataError.invalidArgument("too many fields (limit \(UInt16.max))") }
        if let source = field.source {
            guard !source.isEmpty, source != field.name else { throw StrataError.invalidArgument("field '\(field.name)': source must name another JSON path") }
        }
        if let limit = field.ignoreAbove, limit < 1 || field.type != .keyword {
            throw StrataError.invalidArgument("field '\(field.name)': ignore_above needs a keyword field and a positive byte count (\(limit))")
        }
        byName[field.name] = fields.count
        if let source = field.source { bySource[source, default: []].append(fields.count) }
        fields.append(field)
    }

    /// Adds the fields of `other` this schema lacks and takes its dynamic mapping and default
    /// fields; a field of both whose definition differs is refused (types never change: the
    /// index must be rebuilt). `directory` names the index in the message.
    public mutating func merge(_ other: Schema, directory: String) throws {
        for f in other.fields {
            if let existing = field(f.name) {
                if existing.type != f.type {
                    throw StrataError.invalidArgument("field '\(f.name)' is \(existing.type.typeName)\(existing.type.analyzerSuffix) in the index at \(directory), not \(f.type.typeName)\(f.type.analyzerSuffix); rebuild the index to change a type")
                }
                if existing.source != f.source || existing.ignoreAbove != f.ignoreAbove || existing.maxTokenLength != f.maxTokenLength {
                    throw StrataError.invalidArgument("field '\(f.name)' has a different source, ignore_above or max_token_length in the index at \(directory); rebuild the index to change it")
                }
            } else {
                try add(f)
            }
        }
        dynamic = other.dynamic
        defaultFields = other.defaultFields
    }

    /// The text fields unqualified query terms search.
    public var searchFields: [Int] {
        if !defaultFields.isEmpty { return defaultFields.compactMap(number(of:)) }
        return fields.indices.filter { if case .text = fields[$0].type { return true } else { return false } }
    }

    /// The schema as JSON (stored in the manifest).
    public func jsonBytes() -> [UInt8] {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return Array((try? e.encode(self)) ?? Data())
    }

    /// Parses schema JSON (from a manifest or a user file).
    public static func decode(json: [UInt8]) throws -> Schema {
        do {
            let s = try JSONDecoder().decode(Schema.self, from: Data(json))
            return try Schema(fields: s.fields, dynamic: s.dynamic, defaultFields: s.defaultFields)
        } catch let e as StrataError {
            throw e
        } catch {
            throw StrataError.invalidArgument("schema JSON: \(error)")
        }
    }
}
