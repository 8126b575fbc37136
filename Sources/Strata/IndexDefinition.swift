import Foundation
import StrataIO
import StrataLog
import StrataSearch

/// How a topic's records become documents: declared fields with their types and analyzers,
/// what happens to the other JSON fields (dynamic mapping) and which fields unqualified query
/// terms search. The default maps everything dynamically, as Elasticsearch does.
public struct IndexMapping: Sendable, Equatable {
    /// Declared fields (names must not begin with `_`; `message` may be declared to choose the
    /// analyzer of non-JSON values).
    public var fields: [FieldDefinition]
    public var dynamic: DynamicMapping
    /// Fields an unqualified term searches; empty: every text field.
    public var defaultFields: [String]

    public init(fields: [FieldDefinition] = [], dynamic: DynamicMapping = .add, defaultFields: [String] = []) {
        self.fields = fields
        self.dynamic = dynamic
        self.defaultFields = defaultFields
    }

    /// A mapping from its JSON form (`{"fields":[{"name":"msg","type":"text","analyzer":"english"}],
    /// "dynamic":"add","default_fields":[]}`, Formats/search-index.md §3); missing keys take
    /// their defaults.
    public init(json: String) throws {
        do {
            let m = try JSONDecoder().decode(MappingJSON.self, from: Data(json.utf8))
            self.init(fields: m.fields ?? [], dynamic: m.dynamic ?? .add, defaultFields: m.defaultFields ?? [])
        } catch let e as StrataError {
            throw e
        } catch {
            throw StrataError.invalidArgument("mapping JSON: \(error)")
        }
        try validate()
    }

    /// The mapping as JSON (sorted keys).
    public var json: String {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return String(decoding: (try? e.encode(MappingJSON(self))) ?? Data(), as: UTF8.self)
    }

    struct MappingJSON: Codable {
        var fields: [FieldDefinition]?
        var dynamic: DynamicMapping?
        var defaultFields: [String]?
        enum CodingKeys: String, CodingKey { case fields, dynamic, defaultFields = "default_fields" }
        init(_ m: IndexMapping) {
            fields = m.fields
            dynamic = m.dynamic
            defaultFields = m.defaultFields
        }
    }

    /// The index schema: the store's reserved fields, then the declared ones.
    func schema(reserved: Bool = true) throws -> Schema {
        var all: [FieldDefinition] = []
        if reserved {
            all = RecordDocument.reservedFields
            if let declared = fields.first(where: { $0.name == RecordDocument.messageField }) {
                all[all.firstIndex { $0.name == RecordDocument.messageField }!] = declared
            }
        }
        for f in fields where !(reserved && f.name == RecordDocument.messageField) {
            all.append(f)
        }
        return try Schema(fields: all, dynamic: dynamic, defaultFields: defaultFields)
    }

    /// Checks names and types; throws `invalidArgument` saying what is wrong.
    func validate() throws {
        for f in fields {
            if f.name.hasPrefix("_") {
                throw StrataError.invalidArgument("field '\(f.name)': names beginning with '_' are reserved for the store's own fields (\(RecordDocument.reservedFields.map(\.name).filter { $0.hasPrefix("_") }.joined(separator: ", ")))")
            }
            if f.name == RecordDocument.messageField, case .text = f.type {} else if f.name == RecordDocument.messageField {
                throw StrataError.invalidArgument("field 'message' holds non-JSON values as text; it can only be declared as a text field (to choose its analyzer)")
            }
        }
        _ = try schema()
    }
}

/// An index of the store: the topic it follows, its mapping, where a document's timestamp
/// comes from, and the generation of its data (`indexes/<name>/index.json`, Formats/store.md §2).
public struct IndexDefinition: Sendable, Equatable {
    public var name: String
    /// The topic whose partitions the index follows.
    public var topic: String
    public var mapping: IndexMapping
    /// JSON path of the timestamp in a record's value; nil: the record's own timestamp.
    public var timestampField: String?
    /// The data generation in use (`g<generation>/`); a rebuild writes the next one.
    public internal(set) var generation: UInt64

    public init(name: String, topic: String, mapping: IndexMapping = IndexMapping(), timestampField: String? = nil) {
        self.name = name
        self.topic = topic
        self.mapping = mapping
        self.timestampField = timestampField
        generation = 1
    }

    static let fileName = "index.json"

    static func dataDirectoryName(_ generation: UInt64) -> String {
        let s = String(generation)
        return "g" + String(repeating: "0", count: max(0, 10 - s.count)) + s
    }

    /// The generation a data directory's name encodes, or nil.
    static func generation(ofDataDirectory name: String) -> UInt64? {
        guard name.hasPrefix("g"), name.count == 11 else { return nil }
        return UInt64(name.dropFirst())
    }

    private struct Stored: Codable {
        var format: Int
        var name: String
        var topic: String
        var generation: UInt64
        var timestampField: String?
        var mapping: IndexMapping.MappingJSON

        enum CodingKeys: String, CodingKey { case format, name, topic, generation, timestampField = "timestamp_field", mapping }

        func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(format, forKey: .format)
            try c.encode(name, forKey: .name)
            try c.encode(topic, forKey: .topic)
            try c.encode(generation, forKey: .generation)
            try c.encode(timestampField, forKey: .timestampField) // null when absent
            try c.encode(mapping, forKey: .mapping)
        }
    }

    func encode() throws -> [UInt8] {
        let stored = Stored(format: 1, name: name, topic: topic, generation: generation, timestampField: timestampField, mapping: IndexMapping.MappingJSON(mapping))
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return Array(try e.encode(stored)) + [0x0A]
    }

    static func decode(_ bytes: [UInt8], path: String, directoryName: String) throws -> IndexDefinition {
        func bad(_ why: String) -> StrataError { .corrupt(file: path, position: 0, reason: "index definition: \(why)") }
        let stored: Stored
        do { stored = try JSONDecoder().decode(Stored.self, from: Data(bytes)) } catch {
            throw bad("not valid JSON of the expected shape (\(error)); restore the file or delete the index directory and create the index again")
        }
        guard stored.format == 1 else { throw bad("format \(stored.format) is not supported (this version reads 1)") }
        guard stored.name == directoryName else { throw bad("names index '\(stored.name)' but lies in directory '\(directoryName)'") }
        guard stored.generation >= 1 else { throw bad("generation \(stored.generation) (must be ≥ 1)") }
        let mapping = IndexMapping(fields: stored.mapping.fields ?? [], dynamic: stored.mapping.dynamic ?? .add, defaultFields: stored.mapping.defaultFields ?? [])
        do { try mapping.validate() } catch { throw bad("its mapping is invalid: \(error)") }
        var d = IndexDefinition(name: stored.name, topic: stored.topic, mapping: mapping, timestampField: stored.timestampField)
        d.generation = stored.generation
        return d
    }
}
