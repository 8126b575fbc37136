import Foundation
import Testing
@_spi(Internals) @testable import StrataSearch

/// Random queries of every kind, nested up to three booleans deep (seeded, so a failure
/// repeats).
struct RandomQueries {
    private var r: UInt64
    /// Whether to use the Corpus schema's other fields (tags, n) besides the text field.
    let otherFields: Bool
    let textField: String

    init(seed: UInt64, otherFields: Bool, textField: String = "body") {
        r = seed
        self.otherFields = otherFields
        self.textField = textField
    }

    private mutating func next() -> UInt64 { r ^= r << 13; r ^= r >> 7; r ^= r << 17; return r }
    private mutating func word() -> String { Corpus.words[Int(next() % UInt64(Corpus.words.count))] }
    private mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }

    mutating func query(depth: Int) -> Query {
        switch below(depth == 0 ? 9 : 13) {
        case 0, 1: return .term(field: below(2) == 0 ? nil : textField, text: word())
        case 2: return .phrase(field: nil, text: "\(word()) \(word())", slop: below(3), prefixLast: false)
        case 3: return .phrase(field: nil, text: "\(word()) \(word()) \(word())", slop: 0, prefixLast: false)
        case 4: return .prefix(field: nil, text: String(word().prefix(1 + below(2))))
        case 5: return .phrase(field: nil, text: "\(word()) " + String(word().prefix(2)), slop: 0, prefixLast: true)
        case 6:
            let lo = word(), hi = word()
            return .range(field: textField, lower: min(lo, hi), upper: max(lo, hi), includeLower: below(2) == 0, includeUpper: below(2) == 0)
        case 7:
            if otherFields {
                switch below(4) {
                case 0: return .term(field: "tags", text: ["red", "green", "blue", "Black"][below(4)])
                case 1: return .term(field: "n", text: "\(below(100) - 20)")
                case 2:
                    let a = below(100) - 20
                    return .range(field: "n", lower: "\(a)", upper: "\(a + below(40))", includeLower: true, includeUpper: below(2) == 0)
                default: return .exists(field: "tags")
                }
            }
            return below(2) == 0 ? .exists(field: textField) : .matchAll
        case 8: return .fuzzy(field: nil, text: String(word().dropLast()), distance: 1 + below(2))
        default:
            let must = (0 ..< below(3)).map { _ in query(depth: depth - 1) }
            let should = (0 ..< below(4)).map { _ in query(depth: depth - 1) }
            let mustNot = (0 ..< below(2)).map { _ in query(depth: depth - 1) }
            let minimum = should.isEmpty ? 0 : [0, 1, 1, 2][below(4)]
            return .boolean(must: must, should: should, mustNot: mustNot, minimumShouldMatch: min(minimum, should.count))
        }
    }
}

@Suite struct MatchTreeTests {
    /// Every hit of `fast` scores what the reference gives that document, and both return as
    /// many hits (the same documents up to the order of equal scores).
    func expectSameHits(_ fast: [SearchHit], _ slow: [SearchHit], all: [SearchHit], _ what: String) {
        #expect(fast.count == slow.count, "\(what): \(fast.count) hits, the set-based path \(slow.count)")
        for (a, b) in zip(fast, slow) { #expect(abs(a.score - b.score) <= 1e-4 * max(1, b.score), "\(what): scores by rank") }
        let reference = Dictionary(all.map { ("\($0.segment)/\($0.document)", $0.score) }, uniquingKeysWith: { x, _ in x })
        for h in fast {
            let expected = reference["\(h.segment)/\(h.document)"]
            #expect(expected.map { abs($0 - h.score) <= 1e-4 * max(1, h.score) } ?? false, "\(what): hit \(h.segment)/\(h.document) scores \(h.score), the set-based path \(expected ?? -1)")
        }
    }

    /// Queries no `QueryPlan` shape covers (nested booleans, minimum-should-match, phrases,
    /// prefixes, fuzzy and range clauses mixed, numeric and keyword fields) run on match trees;
    /// their counts, top-k by score (documents and scores) and top-k by a field equal the
    /// set-based path's, over several segments with deletes and in restricted views (a run of a
    /// sorted field, and documents left out of an unsorted one).
    @Test func treesAgreeWithTheSetBasedPath() throws {
        let corpus = Corpus(count: 5000, seed: 23)
        let index = try SearchIndex(directory: tempDirectory("tree"), schema: Corpus.schema(), options: .init(bufferBytes: 250_000))
        for d in corpus.docs { try index.add(json: corpus.json(d)) }
        try index.commit()
        #expect(index.segmentCount >= 2)
        try index.delete(QueryParser.parse("n:[0 TO 4]"))
        func views(plans: Bool) throws -> [IndexSearcher] {
            let whole = index.searcher()
            whole.usePlans = plans
            return [whole, try whole.restricted(field: "id", lower: 700, upper: 3900), try whole.restricted(field: "n", lower: 10, upper: 60)]
        }
        let engine = try views(plans: true), reference = try views(plans: false)
        var generator = RandomQueries(seed: 0x5eed, otherFields: true)
        var trees = 0, matched = 0
        for round in 0 ..< 160 {
            let query = generator.query(depth: 3)
            let fast = engine[round % engine.count], slow = reference[round % reference.count]
            if try fast.plan(query) == nil { trees += 1 }
            let count = try fast.count(query)
            #expect(count == (try slow.count(query)), "count of \(query)")
            if count > 0 { matched += 1 }
            let all = try slow.search(query, limit: 100_000)
            #expect(all.count == count, "every match is a hit: \(query)")
            for k in [1, 10, 500] {
                expectSameHits(try fast.search(query, limit: k), try slow.search(query, limit: k), all: all, "\(query) top \(k)")
            }
            let byX = SearchSort.field("x", descending: round % 2 == 0)
            #expect(try fast.search(query, limit: 20, sort: byX).map(\.sortValue) == slow.search(query, limit: 20, sort: byX).map(\.sortValue), "\(query) by x")
        }
        #expect(trees >= 100, "most random shapes run on match trees (\(trees) of 160)")
        #expect(matched >= 80, "most random queries match something (\(matched) of 160)")
    }

    /// A clause scores only where it matches: in `(+a +b) OR c` a document with a and c but not
    /// b scores c alone (the set-based path before the match tree added a's score there, as it
    /// summed every positive term over every match).
    @Test func clausesScoreOnlyWhereTheyMatch() throws {
        let schema = try Schema(fields: [FieldDefinition("body", .text(.standard))])
        let index = try SearchIndex(directory: tempDirectory("tree-scores"), schema: schema)
        for body in ["apple banana", "apple cherry", "cherry", "date", "banana cherry apple", "apple ban"] { try index.add(["body": .string(body)]) }
        try index.refresh()
        let s = index.searcher()
        func scores(_ q: String) throws -> [UInt32: Float] {
            Dictionary(uniqueKeysWithValues: try s.search(QueryParser.parse(q), limit: 10).map { ($0.document, $0.score) })
        }
        let combined = try scores("(+apple +banana) OR cherry"), cherry = try scores("cherry"), both = try scores("+apple +banana")
        #expect(Set(combined.keys) == [0, 1, 2, 4])
        #expect(abs(combined[1]! - cherry[1]!) < 1e-6, "doc 1 matches through cherry only: apple does not score there")
        #expect(abs(combined[0]! - both[0]!) < 1e-6)
        #expect(abs(combined[4]! - (both[4]! + cherry[4]!)) < 1e-5, "doc 4 matches both clauses: their sum")
        // A phrase that does not occur adds nothing, though its words are in the document.
        let phrase = try scores("\"banana apple\" OR date")
        #expect(Set(phrase.keys) == [3], "only date matches; \"banana apple\" occurs nowhere in order")
        // A phrase prefix scores the terms of its text where the document has them: "ban" is a
        // term of document 5 only, so document 0 ("apple banana") scores apple alone.
        let prefix = try scores("\"apple ban*\""), apple = try scores("apple")
        #expect(Set(prefix.keys) == [0, 5])
        #expect(abs(prefix[0]! - apple[0]!) < 1e-6 && prefix[5]! > apple[5]!)
        // Should clauses beside a must clause score where they match, and minimum-should-match counts clauses.
        let optional = try scores("+cherry apple")
        #expect(abs(optional[2]! - cherry[2]!) < 1e-6 && optional[1]! > cherry[1]!)
        #expect(try s.count(.boolean(must: [], should: [.term(field: nil, text: "apple"), .term(field: nil, text: "banana"), .term(field: nil, text: "cherry")],
                                     mustNot: [], minimumShouldMatch: 2)) == 3)
    }

    /// The memory buffer, a lone segment file and a searcher's segment run the same engine:
    /// counts and top-k (documents and scores) agree on random queries, the searcher's
    /// set-based path as the reference.
    @Test func everyIndexKindRunsTheSameEngine() throws {
        let corpus = Corpus(count: 1500, seed: 31)
        let memory = MemoryIndex(analyzer: Analyzer(.standard), field: "message")
        for d in corpus.docs { memory.add(d.body) }
        let path = tempPath("tree-kinds.seg")
        try SegmentWriter.write(memory, to: path)
        let file = SegmentSearcher(segment: try IndexSegment(path: path), analyzer: Analyzer(.standard), field: "message")
        let index = try SearchIndex(directory: tempDirectory("tree-kinds"), schema: Schema(fields: [FieldDefinition("message", .text(.standard))]))
        for d in corpus.docs { try index.add(["message": .string(d.body)]) }
        try index.refresh()
        let fast = index.searcher(), slow = index.searcher()
        slow.usePlans = false
        #expect(fast.segmentCount == 1)
        var generator = RandomQueries(seed: 77, otherFields: false, textField: "message")
        for _ in 0 ..< 120 {
            let query = generator.query(depth: 2)
            let count = try slow.count(query)
            #expect(try memory.count(query) == count && file.count(query) == count && fast.count(query) == count, "count of \(query)")
            let all = try slow.search(query, limit: 100_000)
            let reference = try slow.search(query, limit: 10)
            func asHits(_ h: [MemoryIndex.Hit]) -> [SearchHit] { h.map { SearchHit(segment: 0, document: $0.document, score: $0.score, sortValue: nil) } }
            expectSameHits(asHits(try memory.search(query, limit: 10)), reference, all: all, "memory buffer: \(query)")
            expectSameHits(asHits(try file.search(query, limit: 10)), reference, all: all, "segment file: \(query)")
            expectSameHits(try fast.search(query, limit: 10), reference, all: all, "searcher: \(query)")
        }
        // Raw-term top-k of the buffer and of a segment file (what relevance runs use).
        let terms = [Array("error".utf8), Array("kafka".utf8), Array("error".utf8)]
        let a = memory.search("error kafka error", limit: 20), b = try file.segment.search(terms: terms, limit: 20)
        #expect(a.count == 20 && a.map(\.document) == b.map(\.document))
        for (x, y) in zip(a, b) { #expect(abs(x.score - y.score) <= 1e-5) }
    }

    /// Long should lists (a heap of children beyond `MatchTree.linearDisjunctionLimit`): beside
    /// a must clause, alone, with minimum-should-match 1–3, with phrases and excluded clauses
    /// among them — counts and top-k equal the set-based path's.
    @Test func longShouldListsRunOnAHeap() throws {
        let corpus = Corpus(count: 4000, seed: 41)
        let index = try SearchIndex(directory: tempDirectory("tree-heap"), schema: Corpus.schema(), options: .init(bufferBytes: 200_000))
        for d in corpus.docs { try index.add(json: corpus.json(d)) }
        try index.commit()
        try index.delete(QueryParser.parse("n:[0 TO 2]"))
        let fast = index.searcher(), slow = index.searcher()
        slow.usePlans = false
        let words = Corpus.words
        var shoulds: [Query] = words.map { .term(field: nil, text: $0) }
        shoulds += [.phrase(field: nil, text: "error warn", slop: 0, prefixLast: false), .phrase(field: nil, text: "disk crash", slop: 1, prefixLast: false),
                    .prefix(field: nil, text: "ka"), .term(field: "tags", text: "red"), .term(field: "n", text: "7")]
        #expect(shoulds.count > MatchTree.linearDisjunctionLimit)
        var queries: [Query] = []
        for minimum in [0, 1, 2, 3] {
            queries.append(.boolean(must: [.term(field: nil, text: "kafka")], should: shoulds, mustNot: [], minimumShouldMatch: minimum))
            queries.append(.boolean(must: [], should: shoulds, mustNot: [.term(field: nil, text: "log")], minimumShouldMatch: max(1, minimum)))
        }
        queries.append(.boolean(must: [.phrase(field: nil, text: "index offset", slop: 2, prefixLast: false)],
                                should: Array(shoulds.dropFirst(3)), mustNot: [.prefix(field: nil, text: "cr")], minimumShouldMatch: 2))
        for q in queries {
            #expect(try fast.plan(q) == nil)
            #expect(try fast.count(q) == slow.count(q), "count of \(q)")
            let all = try slow.search(q, limit: 100_000)
            for k in [10, 300] { expectSameHits(try fast.search(q, limit: k), try slow.search(q, limit: k), all: all, "\(q) top \(k)") }
        }
    }

}
