/// A document as field values, for callers that do not have JSON. Values map through the
/// schema exactly as the equivalent JSON would (`.string` ↔ a JSON string, and so on); a
/// field may repeat (several values).
public struct Document: Sendable, Equatable, ExpressibleByDictionaryLiteral {
    public enum Value: Sendable, Equatable {
        case string(String)
        case integer(Int64)
        case double(Double)
        case bool(Bool)
    }

    public var fields: [(name: String, value: Value)]

    public init(_ fields: [(String, Value)] = []) {
        self.fields = fields.map { (name: $0.0, value: $0.1) }
    }

    public init(dictionaryLiteral elements: (String, Value)...) {
        self.init(elements)
    }

    public static func == (a: Document, b: Document) -> Bool {
        a.fields.count == b.fields.count && zip(a.fields, b.fields).allSatisfy { $0.name == $1.name && $0.value == $1.value }
    }
}

extension Document.Value: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral, ExpressibleByBooleanLiteral {
    public init(stringLiteral s: String) { self = .string(s) }
    public init(integerLiteral v: Int64) { self = .integer(v) }
    public init(floatLiteral v: Double) { self = .double(v) }
    public init(booleanLiteral v: Bool) { self = .bool(v) }
}

extension JSONDocument {
    /// Loads a `Document` as if it had been parsed from JSON.
    mutating func load(_ d: Document) {
        entries.removeAll(keepingCapacity: true)
        arena.removeAll(keepingCapacity: true)
        append(d)
    }

    /// Adds a `Document`'s values to what was parsed or loaded.
    mutating func append(_ d: Document) {
        for (name, value) in d.fields {
            let p = arena.count
            arena.append(contentsOf: name.utf8)
            let path = p ..< arena.count
            let v = arena.count
            switch value {
            case let .string(s):
                arena.append(contentsOf: s.utf8)
                entries.append(Entry(path: path, kind: .string, value: v ..< arena.count, integer: 0, double: 0))
            case let .integer(i):
                arena.append(contentsOf: String(i).utf8)
                entries.append(Entry(path: path, kind: .integer, value: v ..< arena.count, integer: i, double: Double(i)))
            case let .double(x):
                arena.append(contentsOf: "\(x)".utf8)
                entries.append(Entry(path: path, kind: .float, value: v ..< arena.count, integer: 0, double: x))
            case let .bool(b):
                arena.append(contentsOf: (b ? "true" : "false").utf8)
                entries.append(Entry(path: path, kind: .bool, value: v ..< arena.count, integer: b ? 1 : 0, double: 0))
            }
        }
    }
}
