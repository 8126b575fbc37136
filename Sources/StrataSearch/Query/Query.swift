/// A parsed query (Lucene's query model). Text is kept raw and analyzed when the query runs
/// against a field, so one query can run on fields with different analyzers.
public indirect enum Query: Sendable, Equatable {
    case matchAll
    /// Documents whose field has at least one token.
    case exists(field: String)
    case term(field: String?, text: String)
    /// Terms in order; `slop` extra positions allowed in total between them (in order).
    /// `prefixLast`: the last term is a prefix (phrase-prefix, like ES `match_phrase_prefix`).
    case phrase(field: String?, text: String, slop: Int, prefixLast: Bool)
    case prefix(field: String?, text: String)
    /// Terms within `distance` edits (Levenshtein, 1–2) of `text`.
    case fuzzy(field: String?, text: String, distance: Int)
    /// Terms (or numbers, for numeric fields) within bounds; nil is unbounded.
    case range(field: String, lower: String?, upper: String?, includeLower: Bool, includeUpper: Bool)
    /// must: all match; mustNot: none match; should: at least `minimumShouldMatch` match.
    case boolean(must: [Query], should: [Query], mustNot: [Query], minimumShouldMatch: Int)
}

/// A query-syntax error at a character position of the query string.
public struct QueryParseError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Offset in characters (Unicode scalars) from the start of the query.
    public var position: Int
    public var message: String
    public var query: String

    public var description: String {
        let pointer = String(repeating: " ", count: position) + "^"
        return "query syntax error at position \(position): \(message)\n  \(query)\n  \(pointer)"
    }
}
