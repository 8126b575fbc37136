/// Parses Lucene's query syntax:
///
///     error                    a term (analyzed with the field's analyzer)
///     level:error              a term in a field
///     "connection reset"~2     a phrase, with optional slop
///     "session op*"            a phrase whose last word is a prefix
///     conn*                    a prefix
///     hadop~1                  fuzzy (edit distance 1 or 2; ~ alone means 2)
///     a AND b, a OR b, NOT a   boolean operators (AND binds tighter than OR)
///     +a -b c                  required, prohibited, optional
///     ( … )                    grouping
///     size:[10 TO 20]  size:{a TO b]  size:>=5  size:<7   ranges ([ ] inclusive, { } exclusive, * open)
///     *:*  or  *               match all;   _exists_:field   field present
///
/// Adjacent clauses without an operator are OR-ed (Lucene's default operator). A query of
/// only prohibited clauses matches every document except those. Errors carry the position.
public struct QueryParser {
    private let chars: [Unicode.Scalar]
    /// The query's UTF-8 bytes and where each scalar starts in them (words are cut from here);
    /// nil offsets: the query is ASCII, scalar k is byte k.
    private let utf8: [UInt8]
    private let offsets: [Int]?
    private let source: String
    private var i = 0

    public init(_ query: String) {
        source = query
        let bytes = Array(query.utf8)
        utf8 = bytes
        var scalars: [Unicode.Scalar] = []
        scalars.reserveCapacity(bytes.count)
        if bytes.allSatisfy({ $0 < 0x80 }) {
            for b in bytes { scalars.append(Unicode.Scalar(b)) }
            offsets = nil
        } else {
            var offsets: [Int] = []
            offsets.reserveCapacity(bytes.count + 1)
            var at = 0
            for c in query.unicodeScalars {
                scalars.append(c)
                offsets.append(at)
                at += UTF8.width(c)
            }
            offsets.append(at)
            self.offsets = offsets
        }
        chars = scalars
    }

    /// The UTF-8 offset of scalar `k`.
    @inline(__always) private func offset(_ k: Int) -> Int { offsets?[k] ?? k }

    public static func parse(_ query: String) throws -> Query {
        var p = QueryParser(query)
        return try p.parseAll()
    }

    private func fail(_ message: String, at position: Int? = nil) -> QueryParseError {
        QueryParseError(position: position ?? i, message: message, query: source)
    }

    private mutating func skipSpaces() { while i < chars.count && chars[i].isWhitespace { i += 1 } }
    private var atEnd: Bool { i >= chars.count }

    mutating func parseAll() throws -> Query {
        skipSpaces()
        if atEnd { throw fail("the query is empty") }
        let q = try parseOr(depth: 0)
        skipSpaces()
        if !atEnd { throw fail(chars[i] == ")" ? "unbalanced ')'" : "unexpected '\(chars[i])'") }
        return q
    }

    /// A clause and the modifier written before it.
    private enum Modifier { case none, must, mustNot }

    /// Consumes an operator word (ASCII, e.g. "AND") followed by a space, '(' , '"' or the end.
    private mutating func keyword(_ word: StaticString) -> Bool {
        skipSpaces()
        let n = word.utf8CodeUnitCount
        guard i + n <= chars.count else { return false }
        let w = word.utf8Start
        for k in 0 ..< n where chars[i + k].value != UInt32(w[k]) { return false }
        let after = i + n
        if after < chars.count && !(chars[after].isWhitespace || chars[after] == "(" || chars[after] == "\"") { return false }
        i = after
        return true
    }

    private mutating func parseOr(depth: Int) throws -> Query {
        let first = try parseAnd(depth: depth)
        skipSpaces()
        // One plain clause (most queries): no clause list.
        if first.0 == .none && (atEnd || chars[i] == ")") { return first.1 }
        var parts: [(Modifier, Query)] = [first]
        while true {
            skipSpaces()
            if atEnd || chars[i] == ")" { break }
            let opAt = i
            _ = keyword("OR")
            skipSpaces()
            if atEnd || chars[i] == ")" { throw fail("OR needs a clause after it", at: opAt) }
            parts.append(try parseAnd(depth: depth))
        }
        return combine(parts)
    }

    private mutating func parseAnd(depth: Int) throws -> (Modifier, Query) {
        var first = try parseNot(depth: depth)
        var musts: [(Modifier, Query)] = []
        while true {
            let save = i
            skipSpaces()
            let opAt = i
            if keyword("AND") {
                skipSpaces()
                if atEnd || chars[i] == ")" { throw fail("AND needs a clause after it", at: opAt) }
                if musts.isEmpty { musts.append(first.0 == .none ? (.must, first.1) : first) }
                let next = try parseNot(depth: depth)
                musts.append(next.0 == .none ? (.must, next.1) : next)
            } else {
                i = save
                break
            }
        }
        if musts.isEmpty { return first }
        first = (.none, combine(musts))
        return first
    }

    private mutating func parseNot(depth: Int) throws -> (Modifier, Query) {
        let at = i
        if keyword("NOT") {
            skipSpaces()
            if atEnd || chars[i] == ")" { throw fail("NOT needs a clause after it", at: at) }
            let (_, q) = try parseNot(depth: depth)
            return (.mustNot, q)
        }
        skipSpaces()
        var modifier = Modifier.none
        if !atEnd && (chars[i] == "+" || chars[i] == "-") {
            modifier = chars[i] == "+" ? .must : .mustNot
            i += 1
            if atEnd || chars[i].isWhitespace { throw fail("'\(chars[i - 1])' must be followed by a clause", at: i - 1) }
        }
        return (modifier, try parsePrimary(depth: depth))
    }

    /// Folds clauses with modifiers into one query.
    private func combine(_ parts: [(Modifier, Query)]) -> Query {
        if parts.count == 1 && parts[0].0 == .none { return parts[0].1 }
        var must: [Query] = [], should: [Query] = [], mustNot: [Query] = []
        for (m, q) in parts {
            switch m {
            case .none: should.append(q)
            case .must: must.append(q)
            case .mustNot: mustNot.append(q)
            }
        }
        if must.isEmpty && should.isEmpty { must = [.matchAll] } // purely negative: everything except
        return .boolean(must: must, should: should, mustNot: mustNot, minimumShouldMatch: must.isEmpty ? 1 : 0)
    }

    private mutating func readWord() -> String {
        let start = i
        var escaped = false
        while i < chars.count {
            let c = chars[i]
            if c == "\\" && i + 1 < chars.count { escaped = true; i += 2; continue }
            if c.isWhitespace || c == "(" || c == ")" || c == "\"" || c == ":" || c == "^" || c == "~" || c == "[" || c == "]" || c == "{" || c == "}" { break }
            if (c == "+" || c == "-") && i == start { break }
            i += 1
        }
        if !escaped { return String(decoding: utf8[offset(start) ..< offset(i)], as: UTF8.self) }
        var out = ""
        var k = start
        while k < i {
            if chars[k] == "\\" && k + 1 < i { k += 1 }
            out.unicodeScalars.append(chars[k])
            k += 1
        }
        return out
    }

    private mutating func parsePrimary(depth: Int) throws -> Query {
        skipSpaces()
        if atEnd { throw fail("a clause is missing") }
        if chars[i] == "(" {
            if depth > 100 { throw fail("parentheses nested too deeply") }
            let open = i
            i += 1
            skipSpaces()
            if !atEnd && chars[i] == ")" { throw fail("empty parentheses", at: open) }
            let q = try parseOr(depth: depth + 1)
            skipSpaces()
            if atEnd || chars[i] != ")" { throw fail("unbalanced '(' (no closing ')')", at: open) }
            i += 1
            try skipBoost()
            return q
        }
        if chars[i] == "\"" { return try parsePhrase(field: nil) }
        let start = i
        let word = readWord()
        if word.isEmpty { throw fail("unexpected '\(chars[i])'") }
        if !atEnd && chars[i] == ":" {
            // field:…
            i += 1
            if word == "*" && !atEnd && chars[i] == "*" { i += 1; return .matchAll }
            if word == "_exists_" {
                let f = readWord()
                if f.isEmpty { throw fail("_exists_ needs a field name") }
                return .exists(field: f)
            }
            if atEnd || chars[i].isWhitespace { throw fail("field '\(word)' has no value", at: start) }
            return try parseFieldValue(field: word, fieldAt: start)
        }
        return try finishTerm(field: nil, word: word, at: start)
    }

    /// A boost (`^2`, `^0.5`) is parsed and checked; it does not change scores (documented in
    /// the README: Strata scores every clause with weight 1).
    private mutating func skipBoost() throws {
        if !atEnd && chars[i] == "^" {
            let at = i
            i += 1
            let start = i
            while !atEnd && (chars[i].isNumber || chars[i] == ".") { i += 1 }
            let digits = String(String.UnicodeScalarView(chars[start ..< i]))
            let followedByWordCharacter = !atEnd && !chars[i].isWhitespace && chars[i] != ")"
            if Double(digits) == nil || followedByWordCharacter {
                throw fail("a boost needs a number after '^' (e.g. error^2)", at: at)
            }
        }
    }

    private mutating func finishTerm(field: String?, word: String, at start: Int) throws -> Query {
        if word == "*" { return .matchAll }
        var result: Query
        // '*' and '?' are ASCII: counted in one pass over the UTF-8 bytes.
        var stars = 0, questions = 0, lastIsStar = false, length = 0
        var w = word
        w.withUTF8 { u in
            for b in u { stars += b == 0x2A ? 1 : 0; questions += b == 0x3F ? 1 : 0 }
            lastIsStar = u.last == 0x2A
            length = u.count
        }
        if stars == 1 && lastIsStar && length > 1 {
            result = .prefix(field: field, text: String(word.dropLast()))
        } else if stars > 0 || questions > 0 {
            throw fail("wildcards are only supported at the end of a term (prefix queries)", at: start)
        } else {
            result = .term(field: field, text: word)
        }
        if !atEnd && chars[i] == "~" {
            i += 1
            var digits = ""
            while !atEnd && chars[i].isNumber { digits.unicodeScalars.append(chars[i]); i += 1 }
            let d = digits.isEmpty ? 2 : Int(digits) ?? 3
            guard (0 ... 2).contains(d) else { throw fail("fuzzy edit distance must be 0, 1 or 2", at: i - digits.count) }
            guard case .term = result else { throw fail("~ applies to a term or a phrase", at: start) }
            result = .fuzzy(field: field, text: word, distance: d)
        }
        try skipBoost()
        return result
    }

    private mutating func parsePhrase(field: String?) throws -> Query {
        let open = i
        i += 1
        var start = i
        var escaped = false
        while i < chars.count && chars[i] != "\"" {
            if chars[i] == "\\" && i + 1 < chars.count { escaped = true; i += 2; continue }
            i += 1
        }
        var end = min(i, chars.count)
        // Trim white space (ends of the phrase) without Foundation.
        while start < end && chars[start].isWhitespace { start += 1 }
        while end > start && chars[end - 1].isWhitespace && !(end - 2 >= start && chars[end - 2] == "\\") { end -= 1 }
        var text: String
        if !escaped {
            text = String(decoding: utf8[offset(start) ..< offset(end)], as: UTF8.self)
        } else {
            text = ""
            var k = start
            while k < end {
                if chars[k] == "\\" && k + 1 < end { k += 1 }
                text.unicodeScalars.append(chars[k])
                k += 1
            }
        }
        if atEnd { throw fail("unbalanced '\"' (no closing quote)", at: open) }
        i += 1
        var slop = 0
        if !atEnd && chars[i] == "~" {
            i += 1
            var digits = ""
            while !atEnd && chars[i].isNumber { digits.unicodeScalars.append(chars[i]); i += 1 }
            guard let s = Int(digits), s <= 1000 else { throw fail("phrase slop must be a number (e.g. \"a b\"~2)") }
            slop = s
        }
        try skipBoost()
        var prefixLast = false
        var body = text
        if body.unicodeScalars.last == "*" { prefixLast = true; body.unicodeScalars.removeLast() }
        if body.isEmpty { throw fail("empty phrase", at: open) }
        return .phrase(field: field, text: body, slop: slop, prefixLast: prefixLast)
    }

    private mutating func parseFieldValue(field: String, fieldAt: Int) throws -> Query {
        let c = chars[i]
        if c == "\"" { return try parsePhrase(field: field) }
        if c == "(" {
            // field:(a b) applies the field to every clause inside.
            let q = try parsePrimary(depth: 1)
            return Self.applyField(field, to: q)
        }
        if c == "[" || c == "{" { return try parseRange(field: field) }
        if c == ">" || c == "<" {
            i += 1
            var inclusive = false
            if !atEnd && chars[i] == "=" { inclusive = true; i += 1 }
            // A sign belongs to the value here (`v:<-5`), not to a clause.
            var sign = ""
            if !atEnd && (chars[i] == "-" || chars[i] == "+") { sign = String(chars[i]); i += 1 }
            let v = sign + readWord()
            if v == sign { throw fail("a value must follow '\(c)\(inclusive ? "=" : "")'") }
            return c == ">" ? .range(field: field, lower: v, upper: nil, includeLower: inclusive, includeUpper: false)
                : .range(field: field, lower: nil, upper: v, includeLower: false, includeUpper: inclusive)
        }
        let start = i
        let word = readWord()
        if word.isEmpty { throw fail("field '\(field)' has no value", at: fieldAt) }
        return try finishTerm(field: field, word: word, at: start)
    }

    private mutating func parseRange(field: String) throws -> Query {
        let open = i
        let includeLower = chars[i] == "["
        i += 1
        skipSpaces()
        let lower = try readRangeBound()
        skipSpaces()
        guard keyword("TO") else { throw fail("a range needs 'TO' (e.g. [a TO b])") }
        skipSpaces()
        let upper = try readRangeBound()
        skipSpaces()
        guard !atEnd, chars[i] == "]" || chars[i] == "}" else { throw fail("unbalanced range bracket", at: open) }
        let includeUpper = chars[i] == "]"
        i += 1
        if lower.isEmpty || upper.isEmpty { throw fail("a range needs two bounds (* for open)", at: open) }
        return .range(field: field, lower: lower == "*" ? nil : lower, upper: upper == "*" ? nil : upper,
                      includeLower: includeLower, includeUpper: includeUpper)
    }

    /// A range bound: a quoted string, or everything up to white space or the closing bracket
    /// (so times like `2026-11-22T06:00:00Z` need no quotes).
    private mutating func readRangeBound() throws -> String {
        if !atEnd && chars[i] == "\"" {
            let open = i
            i += 1
            var out = String.UnicodeScalarView()
            while !atEnd && chars[i] != "\"" {
                if chars[i] == "\\" && i + 1 < chars.count { i += 1 }
                out.append(chars[i])
                i += 1
            }
            if atEnd { throw fail("unterminated quoted range bound", at: open) }
            i += 1
            return String(out)
        }
        var out = String.UnicodeScalarView()
        while !atEnd && !chars[i].isWhitespace && chars[i] != "]" && chars[i] != "}" {
            out.append(chars[i])
            i += 1
        }
        return String(out)
    }

    static func applyField(_ field: String, to q: Query) -> Query {
        switch q {
        case let .term(f, t): return .term(field: f ?? field, text: t)
        case let .phrase(f, t, s, p): return .phrase(field: f ?? field, text: t, slop: s, prefixLast: p)
        case let .prefix(f, t): return .prefix(field: f ?? field, text: t)
        case let .fuzzy(f, t, d): return .fuzzy(field: f ?? field, text: t, distance: d)
        case let .boolean(m, s, n, k):
            return .boolean(must: m.map { applyField(field, to: $0) }, should: s.map { applyField(field, to: $0) },
                            mustNot: n.map { applyField(field, to: $0) }, minimumShouldMatch: k)
        default: return q
        }
    }
}

private extension Unicode.Scalar {
    /// White space (ASCII answered without a property lookup).
    @inline(__always) var isWhitespace: Bool {
        value < 0x80 ? (value == 0x20 || (value >= 0x09 && value <= 0x0D)) : properties.isWhitespace
    }

    /// An ASCII digit (boosts, slops and edit distances are ASCII numbers).
    @inline(__always) var isNumber: Bool { value >= 0x30 && value <= 0x39 }
}
