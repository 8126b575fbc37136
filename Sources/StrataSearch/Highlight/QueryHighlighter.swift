#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Options of ``QueryHighlighter`` (Elasticsearch's highlight parameters).
public struct HighlightOptions: Sendable, Equatable {
    /// Approximate fragment length in characters (Unicode scalars); Elasticsearch's default is
    /// 100. A value of 0 or less highlights the whole value as one fragment.
    public var fragmentSize: Int = 100
    /// At most this many fragments per value: the windows with the most distinct matched
    /// clauses (then the most matches), returned in text order. 0 (or less) highlights the
    /// whole value as one fragment (Elasticsearch's semantics).
    public var numberOfFragments: Int = 5
    /// Inserted before each match (not encoded).
    public var preTag: String = "<em>"
    /// Inserted after each match (not encoded).
    public var postTag: String = "</em>"
    /// How the text around and inside the tags is written.
    public var encoder: HighlightEncoder = .none

    public init(fragmentSize: Int = 100, numberOfFragments: Int = 5, preTag: String = "<em>", postTag: String = "</em>",
                encoder: HighlightEncoder = .none) {
        self.fragmentSize = fragmentSize
        self.numberOfFragments = numberOfFragments
        self.preTag = preTag
        self.postTag = postTag
        self.encoder = encoder
    }
}

/// How ``QueryHighlighter`` writes the field's text into fragments.
public enum HighlightEncoder: Sendable, Equatable {
    /// The text as is (Elasticsearch's default).
    case none
    /// `&`, `<`, `>`, `"` and `'` in the text become `&amp;`, `&lt;`, `&gt;`, `&quot;` and
    /// `&#x27;`; the tags are inserted unchanged.
    case html
}

/// Marks where a query matches the text of a document's fields, as Elasticsearch's unified
/// highlighter does: each matching term is wrapped in the tags, each phrase match in one pair
/// of tags from its first to its last token; long values are cut into fragments around the
/// matches.
///
/// Only the positive clauses highlight (`must` and `should`, recursively; never `mustNot`):
/// terms (analyzed with the field's analyzer; a term analyzing to several tokens is a phrase,
/// as the searcher runs it), phrases (tokens in order at their relative positions within the
/// slop; with `prefixLast` the last word matches by prefix), prefixes and fuzzy terms. Ranges,
/// `exists`, match-all and numeric fields highlight nothing. Unqualified clauses address
/// `schema.searchFields`; clauses on unknown or numeric fields are ignored.
///
/// Each value is analyzed once; tokens are compared as borrowed bytes against the query's
/// pre-analyzed terms, and strings are built only for the chosen fragments. A highlighter keeps
/// analyzers and reusable buffers: use one per thread.
public struct QueryHighlighter {
    private let plans: [FieldPlan]
    private let planByName: [String: Int]
    private let scratch = HighlightScratch()

    /// `query` as parsed; `schema` resolves field names, analyzers and default fields
    /// (unqualified terms apply to `schema.searchFields`, exactly as the searcher does).
    public init(query: Query, schema: Schema) {
        var builder = PlanBuilder(schema: schema)
        builder.collect(query)
        plans = builder.plans.filter { !$0.singles.isEmpty || !$0.phrases.isEmpty }
        var byName: [String: Int] = [:]
        for (k, p) in plans.enumerated() { byName[p.name] = k }
        planByName = byName
    }

    /// Whether any highlightable clause addresses `field`.
    public func highlights(field: String) -> Bool { planByName[field] != nil }

    /// The fragments of `text` (the field's value) with matches wrapped in the tags; empty when
    /// nothing matches.
    public func fragments(field: String, text: String, options: HighlightOptions = HighlightOptions()) -> [String] {
        guard let k = planByName[field] else { return [] }
        var copy = text
        return copy.withUTF8 { fragments(plans[k], UnsafeRawBufferPointer($0), options) }
    }

    /// The fragments of `text` (the field's value as UTF-8 bytes) with matches wrapped in the
    /// tags; empty when nothing matches. Invalid UTF-8 is kept as bytes for matching and comes
    /// out as U+FFFD.
    public func fragments(field: String, utf8 text: UnsafeRawBufferPointer, options: HighlightOptions = HighlightOptions()) -> [String] {
        guard let k = planByName[field] else { return [] }
        return fragments(plans[k], text, options)
    }

    /// For a document given as a JSON object: every string value (nested objects → dotted
    /// paths, arrays → several values, as ``JSONDocument`` flattens them) of a text or keyword
    /// field the query highlights → its fragments (the values of one field concatenated in
    /// order, each value fragmented on its own). Fields without matches are absent; invalid
    /// JSON gives an empty result.
    public func fragments(json: UnsafeRawBufferPointer, options: HighlightOptions = HighlightOptions()) -> [String: [String]] {
        if plans.isEmpty { return [:] }
        let s = scratch
        do { try s.json.parse(json) } catch { return [:] }
        var out: [String: [String]] = [:]
        let entries = s.json.entries
        for e in entries where e.kind == .string {
            // A path feeds its own field and any multi-field sourced from it (`name.keyword`).
            s.json.withBytes(e) { path, value in
                for plan in plans where plan.sourceBytes.count == path.count && Self.equal(path, plan.sourceBytes) {
                    let found = fragments(plan, value, options)
                    if !found.isEmpty { out[plan.name, default: []].append(contentsOf: found) }
                }
            }
        }
        return out
    }

    // MARK: matching

    private func fragments(_ plan: FieldPlan, _ text: UnsafeRawBufferPointer, _ options: HighlightOptions) -> [String] {
        guard let base = text.baseAddress?.assumingMemoryBound(to: UInt8.self), text.count > 0 else { return [] }
        collectMarks(plan, text)
        if scratch.marks.isEmpty { return [] }
        return Fragmenter(p: base, n: text.count, marks: scratch.marks, options: options, scratch: scratch).fragments()
    }

    /// Analyzes the value once, records the tokens matching each unit, then turns single-unit
    /// clauses and phrase matches into marks (sorted, overlaps merged) in `scratch.marks`.
    private func collectMarks(_ plan: FieldPlan, _ text: UnsafeRawBufferPointer) {
        let s = scratch
        let units = plan.units
        s.reset(units: units.count)
        plan.analyzer.analyze(text) { t in
            for u in units.indices where s.matches(units[u], t.bytes) {
                s.hits[u].append(Hit(position: t.position, start: t.startOffset, end: t.endOffset))
            }
        }
        for single in plan.singles {
            let bit = UInt64(1) << UInt64(single.clause & 63)
            for h in s.hits[single.unit] where h.start < h.end { s.marks.append(Mark(start: h.start, end: h.end, clauses: bit)) }
        }
        for phrase in plan.phrases { matchPhrase(phrase) }
        if s.marks.count > 1 {
            s.marks.sort { $0.start < $1.start || ($0.start == $1.start && $0.end > $1.end) }
            var w = 0
            for r in 1 ..< s.marks.count {
                let m = s.marks[r]
                if m.start < s.marks[w].end {
                    s.marks[w].end = max(s.marks[w].end, m.end)
                    s.marks[w].clauses |= m.clauses
                } else {
                    w += 1
                    s.marks[w] = m
                }
            }
            s.marks.removeLast(s.marks.count - w - 1)
        }
    }

    /// Every match of a phrase: for each position of the first token (ascending), each later
    /// token's earliest position after the previous one and at or after its relative position,
    /// with at most `slop` extra positions in total (the searcher's rule, `Phrase.occurs`). One
    /// cursor per token suffices: the chosen positions only move forward.
    private func matchPhrase(_ phrase: PhrasePlan) {
        let s = scratch
        let k = phrase.units.count
        let first = s.hits[phrase.units[0]]
        if first.isEmpty { return }
        for e in 1 ..< k where s.hits[phrase.units[e]].isEmpty { return }
        s.cursors.removeAll(keepingCapacity: true)
        s.cursors.append(contentsOf: repeatElement(0, count: k))
        let bit = UInt64(1) << UInt64(phrase.clause & 63)
        for h0 in first {
            var budget = phrase.slop
            var prev = h0.position
            var start = h0.start, end = h0.end
            var ok = true
            for e in 1 ..< k {
                let want = h0.position + phrase.offsets[e]
                let list = s.hits[phrase.units[e]]
                var j = s.cursors[e]
                while j < list.count && (list[j].position <= prev || list[j].position < want) { j += 1 }
                s.cursors[e] = j
                if j == list.count { return }
                budget -= list[j].position - want
                if budget < 0 { ok = false; break }
                prev = list[j].position
                start = min(start, list[j].start)
                end = max(end, list[j].end)
            }
            if ok && start < end { s.marks.append(Mark(start: start, end: end, clauses: bit)) }
        }
    }

    static func equal(_ a: UnsafeRawBufferPointer, _ b: [UInt8]) -> Bool {
        if a.count != b.count { return false }
        if a.count == 0 { return true }
        return b.withUnsafeBytes { memcmp(a.baseAddress!, $0.baseAddress!, a.count) == 0 }
    }
}

// MARK: - the query, compiled per field

/// What a token must be to match: the bytes exactly, a prefix of it, or within `distance`
/// edits of it (Levenshtein on bytes, as the searcher's fuzzy terms).
struct HighlightUnit: Equatable {
    enum Kind: Equatable { case exact, prefix, fuzzy(Int) }
    var kind: Kind
    var bytes: [UInt8]
}

/// A phrase on one field: its tokens' units and positions relative to the first.
struct PhrasePlan: Equatable {
    var units: [Int]
    var offsets: [Int]
    var slop: Int
    var clause: Int
}

/// The highlightable clauses addressing one field.
final class FieldPlan {
    let field: Int
    let name: String
    /// The JSON path the field's values come from (its name, or a multi-field's source).
    let sourceBytes: [UInt8]
    let analyzer: Analyzer
    var units: [HighlightUnit] = []
    /// Units that highlight on their own (terms, prefixes, fuzzy terms) and their clause ids.
    var singles: [(unit: Int, clause: Int)] = []
    var phrases: [PhrasePlan] = []
    var clauseCount = 0

    init(field: Int, name: String, source: String?, analyzer: Analyzer) {
        self.field = field
        self.name = name
        sourceBytes = Array((source ?? name).utf8)
        self.analyzer = analyzer
    }

    func unit(_ u: HighlightUnit) -> Int {
        if let k = units.firstIndex(of: u) { return k }
        units.append(u)
        return units.count - 1
    }

    /// Adds units that highlight on their own as one clause (a repeated clause is one clause).
    func addSingles(_ list: [HighlightUnit]) {
        let ids = list.map(unit)
        if ids.isEmpty { return }
        if ids.allSatisfy({ id in singles.contains { $0.unit == id } }) { return }
        let clause = clauseCount
        clauseCount += 1
        for id in ids where !singles.contains(where: { $0.unit == id }) { singles.append((id, clause)) }
    }

    func addPhrase(_ tokens: [(HighlightUnit, Int)], slop: Int) {
        if tokens.isEmpty { return }
        if tokens.count == 1 { addSingles([tokens[0].0]); return }
        let ids = tokens.map { unit($0.0) }
        let offsets = tokens.map { $0.1 - tokens[0].1 }
        if phrases.contains(where: { $0.units == ids && $0.offsets == offsets && $0.slop == slop }) { return }
        phrases.append(PhrasePlan(units: ids, offsets: offsets, slop: max(0, slop), clause: clauseCount))
        clauseCount += 1
    }
}

/// Walks a query's positive clauses into per-field plans.
private struct PlanBuilder {
    let schema: Schema
    var plans: [FieldPlan] = []
    /// Fields analyzed alike share an analyzer.
    struct AnalyzerKey: Hashable { var kind: AnalyzerKind; var maxTokenLength: Int? }
    var analyzers: [AnalyzerKey: Analyzer] = [:]

    init(schema: Schema) { self.schema = schema }

    mutating func plan(_ field: Int) -> FieldPlan {
        if let p = plans.first(where: { $0.field == field }) { return p }
        let definition = schema.fields[field]
        let key = AnalyzerKey(kind: definition.type.analyzerKind, maxTokenLength: definition.maxTokenLength)
        let a: Analyzer
        if let existing = analyzers[key] { a = existing } else { a = definition.makeAnalyzer(); analyzers[key] = a }
        let p = FieldPlan(field: field, name: schema.fields[field].name, source: schema.fields[field].source, analyzer: a)
        plans.append(p)
        return p
    }

    /// The fields a clause addresses: the default search fields, or the named one; only text
    /// and keyword fields (unknown names: none).
    func targets(_ name: String?) -> [Int] {
        let fields: [Int]
        if let name { fields = schema.number(of: name).map { [$0] } ?? [] } else { fields = schema.searchFields }
        return fields.filter { $0 < schema.fields.count && schema.fields[$0].type.isInverted }
    }

    mutating func collect(_ q: Query) {
        switch q {
        case .matchAll, .exists, .range:
            return
        case let .boolean(must, should, _, _):
            for c in must { collect(c) }
            for c in should { collect(c) }
        case let .term(f, text):
            for field in targets(f) {
                let p = plan(field)
                p.addPhrase(analyzed(p.analyzer, text).map { (HighlightUnit(kind: .exact, bytes: $0.0), $0.1) }, slop: 0)
            }
        case let .phrase(f, text, slop, prefixLast):
            for field in targets(f) {
                let p = plan(field)
                if !prefixLast {
                    p.addPhrase(analyzed(p.analyzer, text).map { (HighlightUnit(kind: .exact, bytes: $0.0), $0.1) }, slop: slop)
                    continue
                }
                // As the searcher: the trailing run of letters and digits is a raw lowercased
                // prefix, one position after the analyzed rest.
                let scalars = Array(text.unicodeScalars)
                var cut = scalars.count
                while cut > 0 && CharacterSet.alphanumerics.contains(scalars[cut - 1]) { cut -= 1 }
                let last = String(String.UnicodeScalarView(scalars[cut...])).lowercased()
                if last.isEmpty { continue }
                var tokens = analyzed(p.analyzer, String(String.UnicodeScalarView(scalars[..<cut])))
                    .map { (HighlightUnit(kind: .exact, bytes: $0.0), $0.1) }
                tokens.append((HighlightUnit(kind: .prefix, bytes: Array(last.utf8)), (tokens.last?.1 ?? -1) + 1))
                p.addPhrase(tokens, slop: slop)
            }
        case let .prefix(f, text):
            for field in targets(f) {
                let p = plan(field)
                let bytes = normalized(p.analyzer, text)
                if !bytes.isEmpty { p.addSingles([HighlightUnit(kind: .prefix, bytes: bytes)]) }
            }
        case let .fuzzy(f, text, distance):
            for field in targets(f) {
                let p = plan(field)
                let d = max(0, distance)
                // The searcher's target (the lowercased raw text) and, when it differs, the
                // text as analyzed (e.g. stemmed) when that is one token.
                var units: [HighlightUnit] = []
                let raw = normalized(p.analyzer, text)
                if !raw.isEmpty { units.append(HighlightUnit(kind: .fuzzy(d), bytes: raw)) }
                let tokens = analyzed(p.analyzer, text)
                if tokens.count == 1 && tokens[0].0 != raw && !tokens[0].0.isEmpty {
                    units.append(HighlightUnit(kind: .fuzzy(d), bytes: tokens[0].0))
                }
                p.addSingles(units)
            }
        }
    }

    func analyzed(_ analyzer: Analyzer, _ text: String) -> [([UInt8], Int)] {
        var out: [([UInt8], Int)] = []
        var copy = text
        copy.withUTF8 { u in analyzer.analyze(UnsafeRawBufferPointer(u)) { out.append((Array($0.bytes), $0.position)) } }
        return out
    }

    /// Raw query text as the analyzer's terms spell it (the searcher's rule): lowercased,
    /// except for the keyword and whitespace analyzers, which keep case.
    func normalized(_ analyzer: Analyzer, _ text: String) -> [UInt8] { analyzer.rawQueryTerm(text) }
}

// MARK: - per-value state

/// A token matching a unit.
struct Hit {
    var position: Int
    var start: Int
    var end: Int
}

/// A byte range to wrap in the tags and the clauses (bits, by clause id modulo 64) it matched.
struct Mark {
    var start: Int
    var end: Int
    var clauses: UInt64
}

/// Buffers reused from value to value.
final class HighlightScratch {
    var hits: [[Hit]] = []
    var marks: [Mark] = []
    var cursors: [Int] = []
    var rows: [Int] = []
    var out: [UInt8] = []
    var json = JSONDocument()

    func reset(units: Int) {
        if hits.count < units { hits.append(contentsOf: repeatElement([], count: units - hits.count)) }
        for u in 0 ..< units { hits[u].removeAll(keepingCapacity: true) }
        marks.removeAll(keepingCapacity: true)
    }

    @inline(__always)
    func matches(_ u: HighlightUnit, _ token: UnsafeRawBufferPointer) -> Bool {
        switch u.kind {
        case .exact:
            return QueryHighlighter.equal(token, u.bytes)
        case .prefix:
            let n = u.bytes.count
            if token.count < n { return false }
            return QueryHighlighter.equal(UnsafeRawBufferPointer(rebasing: token[0 ..< n]), u.bytes)
        case let .fuzzy(d):
            return editDistance(u.bytes, token, limit: d) <= d
        }
    }

    /// Levenshtein distance of two byte strings, stopping early (returning `limit + 1`) once
    /// every cell of a row exceeds `limit`; two reused rows, no allocation after warm-up.
    func editDistance(_ a: [UInt8], _ b: UnsafeRawBufferPointer, limit: Int) -> Int {
        let m = b.count
        if abs(a.count - m) > limit { return limit + 1 }
        if a.isEmpty { return m }
        if m == 0 { return a.count }
        if rows.count < 2 * (m + 1) { rows = [Int](repeating: 0, count: 2 * (m + 1)) }
        return rows.withUnsafeMutableBufferPointer { r in
            var prev = 0, cur = m + 1
            for j in 0 ... m { r[prev + j] = j }
            for i in 1 ... a.count {
                r[cur] = i
                var best = i
                let ai = a[i - 1]
                for j in 1 ... m {
                    let v = min(r[prev + j] + 1, r[cur + j - 1] + 1, r[prev + j - 1] + (ai == b[j - 1] ? 0 : 1))
                    r[cur + j] = v
                    best = min(best, v)
                }
                if best > limit { return limit + 1 }
                swap(&prev, &cur)
            }
            return r[prev + m]
        }
    }
}

// MARK: - fragments

/// Cuts one value into fragments around its marks and writes them with the tags.
///
/// Whole value: when it has at most `fragmentSize` scalars, or `numberOfFragments` ≤ 0, or
/// `fragmentSize` ≤ 0. Otherwise windows are laid left to right, each at the first match not
/// yet covered: it starts `fragmentSize / 4` scalars before the match (not before the previous
/// window's end) and spans `fragmentSize` scalars, extended to cover any match it cuts. Both
/// ends snap to a word boundary (a separator: white space, punctuation or any other ASCII
/// character that is not a letter or digit) within `min(15, fragmentSize / 2)` scalars — the
/// start outward first, then inward; the end outward first, then inward — or stay where they
/// are (CJK text without separators is cut at scalar boundaries). Cuts fall only on scalar
/// boundaries (bytes that are not UTF-8 continuation bytes) and never inside a match. Windows
/// are ranked by distinct matched clauses, then matches, then position; the best
/// `numberOfFragments` are written in text order, white space trimmed at both ends.
private struct Fragmenter {
    let p: UnsafePointer<UInt8>
    let n: Int
    let marks: [Mark]
    let options: HighlightOptions
    let scratch: HighlightScratch

    struct Window {
        var start: Int
        var end: Int
        var marks: Range<Int>
        var distinct: Int
    }

    func fragments() -> [String] {
        let size = options.fragmentSize
        let pre = Array(options.preTag.utf8), post = Array(options.postTag.utf8)
        if size <= 0 || options.numberOfFragments <= 0 || !hasMoreScalars(than: size) {
            let (s, e) = trimmed(0, n, marks.indices)
            return [render(s, e, marks.indices, pre, post)]
        }
        let lead = size / 4, snap = min(15, size / 2)
        var windows: [Window] = []
        var prevEnd = 0
        var mi = 0
        while mi < marks.count {
            let m = marks[mi]
            var s = back(m.start, lead, floor: prevEnd)
            if !isStartBoundary(s) {
                if let b = scanStartBack(s, snap, floor: prevEnd) { s = b } else if let b = scanStartForward(s, snap, ceiling: m.start) { s = b }
            }
            var e = forward(s, size)
            if e < m.end { e = m.end }
            var last = mi
            func cover() {
                while last + 1 < marks.count && marks[last + 1].start < e {
                    last += 1
                    e = max(e, marks[last].end)
                }
            }
            cover()
            if e < n && !isEndBoundary(e) {
                if let b = scanEndForward(e, snap) { e = b; cover() } else if let b = scanEndBack(e, snap, floor: marks[last].end) { e = b }
            }
            var bits: UInt64 = 0
            for k in mi ... last { bits |= marks[k].clauses }
            let (ts, te) = trimmed(s, e, mi ..< last + 1)
            windows.append(Window(start: ts, end: te, marks: mi ..< last + 1, distinct: bits.nonzeroBitCount))
            prevEnd = e
            mi = last + 1
        }
        var order = Array(windows.indices)
        order.sort { a, b in
            let x = windows[a], y = windows[b]
            if x.distinct != y.distinct { return x.distinct > y.distinct }
            if x.marks.count != y.marks.count { return x.marks.count > y.marks.count }
            return a < b
        }
        let chosen = order.prefix(options.numberOfFragments).sorted()
        return chosen.map { k in render(windows[k].start, windows[k].end, windows[k].marks, pre, post) }
    }

    // Scalar navigation on the bytes: a scalar starts at any byte that is not a continuation
    // byte (a run of stray continuation bytes stays with what precedes it).

    @inline(__always) func isContinuation(_ i: Int) -> Bool { p[i] & 0xC0 == 0x80 }

    @inline(__always) func next(_ i: Int) -> Int {
        var j = i + 1
        while j < n && isContinuation(j) { j += 1 }
        return min(j, n)
    }

    @inline(__always) func prev(_ i: Int) -> Int {
        var j = i - 1
        while j > 0 && isContinuation(j) { j -= 1 }
        return max(j, 0)
    }

    /// The scalar starting at byte `i` (invalid UTF-8: U+FFFD).
    @inline(__always) func scalar(at i: Int) -> UInt32 { p[i] < 0x80 ? UInt32(p[i]) : Analyzer.decodeScalar(p, i, n).0 }

    func hasMoreScalars(than limit: Int) -> Bool {
        var count = 0
        for i in 0 ..< n where i == 0 || !isContinuation(i) {
            count += 1
            if count > limit { return true }
        }
        return false
    }

    /// `i` moved back `k` scalars, not below `floor`.
    func back(_ i: Int, _ k: Int, floor: Int) -> Int {
        var i = i
        for _ in 0 ..< k {
            if i <= floor { break }
            let j = prev(i)
            if j < floor { break }
            i = j
        }
        return i
    }

    /// `i` moved forward `k` scalars, not beyond the end.
    func forward(_ i: Int, _ k: Int) -> Int {
        var i = i, steps = 0
        while steps < k && i < n { i = next(i); steps += 1 }
        return i
    }

    static func isSeparator(_ s: UInt32) -> Bool {
        if s < 0x80 {
            let lower = s | 0x20
            return !((s >= 0x30 && s <= 0x39) || (lower >= 0x61 && lower <= 0x7A))
        }
        guard let u = Unicode.Scalar(s) else { return false }
        if u.properties.isWhitespace { return true }
        switch u.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation, .initialPunctuation,
             .finalPunctuation, .otherPunctuation: return true
        default: return false
        }
    }

    static func isWhitespace(_ s: UInt32) -> Bool {
        if s < 0x80 { return s == 0x20 || (s >= 0x09 && s <= 0x0D) }
        return Unicode.Scalar(s)?.properties.isWhitespace ?? false
    }

    /// A word starts at `i`: the text's start or after a separator.
    func isStartBoundary(_ i: Int) -> Bool { i == 0 || Self.isSeparator(scalar(at: prev(i))) }

    /// A word ends at `i`: the text's end, a separator at `i` or just before it.
    func isEndBoundary(_ i: Int) -> Bool {
        i >= n || Self.isSeparator(scalar(at: i)) || (i > 0 && Self.isSeparator(scalar(at: prev(i))))
    }

    func scanStartBack(_ i: Int, _ k: Int, floor: Int) -> Int? {
        var q = i
        for _ in 0 ..< k {
            if q <= floor { return nil }
            let j = prev(q)
            if j < floor { return nil }
            q = j
            if isStartBoundary(q) { return q }
        }
        return nil
    }

    func scanStartForward(_ i: Int, _ k: Int, ceiling: Int) -> Int? {
        var q = i
        for _ in 0 ..< k {
            q = next(q)
            if q > ceiling { return nil }
            if isStartBoundary(q) { return q }
        }
        return nil
    }

    func scanEndForward(_ i: Int, _ k: Int) -> Int? {
        var q = i
        for _ in 0 ..< k {
            q = next(q)
            if q >= n { return n }
            if Self.isSeparator(scalar(at: q)) { return q }
        }
        return nil
    }

    func scanEndBack(_ i: Int, _ k: Int, floor: Int) -> Int? {
        var q = i
        for _ in 0 ..< k {
            let j = prev(q)
            if j < floor || j == q { return nil }
            q = j
            if isEndBoundary(q) { return q }
        }
        return nil
    }

    /// `[s, e)` without white space at either end (never into a match).
    func trimmed(_ s: Int, _ e: Int, _ range: Range<Int>) -> (Int, Int) {
        var s = s, e = e
        let firstStart = range.isEmpty ? e : marks[range.lowerBound].start
        let lastEnd = range.isEmpty ? s : marks[range.upperBound - 1].end
        while s < firstStart && Self.isWhitespace(scalar(at: s)) { s = next(s) }
        while e > max(lastEnd, s) && Self.isWhitespace(scalar(at: prev(e))) { e = prev(e) }
        return (s, e)
    }

    func render(_ s: Int, _ e: Int, _ range: Range<Int>, _ pre: [UInt8], _ post: [UInt8]) -> String {
        let html = options.encoder == .html
        scratch.out.removeAll(keepingCapacity: true)
        func append(_ a: Int, _ b: Int) {
            guard a < b else { return }
            if !html {
                scratch.out.append(contentsOf: UnsafeBufferPointer(start: p + a, count: b - a))
                return
            }
            for i in a ..< b {
                switch p[i] {
                case UInt8(ascii: "&"): scratch.out.append(contentsOf: "&amp;".utf8)
                case UInt8(ascii: "<"): scratch.out.append(contentsOf: "&lt;".utf8)
                case UInt8(ascii: ">"): scratch.out.append(contentsOf: "&gt;".utf8)
                case UInt8(ascii: "\""): scratch.out.append(contentsOf: "&quot;".utf8)
                case UInt8(ascii: "'"): scratch.out.append(contentsOf: "&#x27;".utf8)
                case let b: scratch.out.append(b)
                }
            }
        }
        var cur = s
        for k in range {
            let m = marks[k]
            append(cur, m.start)
            scratch.out.append(contentsOf: pre)
            append(m.start, m.end)
            scratch.out.append(contentsOf: post)
            cur = m.end
        }
        append(cur, e)
        return String(decoding: scratch.out, as: UTF8.self)
    }
}
