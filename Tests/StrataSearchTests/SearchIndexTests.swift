import Foundation
import Testing
import StrataIO
@_spi(Internals) @testable import StrataSearch

func tempDirectory(_ tag: String) -> String {
    let dir = NSTemporaryDirectory() + "strata-idx-\(tag)-\(getpid())-\(UInt32.random(in: 0 ... .max))"
    try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

/// A deterministic corpus: text, a keyword tag, an integer, a float and a timestamp per doc.
struct Corpus {
    struct Doc { var id: Int64; var body: String; var tags: [String]; var n: Int64; var x: Double; var ts: Int64 }
    var docs: [Doc] = []
    static let words = ["log", "segment", "index", "error", "warn", "kafka", "block", "offset", "record", "batch", "disk", "crash"]

    init(count: Int, seed: UInt64 = 7) {
        var r = seed
        func next() -> UInt64 { r ^= r << 13; r ^= r >> 7; r ^= r << 17; return r }
        for i in 0 ..< count {
            let body = (0 ..< 3 + Int(next() % 8)).map { _ in Self.words[Int(next() % UInt64(Self.words.count))] }.joined(separator: " ")
            let tags = (0 ..< Int(next() % 3)).map { _ in ["red", "green", "blue", "Black"][Int(next() % 4)] }
            docs.append(Doc(id: Int64(i), body: body, tags: tags, n: Int64(next() % 100) - 20, x: Double(next() % 1000) / 10,
                            ts: 1_790_000_000_000 + Int64(next() % (90 * 86_400_000))))
        }
    }

    func json(_ d: Doc) -> String {
        let tags = d.tags.map { "\"\($0)\"" }.joined(separator: ",")
        return #"{"id":\#(d.id),"body":"\#(d.body)","tags":[\#(tags)],"n":\#(d.n),"x":\#(d.x),"ts":"\#(SearchIndexTestsSupport.iso(d.ts))"}"#
    }

    static func schema() throws -> Schema {
        try Schema(fields: [FieldDefinition("id", .i64), FieldDefinition("body", .text(.standard)), FieldDefinition("tags", .keyword),
                            FieldDefinition("n", .i64), FieldDefinition("x", .f64), FieldDefinition("ts", .timestamp)],
                   dynamic: .strict)
    }
}

enum SearchIndexTestsSupport {
    static func iso(_ ms: Int64) -> String { IndexSearcher.iso(ms) }
}

/// A corpus of `count` documents added to a new index with a small buffer (several segments).
func indexedCorpus(_ count: Int, _ tag: String, bufferBytes: Int) throws -> (Corpus, SearchIndex) {
    let corpus = Corpus(count: count)
    let index = try SearchIndex(directory: tempDirectory(tag), schema: Corpus.schema(), options: .init(bufferBytes: bufferBytes))
    for d in corpus.docs { try index.add(json: corpus.json(d)) }
    return (corpus, index)
}

/// The ids of the hits, resolved through the `id` doc values.
func ids(_ s: IndexSearcher, _ hits: [SearchHit]) -> [Int64] { hits.map { s.integerValue("id", of: $0)! } }

@Suite struct SearchIndexTests {
    /// Committed deletes are read through a mapping of the deletes file; the writer deletes
    /// more on its own copy while searchers keep the bitmap of their snapshot.
    @Test func deletesAreMappedAndSnapshotted() throws {
        let dir = tempDirectory("deletes-mapped")
        let corpus = Corpus(count: 300)
        let index = try SearchIndex(directory: dir, schema: Corpus.schema())
        for d in corpus.docs { try index.add(json: corpus.json(d)) }
        try index.commit()
        let kafka = corpus.docs.filter { $0.body.split(separator: " ").contains("kafka") }.map { UInt32($0.id) }
        let error = corpus.docs.filter { $0.body.split(separator: " ").contains("error") }.map { UInt32($0.id) }
        #expect(try index.delete(.term(field: "body", text: "kafka")) == kafka.count)
        try index.commit()
        index.close()

        let reopened = try SearchIndex(directory: dir)
        let mapped = reopened.searcher()
        let deletes = try #require(mapped.segments.first?.deletes)
        #expect(deletes.count == kafka.count)
        for d in 0 ..< UInt32(corpus.docs.count) { #expect(deletes.contains(d) == kafka.contains(d)) }
        // More deletes on top of the mapped bitmap: the earlier snapshot does not change.
        let both = Set(kafka).union(error)
        #expect(try reopened.delete(.term(field: "body", text: "error")) == both.count - kafka.count)
        #expect(mapped.documentCount == corpus.docs.count - kafka.count)
        #expect(reopened.searcher().documentCount == corpus.docs.count - both.count)
        try reopened.commit()
        reopened.close()
        let readOnly = try SearchIndex.openSearcher(directory: dir)
        #expect(readOnly.documentCount == corpus.docs.count - both.count)
        // (The commit may have merged the deletes away: the merge policy rewrites a segment
        // with many deleted documents.)
        #expect(try readOnly.count(.term(field: "body", text: "kafka")) == 0 && readOnly.count(.term(field: "body", text: "error")) == 0)
    }

    @Test func dynamicMappingGuessesTypesFromJSON() throws {
        let dir = tempDirectory("dyn")
        let index = try SearchIndex(directory: dir)
        try index.add(json: #"{"msg":"disk full","level":3,"ratio":0.5,"ok":true,"at":"2026-11-22T06:11:28Z","host":{"name":"a1"},"tags":["x","y"],"none":null}"#)
        let s = index.schema
        #expect(s.field("msg")?.type == .text(.standard))
        #expect(s.field("level")?.type == .i64)
        #expect(s.field("ratio")?.type == .f64)
        #expect(s.field("ok")?.type == .keyword)
        #expect(s.field("at")?.type == .timestamp)
        #expect(s.field("host.name")?.type == .text(.standard))
        #expect(s.field("tags")?.type == .text(.standard))
        #expect(s.field("none") == nil)
        try index.commit()
        index.close()
        // The schema is stored with the commit.
        let reopened = try SearchIndex(directory: dir)
        #expect(reopened.schema == s)
        let searcher = reopened.searcher()
        #expect(try searcher.count(QueryParser.parse("host.name:a1 AND level:3 AND at:>=2026-11-22")) == 1)
        #expect(try searcher.count(QueryParser.parse("tags:y")) == 1)
    }

    @Test func rejectedDocumentsChangeNothing() throws {
        let index = try SearchIndex(directory: tempDirectory("reject"), schema: Corpus.schema())
        try index.add(json: #"{"id":1,"body":"kept","n":5}"#)
        let schemaBefore = index.schema
        #expect(throws: StrataError.self) { try index.add(json: #"{"id":2,"body":"bad","n":"five"}"#) }
        #expect(throws: StrataError.self) { try index.add(json: #"{"id":2,"body":"bad","unknown":1}"#) }  // strict
        #expect(throws: StrataError.self) { try index.add(json: #"{"id":2,"body":"bad""#) }  // truncated JSON
        #expect(throws: StrataError.self) { try index.add(json: #"["not an object"]"#) }
        #expect(index.schema == schemaBefore)
        try index.refresh()
        let s = index.searcher()
        #expect(s.documentCount == 1)
        #expect(try s.count(.term(field: nil, text: "bad")) == 0)
        do { try index.add(json: #"{"id":"x"}"#); Issue.record("expected an error") } catch let e as StrataError {
            #expect("\(e)".contains("field 'id' is i64"), "\(e)")
        }
    }

    /// The same corpus split into many segments (small buffer, refreshes), merged into one, or
    /// kept in one MemoryIndex gives the same counts, the same top hits and the same scores.
    @Test func segmentsMergesAndTheMemoryIndexAgree() throws {
        let corpus = Corpus(count: 2500)
        let dir = tempDirectory("agree")
        let index = try SearchIndex(directory: dir, schema: Corpus.schema(), options: .init(bufferBytes: 40_000, mergePolicy: TieredMergePolicy(mergeFactor: 1000)))
        let reference = MemoryIndex(analyzer: Analyzer(.standard), field: "body")
        for (i, d) in corpus.docs.enumerated() {
            try index.add(json: corpus.json(d))
            reference.add(d.body)
            if i % 700 == 0 { try index.refresh() }
        }
        try index.commit()
        #expect(index.segmentCount > 5, "a small buffer makes many segments (\(index.segmentCount))")
        let queries = ["error", "kafka AND disk", "\"disk crash\"", "log OR offset", "inde*", "crash -kafka", "\"error warn\"~2", "recrod~1", "body:[error TO kafka]", "+block +record +batch"]
        func check(_ s: IndexSearcher, _ label: String) throws {
            #expect(s.documentCount == corpus.docs.count)
            for q in queries {
                let query = try QueryParser.parse(q)
                let expected = try reference.count(query)
                #expect(try s.count(query) == expected, "\(label) count of \(q)")
                let hits = try s.search(query, limit: 10)
                let refHits = try reference.search(query, limit: 10)
                #expect(hits.count == refHits.count, "\(label) top 10 of \(q)")
                for (h, r) in zip(hits, refHits) { #expect(abs(h.score - r.score) < 1e-4 * max(1, r.score), "\(label) score of \(q)") }
                // The same documents, up to the order of scores equal within rounding.
                let refScore = Dictionary(uniqueKeysWithValues: try reference.search(query, limit: 100_000).map { (Int64($0.document), $0.score) })
                for (id, h) in zip(ids(s, hits), hits) {
                    #expect(abs((refScore[id] ?? -1) - h.score) < 1e-4 * max(1, h.score), "\(label) \(q): doc \(id) scores as in the reference")
                }
            }
        }
        try check(index.searcher(), "segments")
        try index.forceMerge(maxSegments: 1)
        #expect(index.segmentCount == 1)
        try check(index.searcher(), "merged")
        index.close()
        try check(SearchIndex(directory: dir).searcher(), "reopened")
    }

    @Test func deletesAreVisibleDurableAndMergedAway() throws {
        let corpus = Corpus(count: 600)
        let dir = tempDirectory("del")
        let index = try SearchIndex(directory: dir, schema: Corpus.schema(), options: .init(mergePolicy: TieredMergePolicy(mergeFactor: 1000)))
        for (i, d) in corpus.docs.enumerated() {
            try index.add(json: corpus.json(d))
            if i == 300 { try index.commit() }
        }
        let kafka = corpus.docs.filter { $0.body.split(separator: " ").contains("kafka") }.count
        let deleted = try index.delete(.term(field: "body", text: "kafka"))
        #expect(deleted == kafka && kafka > 0)
        #expect(try index.delete(.term(field: "body", text: "kafka")) == 0, "deleting again deletes nothing")
        #expect(index.searcher().documentCount == 600 - kafka)
        #expect(try index.searcher().count(.term(field: nil, text: "kafka")) == 0)
        // Delete by a numeric range too.
        let negative = corpus.docs.filter { $0.n < 0 && !$0.body.split(separator: " ").contains("kafka") }.count
        #expect(try index.delete(QueryParser.parse("n:<0")) == negative)
        try index.commit(userData: ["log.offset": "600"])
        index.close()
        let reopened = try SearchIndex(directory: dir, options: .init(mergePolicy: TieredMergePolicy(mergeFactor: 1000)))
        #expect(reopened.committedUserData == ["log.offset": "600"])
        #expect(reopened.searcher().documentCount == 600 - kafka - negative)
        let beforeSearcher = reopened.searcher()
        let before = ids(beforeSearcher, try beforeSearcher.search(.term(field: nil, text: "error"), limit: 1000)).sorted()
        try reopened.forceMerge()
        let s = reopened.searcher()
        #expect(s.segments.count == 1 && s.segments[0].reader.documentCount == 600 - kafka - negative && s.segments[0].deletes == nil)
        #expect(ids(s, try s.search(.term(field: nil, text: "error"), limit: 1000)).sorted() == before)
        // Only the live files remain.
        let files = try FileSystem.list(dir).sorted()
        #expect(files.filter { $0.hasPrefix("manifest-") }.count == 1)
        #expect(!files.contains { $0.hasSuffix(".del") || $0.hasSuffix(".tmp") }, "\(files)")
    }

    /// Term deletes do not flush: documents buffered before the delete go, documents added
    /// after it stay; committed segments are hit at once; `update` replaces.
    @Test func bufferedTermDeletesAndUpdates() throws {
        let index = try SearchIndex(directory: tempDirectory("update"), schema: Corpus.schema())
        try index.add(json: #"{"id":1,"tags":"x","body":"first"}"#)
        try index.commit()                                   // id 1 in a committed segment
        try index.add(json: #"{"id":2,"tags":"x","body":"second"}"#)
        try index.add(json: #"{"id":3,"tags":"y","body":"third"}"#)
        try index.delete(field: "tags", value: "x")          // ids 1 and 2
        #expect(index.bufferedDocuments == 2, "no flush")
        try index.add(json: #"{"id":4,"tags":"x","body":"fourth"}"#)
        try index.update(field: "tags", value: "y", with: ["id": 5, "tags": "y", "body": "fifth"])
        try index.commit()
        let s = index.searcher()
        #expect(Set(ids(s, try s.search(.matchAll, limit: 10))) == [4, 5])
        #expect(throws: StrataError.self) { try index.delete(field: "tags", value: "") }
        #expect(throws: StrataError.self) { try index.delete(field: "id", value: "1") }
        #expect(throws: StrataError.self) { try index.delete(field: "body", value: "two words") }
    }

    @Test func uncommittedChangesAreLostOnReopen() throws {
        let dir = tempDirectory("uncommitted")
        let index = try SearchIndex(directory: dir, schema: Corpus.schema())
        try index.add(json: #"{"id":1,"body":"first"}"#)
        try index.commit()
        try index.add(json: #"{"id":2,"body":"second"}"#)
        try index.refresh()
        #expect(index.searcher().documentCount == 2)
        #expect(throws: StrataError.self) { _ = try SearchIndex(directory: dir) }  // one writer
        index.close()
        let reopened = try SearchIndex(directory: dir)
        #expect(reopened.searcher().documentCount == 1)
        #expect(try FileSystem.list(dir).filter { $0.hasPrefix("s0000000002") }.isEmpty, "the uncommitted segment's files are removed")
    }

    @Test func sortByNumericFieldAndNumericQueries() throws {
        let (corpus, index) = try indexedCorpus(400, "sort", bufferBytes: 20_000)
        try index.refresh()
        let s = index.searcher()
        let errors = corpus.docs.filter { $0.body.contains("error") }
        for descending in [false, true] {
            let hits = try s.search(.term(field: "body", text: "error"), limit: 15, sort: .field("ts", descending: descending))
            let expected = errors.sorted { descending ? ($0.ts, -$0.id) > ($1.ts, -$1.id) : ($0.ts, $0.id) < ($1.ts, $1.id) }.prefix(15).map(\.id)
            #expect(ids(s, hits) == Array(expected))
        }
        #expect(try s.count(QueryParser.parse("n:[10 TO 20]")) == corpus.docs.filter { (10 ... 20).contains($0.n) }.count)
        #expect(try s.count(QueryParser.parse("x:>50.5")) == corpus.docs.filter { $0.x > 50.5 }.count)
        #expect(try s.count(QueryParser.parse("n:7")) == corpus.docs.filter { $0.n == 7 }.count)
        #expect(try s.count(QueryParser.parse("tags:Black")) == corpus.docs.filter { $0.tags.contains("Black") }.count, "keywords keep case")
        #expect(try s.count(QueryParser.parse("tags:black")) == 0)
        #expect(throws: QueryError.self) { try s.count(QueryParser.parse("n:1*")) }
        #expect(throws: QueryError.self) { try s.count(QueryParser.parse("nope:1")) }
    }

    /// Prefix, fuzzy, range, exists, match-all and numeric clauses score a constant 1 per
    /// matching clause (Lucene's constant-score rewrites); term clauses add BM25 on top.
    @Test func constantScoreClauses() throws {
        let (corpus, index) = try indexedCorpus(300, "const", bufferBytes: 1 << 20)
        try index.refresh()
        let s = index.searcher()
        #expect(try s.search(QueryParser.parse("inde*"), limit: 1000).allSatisfy { $0.score == 1 })
        #expect(try s.search(.matchAll, limit: 1000).allSatisfy { $0.score == 1 })
        #expect(try s.search(QueryParser.parse("n:[0 TO 10] AND x:>5"), limit: 1000).allSatisfy { $0.score == 2 })
        let termOnly = Dictionary(uniqueKeysWithValues: try s.search(QueryParser.parse("error"), limit: 1000).map { (ids(s, [$0])[0], $0.score) })
        let mixed = try s.search(QueryParser.parse("error OR inde*"), limit: 1000)
        #expect(mixed.count == corpus.docs.filter { $0.body.contains("error") || $0.body.contains("index") }.count)
        for h in mixed {
            let id = ids(s, [h])[0], d = corpus.docs[Int(id)]
            let expected = (termOnly[id] ?? 0) + (d.body.contains("index") ? 1 : 0)
            #expect(abs(h.score - expected) < 1e-5, "doc \(id)")
        }
    }

    @Test func aggregationsMatchABruteForceCount() throws {
        let (corpus, index) = try indexedCorpus(900, "agg", bufferBytes: 30_000)
        try index.commit()
        let s = index.searcher()
        let matching = corpus.docs.filter { $0.body.contains("block") }
        let r = try s.aggregate(.term(field: "body", text: "block"), [
            "tags": .terms(field: "tags", size: 3), "n": .stats(field: "n"), "hist": .histogram(field: "n", interval: 25),
            "days": .dateHistogram(field: "ts", interval: .day), "months": .dateHistogram(field: "ts", interval: .month),
        ])
        var tagCounts: [String: Int] = [:]
        for d in matching { for t in Set(d.tags) { tagCounts[t, default: 0] += 1 } }
        let expectedTags = tagCounts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
        #expect(r["tags"] == .buckets(expectedTags.prefix(3).map { Bucket(key: $0.key, numericKey: nil, count: $0.value) },
                                      otherCount: expectedTags.dropFirst(3).reduce(0) { $0 + $1.value }))
        #expect(r["n"] == .stats(Stats(count: matching.count, min: Double(matching.map(\.n).min()!), max: Double(matching.map(\.n).max()!),
                                       sum: Double(matching.map(\.n).reduce(0, +)))))
        guard case let .buckets(hist, _) = r["hist"], case let .buckets(days, _) = r["days"], case let .buckets(months, _) = r["months"] else {
            Issue.record("bucket results expected"); return
        }
        #expect(hist.first?.key == "-25" && hist.reduce(0) { $0 + $1.count } == matching.count)
        for b in hist { #expect(b.count == matching.filter { Double($0.n) >= b.numericKey! && Double($0.n) < b.numericKey! + 25 }.count) }
        #expect(days.reduce(0) { $0 + $1.count } == matching.count && days.count > 80, "empty days between the first and last are kept")
        for b in days.prefix(10) { #expect(b.count == matching.filter { $0.ts >= Int64(b.numericKey!) && $0.ts < Int64(b.numericKey!) + 86_400_000 }.count) }
        #expect(months.map(\.key).allSatisfy { $0.hasSuffix("-01T00:00:00.000Z") } && months.reduce(0) { $0 + $1.count } == matching.count)
    }

    @Test func dateArithmeticRoundTrips() {
        for days in stride(from: -800_000, through: 800_000, by: 997) {
            let c = Timestamp.civil(days: days)
            #expect(Timestamp.days(year: c.year, month: c.month, day: c.day) == days)
        }
        #expect(Timestamp.parse("1970-01-01T00:00:00Z") == 0)
        #expect(Timestamp.parse("2026-11-22T06:11:28.125+01:00") == Timestamp.parse("2026-11-22T05:11:28.125Z"))
        #expect(Timestamp.parse("2026-02-30") == nil)
        #expect(Timestamp.parse("2026-11-22T25:00") == nil)
        #expect(IndexSearcher.bucketStart(Timestamp.parse("2026-11-22T06:00:00Z")!, .week) == Timestamp.parse("2026-11-16")!, "ISO weeks start on Monday")
        #expect(IndexSearcher.iso(Timestamp.parse("2024-02-29T23:59:59.5Z")!) == "2024-02-29T23:59:59.500Z")
    }

    @Test func jsonParserHandlesEscapesAndRejectsGarbage() throws {
        var d = JSONDocument()
        try #"{"a":"x\"y\\z\u00e9\ud83d\ude00\n","b":-12,"c":1.5e3,"d":[1,[2]],"e":{"f":{"g":false}}}"#.utf8CString.withUnsafeBytes { raw in
            try d.parse(UnsafeRawBufferPointer(rebasing: raw.dropLast()))
        }
        let values = d.entries.map { e in d.withBytes(e) { p, v in String(decoding: p, as: UTF8.self) + "=" + String(decoding: v, as: UTF8.self) } }
        #expect(values == ["a=x\"y\\zé😀\n", "b=-12", "c=1.5e3", "d=1", "d=2", "e.f.g=false"])
        #expect(d.entries[1].integer == -12 && d.entries[2].double == 1500)
        for bad in [#"{"a":}"#, #"{"a":1,}"#, #"{"a":01}"#, #"{"a":"\x"}"#, #"{"a":tru}"#, #"{"a":1} x"#, "{\"a\":\"\u{1}\"}", String(repeating: "[", count: 100)] {
            var copy = bad
            #expect(throws: StrataError.self, "\(bad)") { try copy.withUTF8 { try d.parse(UnsafeRawBufferPointer($0)) } }
        }
    }

    /// Strings are scanned eight bytes at a time until a quote, backslash or control byte: random
    /// strings with escapes and raw bytes of every value at every offset parse back to exactly
    /// what was encoded, and a raw control byte anywhere is still refused.
    @Test func jsonStringsScanWordsAndStopAtEveryEscape() throws {
        var rng = SystemRandomNumberGenerator()
        var d = JSONDocument()
        let plain: [UInt8] = Array("abcXYZ019 ~é".utf8) + [0x7F, 0xC3, 0xA9]
        for _ in 0 ..< 600 {
            var value: [UInt8] = [], encoded: [UInt8] = Array(#"{"s":""#.utf8)
            for _ in 0 ..< Int.random(in: 0 ..< 70, using: &rng) {
                switch Int.random(in: 0 ..< 10, using: &rng) {
                case 0: value.append(0x22); encoded += Array(#"\""#.utf8)
                case 1: value.append(0x5C); encoded += Array(#"\\"#.utf8)
                case 2: let c = UInt8.random(in: 0 ..< 0x20, using: &rng); value.append(c); encoded += Array(String(format: "\\u%04x", c).utf8)
                default: let b = plain.randomElement(using: &rng)!; value.append(b); encoded.append(b)
                }
            }
            encoded += Array(#""}"#.utf8)
            try encoded.withUnsafeBytes { try d.parse($0) }
            #expect(d.entries.count == 1)
            let parsed = d.withBytes(d.entries[0]) { _, v in Array(v) }
            #expect(parsed == value, "\(String(decoding: encoded, as: UTF8.self))")
            // The same text with one raw control byte put in the string: refused wherever it is.
            if value.count > 0 {
                var raw = encoded
                raw.insert(UInt8.random(in: 0 ..< 0x20, using: &rng), at: Int.random(in: 6 ..< raw.count - 2, using: &rng))
                #expect(throws: StrataError.self) { try raw.withUnsafeBytes { try d.parse($0) } }
            }
        }
    }
}

@Suite struct SearchIndexEdgeTests {
    /// Empty indexes, fields no segment has, huge or odd values and bad aggregation arguments
    /// answer or fail with typed errors — never a crash.
    /// Issue 12: a 21,000-term phrase took 18 s and 456 MB, 30,000 fuzzy terms 12 s. Clause
    /// counts and fuzzy expansions have limits (`QueryLimits`), each a typed error, raised for a
    /// scope with `QueryLimits.$current.withValue`.
    @Test func queryLimitsAreTypedErrors() throws {
        let index = try SearchIndex(directory: tempDirectory("limits"), schema: Corpus.schema())
        for i in 0 ..< 50 { try index.add(["id": .integer(Int64(i)), "body": .string("word\(i) common")]) }
        try index.refresh()
        let s = index.searcher()
        func tooComplex(_ e: any Error) -> Bool { if case QueryError.tooComplex = e { return true } else { return false } }
        let phrase = try QueryParser.parse("\"" + (0 ..< 5000).map { "w\($0)" }.joined(separator: " ") + "\"")
        #expect(performing: { try s.count(phrase) }, throws: tooComplex)
        let many = Query.boolean(must: [], should: (0 ..< 5000).map { .term(field: nil, text: "word\($0)") }, mustNot: [], minimumShouldMatch: 1)
        #expect(performing: { try s.search(many, limit: 10) }, throws: tooComplex)
        #expect(performing: { try s.aggregate(many, ["t": .terms(field: "tags")]) }, throws: tooComplex)
        // At the limit it runs; raised, the big one runs too.
        let atLimit = Query.boolean(must: [], should: (0 ..< 4096).map { .term(field: nil, text: "word\($0)") }, mustNot: [], minimumShouldMatch: 1)
        #expect(try s.count(atLimit) == 50)
        let raised = try QueryLimits.$current.withValue(QueryLimits(maxClauses: 10_000)) { () throws -> Int in try s.count(many) }
        #expect(raised == 50)
        // "word1"~1: word1, word10 … word19 (and "word"? no: the standard analyzer keeps "word1").
        let fuzzy = Query.fuzzy(field: "body", text: "word1", distance: 1)
        let expected = try s.count(fuzzy)
        #expect(expected >= 11)
        // A deadline already past fails every entry point; a generous one changes nothing.
        func timedOut(_ e: any Error) -> Bool { if case QueryError.timedOut = e { return true } else { return false } }
        QueryLimits.$current.withValue(QueryLimits(timeoutMs: 0)) {
            #expect(performing: { try s.count(fuzzy) }, throws: timedOut)
            #expect(performing: { try s.search(many, limit: 3) }, throws: { tooComplex($0) })
            #expect(performing: { try s.search(atLimit, limit: 3) }, throws: timedOut)
            #expect(performing: { try s.aggregate(.matchAll, ["t": .terms(field: "tags")]) }, throws: timedOut)
        }
        let relaxed = try QueryLimits.$current.withValue(QueryLimits(timeoutMs: 60_000)) { () throws -> Int in try s.count(fuzzy) }
        #expect(relaxed == expected)
        QueryLimits.$current.withValue(QueryLimits(maxFuzzyExpansions: 5)) {
            #expect(performing: { try s.count(fuzzy) }, throws: { e in tooComplex(e) && "\(e)".contains("more than 5 terms") })
        }
    }

    @Test func edgesAnswerOrFailCleanly() throws {
        let index = try SearchIndex(directory: tempDirectory("edges"), schema: Corpus.schema())
        var s = index.searcher()
        #expect(try s.count(.matchAll) == 0 && s.search(QueryParser.parse("error"), limit: 10).isEmpty)
        #expect(try s.aggregate(.matchAll, ["t": .terms(field: "tags"), "h": .histogram(field: "n", interval: 1)])["h"] == .buckets([], otherCount: 0))
        try index.commit()
        #expect(throws: StrataError.self) { try index.add(["id": 9, "x": .double(.nan)]) }       // NaN and ∞ are rejected
        #expect(throws: StrataError.self) { try index.add(["id": 9, "x": .double(-.infinity)]) }
        try index.add(["id": 1, "n": .integer(Int64.max), "x": 1e300, "ts": .integer(Int64.max), "tags": .string(String(repeating: "k", count: 40000))])
        try index.add(["id": 2, "n": .integer(Int64.min), "x": -1e300, "ts": .integer(Int64.min)])
        try index.refresh()
        s = index.searcher()
        #expect(try s.count(QueryParser.parse("body:anything")) == 0, "a field no segment has")
        #expect(try s.count(QueryParser.parse("n:[* TO *]")) == 2)
        #expect(try s.count(QueryParser.parse("_exists_:tags")) == 0, "keywords over 32766 bytes are not indexed")
        #expect(throws: QueryError.self) { try s.aggregate(.matchAll, ["h": .histogram(field: "n", interval: 1)]) }   // 2^64 buckets
        #expect(throws: QueryError.self) { try s.aggregate(.matchAll, ["h": .histogram(field: "n", interval: 0)]) }
        #expect(throws: QueryError.self) { try s.aggregate(.matchAll, ["d": .dateHistogram(field: "n", interval: .fixed(milliseconds: 0))]) }
        #expect(throws: QueryError.self) { try s.aggregate(.matchAll, ["d": .dateHistogram(field: "ts", interval: .month)]) }  // years beyond 9999
        #expect(throws: QueryError.self) { try s.aggregate(.matchAll, ["h": .histogram(field: "x", interval: 1)]) }
        try index.add(["id": 3, "n": 5])
        try index.refresh()
        s = index.searcher()
        guard case let .buckets(b, _)? = try s.aggregate(QueryParser.parse("id:3"), ["d": .dateHistogram(field: "n", interval: .fixed(milliseconds: Int64.max))])["d"] else {
            Issue.record("buckets expected"); return
        }
        #expect(b.count == 1 && b[0].count == 1, "a huge fixed interval is one bucket")
        #expect(throws: QueryError.self) { try s.aggregate(.matchAll, ["t": .terms(field: "n")]) }
        #expect(throws: QueryError.self) { try s.search(.matchAll, limit: 5, sort: .field("tags", descending: false)) }
        #expect(try s.search(.matchAll, limit: 5, sort: .field("x", descending: true)).count == 3)
        #expect(try s.search(.matchAll, limit: 0).isEmpty)
        _ = try s.aggregate(.matchAll, ["s": .stats(field: "x")])
    }
}
