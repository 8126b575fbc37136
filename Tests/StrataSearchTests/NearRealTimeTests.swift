import Foundation
import Testing
import StrataIO
@_spi(Internals) @testable import StrataSearch

/// Refresh points, background merges, restricted (time-range) views, tie-breaks with deep
/// paging, keyword sub-fields and doc-value ranges: what the store builds its near-real-time
/// search on.
@Suite struct NearRealTimeTests {
    /// Another reader (as another process would) sees refreshed documents before any commit,
    /// through the refresh point; the writer reopening after a "crash" goes back to the commit.
    @Test func refreshPointsAreVisibleToOtherReaders() throws {
        let dir = tempDirectory("refresh-points")
        var index: SearchIndex? = try SearchIndex(directory: dir, schema: Corpus.schema(), options: .init(publishRefreshes: true))
        let corpus = Corpus(count: 300)
        for d in corpus.docs.prefix(100) { try index!.add(json: corpus.json(d)) }
        try index!.commit(userData: ["next": "100"])
        let reader = try IndexReader(directory: dir)
        #expect(reader.searcher().documentCount == 100 && reader.userData["next"] == "100")
        #expect(try !reader.refresh(), "nothing new: the view stays")

        for d in corpus.docs[100 ..< 250] { try index!.add(json: corpus.json(d)) }
        try index!.delete(.term(field: "tags", text: "red"))
        try index!.refresh(userData: ["next": "250"])
        #expect(try reader.refresh())
        let live = corpus.docs.prefix(250).filter { !$0.tags.contains("red") }.count
        #expect(reader.searcher().documentCount == live, "refreshed adds and deletes are seen")
        #expect(reader.userData["next"] == "250")
        #expect(FileSystem.exists(dir + "/" + Manifest.refreshFileName(reader.generation)))
        // A searcher opened by name agrees.
        #expect(try SearchIndex.openSearcher(directory: dir).documentCount == live)

        // The writer goes away without committing; a new writer starts from the commit and
        // removes the refresh point (it named uncommitted segments).
        index!.close()
        index = nil
        let reopened = try SearchIndex(directory: dir, schema: Corpus.schema(), options: .init(publishRefreshes: true))
        #expect(reopened.searcher().documentCount == 100 && reopened.committedUserData["next"] == "100")
        #expect(try FileSystem.list(dir).allSatisfy { Manifest.generation(ofRefreshFile: $0) == nil })
        #expect(try reader.refresh() && reader.searcher().documentCount == 100)
        // Generations are never reused: the next refresh point is above the discarded one.
        for d in corpus.docs[100 ..< 110] { try reopened.add(json: corpus.json(d)) }
        let before = reader.generation
        try reopened.refresh()
        #expect(try reader.refresh() && reader.generation > before && reader.searcher().documentCount == 110)
    }

    /// A damaged refresh point (not durable: a power loss may leave one) falls back to the commit.
    @Test func damagedRefreshPointFallsBackToTheCommit() throws {
        let dir = tempDirectory("refresh-damaged")
        let index = try SearchIndex(directory: dir, schema: Corpus.schema(), options: .init(publishRefreshes: true))
        let corpus = Corpus(count: 50)
        for d in corpus.docs.prefix(20) { try index.add(json: corpus.json(d)) }
        try index.commit()
        for d in corpus.docs.suffix(30) { try index.add(json: corpus.json(d)) }
        try index.refresh()
        let name = try FileSystem.list(dir).first { Manifest.generation(ofRefreshFile: $0) != nil }!
        var bytes = try FileSystem.readFile(dir + "/" + name)
        bytes[bytes.count / 2] ^= 0xFF
        try FileSystem.writeAtomically(bytes, to: dir + "/" + name)
        #expect(try IndexReader(directory: dir).searcher().documentCount == 20)
        index.close()
    }

    /// Merges on the background thread keep every document and every delete, including deletes
    /// made while a merge ran, and end up committed.
    @Test func backgroundMergesKeepDeletesMadeDuringTheMerge() throws {
        let dir = tempDirectory("bg-merge")
        let options = SearchIndex.Options(bufferBytes: 1 << 30, mergePolicy: TieredMergePolicy(mergeFactor: 4, floorDocuments: 10), backgroundMerges: true)
        let index = try SearchIndex(directory: dir, schema: Corpus.schema(), options: options)
        let corpus = Corpus(count: 4000)
        var deleted = Set<Int64>()
        for (i, d) in corpus.docs.enumerated() {
            try index.add(json: corpus.json(d))
            if i % 97 == 96 { try index.refresh() } // many small segments for the merger
            if i % 311 == 310 {
                // Delete while merges may be running.
                let victim = Int64(i - 150)
                try index.delete(.range(field: "id", lower: String(victim), upper: String(victim), includeLower: true, includeUpper: true))
                deleted.insert(victim)
            }
        }
        try index.commit(userData: ["n": "all"])
        index.merger?.waitUntilIdle()
        try index.commit(userData: ["n": "all"])
        let s = index.searcher()
        #expect(s.documentCount == corpus.docs.count - deleted.count)
        let all = try s.search(.matchAll, limit: 10_000)
        let seen = Set(ids(s, all))
        #expect(seen == Set(corpus.docs.map(\.id)).subtracting(deleted))
        #expect(index.segmentCount < 41, "merges ran (\(index.segmentCount) segments)")
        #expect(index.backgroundMergeError == nil)
        index.close()
        // What was committed reopens identically.
        let reopened = try SearchIndex(directory: dir)
        #expect(Set(ids(reopened.searcher(), try reopened.searcher().search(.matchAll, limit: 10_000))) == seen)
        reopened.close()
    }

    /// A restricted view returns exactly the documents in the range, scores them as the whole
    /// index does, and skips segments outside it.
    @Test func restrictedViewMatchesBruteForceAndKeepsScores() throws {
        let (corpus, index) = try segmentedCorpus(3000, "restricted", every: 150)
        let s = index.searcher()
        #expect(s.segments.count > 3)
        let ts = corpus.docs.map(\.ts).sorted()
        let lower = ts[1000], upper = ts[1600]
        let view = try s.restricted(field: "ts", lower: lower, upper: upper)
        let inRange = corpus.docs.filter { $0.ts >= lower && $0.ts <= upper }
        let inRangeIDs = Set(inRange.map(\.id))
        #expect(view.documentCount == inRange.count)
        for q in ["error", "error kafka", "+log +disk", "\"block offset\"", "tags:red", "*:*", "n:[0 TO 40]"] {
            let query = try QueryParser.parse(q)
            #expect(try view.count(query) == (try s.matchingIDs(query)).filter { inRangeIDs.contains($0) }.count, "\(q)")
            // Same scores as unrestricted for the documents in range.
            let full = try s.search(query, limit: 5000)
            var fullScores: [Int64: Float] = [:]
            for h in full { fullScores[s.integerValue("id", of: h)!] = h.score }
            for h in try view.search(query, limit: 50) {
                let id = view.integerValue("id", of: h)!
                #expect(inRangeIDs.contains(id))
                #expect(fullScores[id] == h.score, "\(q): same score restricted or not")
            }
        }
        // Ranges that miss every segment's values exclude them all.
        let none = try s.restricted(field: "ts", lower: ts.last! + 1, upper: nil)
        #expect(none.segments.allSatisfy(\.excluded) && none.documentCount == 0)
        // Aggregations see the view.
        let agg = try view.aggregate(.matchAll, ["n": .stats(field: "n")])
        guard case let .stats(st)? = agg["n"] else { Issue.record("no stats"); return }
        #expect(st.count == inRange.count && st.sum == Double(inRange.map(\.n).reduce(0, +)))
    }

    /// Paging with `after` through a stable tie-break visits every hit once, in the order of
    /// one big search, for score and field sorts; ties (equal scores) are ordered by the fields.
    @Test func deepPagingWithTieBreaks() throws {
        let (corpus, index) = try segmentedCorpus(1500, "paging", every: 100)
        let s = index.searcher()
        for (q, sort) in [("error", SearchSort.score), ("*:*", .score), ("tags:red", .field("ts", descending: true)),
                          ("log OR disk", .field("n", descending: false)), ("*:*", .field("n", descending: true))] {
            let query = try QueryParser.parse(q)
            let options = SearchOptions(tieBreak: ["n", "id"], tieBreakDescending: true)
            let total = try s.count(query)
            let everything = try s.search(query, limit: total + 10, sort: sort, options: options)
            #expect(everything.count == total)
            var paged: [SearchHit] = []
            var after: SearchHit?
            while true {
                let page = try s.search(query, limit: 37, sort: sort, options: SearchOptions(tieBreak: ["n", "id"], tieBreakDescending: true, after: after))
                if page.isEmpty { break }
                paged += page
                after = page.last
            }
            #expect(ids(s, paged) == ids(s, everything), "\(q) \(sort): pages concatenate to the full order")
            // The order is by sort value, then (n, id) descending.
            for (a, b) in zip(everything, everything.dropFirst()) {
                let ka = (s.integerValue("n", of: a)!, s.integerValue("id", of: a)!), kb = (s.integerValue("n", of: b)!, s.integerValue("id", of: b)!)
                switch sort {
                case .score: #expect(a.score > b.score || (a.score == b.score && ka > kb))
                case let .field(_, descending):
                    #expect(a.sortValue != b.sortValue ? (descending ? a.sortValue! > b.sortValue! : a.sortValue! < b.sortValue!) : ka > kb)
                }
            }
        }
        _ = corpus
    }

    /// Sorting newest first skips segments whose newest value cannot enter the top k.
    @Test func newestFirstSortMatchesBruteForce() throws {
        let (corpus, index) = try segmentedCorpus(2000, "newest", every: 90)
        let s = index.searcher()
        let hits = try s.search(.matchAll, limit: 25, sort: .field("ts", descending: true))
        let expected = corpus.docs.sorted { $0.ts != $1.ts ? $0.ts > $1.ts : $0.id < $1.id }.prefix(25).map(\.ts)
        #expect(hits.map { s.integerValue("ts", of: $0)! } == Array(expected))
    }

    /// Dynamic mapping adds `name.keyword` beside a new string field: searchable as text,
    /// aggregatable and filterable exactly; values over 256 bytes are kept out of the keyword.
    @Test func dynamicStringsGetKeywordSubfields() throws {
        let index = try SearchIndex(directory: tempDirectory("keyword-sub"))
        let long = String(repeating: "x", count: 300)
        for (i, svc) in ["billing api", "billing api", "search", long].enumerated() {
            try index.add(json: #"{"service":"\#(svc)","n":\#(i)}"#)
        }
        try index.commit()
        let s = index.searcher()
        #expect(s.schema.field("service")?.type == .text(.standard))
        #expect(s.schema.field("service.keyword") == FieldDefinition("service.keyword", .keyword, source: "service", ignoreAbove: 256))
        #expect(try s.count(QueryParser.parse("service:billing")) == 2)
        #expect(try s.count(QueryParser.parse("service.keyword:\"billing api\"")) == 2)
        #expect(try s.count(QueryParser.parse("service.keyword:billing")) == 0)
        let agg = try s.aggregate(.matchAll, ["s": .terms(field: "service.keyword", size: 10)])
        guard case let .buckets(b, other)? = agg["s"] else { Issue.record("no buckets"); return }
        #expect(b.map(\.key) == ["billing api", "search"] && b.map(\.count) == [2, 1] && other == 0)
        // The schema round-trips through the manifest with the sub-field's source.
        index.close()
        let reopened = try SearchIndex(directory: index.directory)
        #expect(reopened.schema.derivedFields(of: "service") == [reopened.schema.number(of: "service.keyword")!])
        reopened.close()
    }

    /// A numeric field absent from hundreds of documents in a row, then present again (a
    /// partition of log lines without it between JSON records with it) keeps every value.
    @Test func numericFieldAfterALongGap() throws {
        let index = try SearchIndex(directory: tempDirectory("numeric-gap"))
        try index.add(json: #"{"n":1,"t":"a"}"#)
        for _ in 0 ..< 700 { try index.add(json: #"{"t":"b"}"#) }
        try index.add(json: #"{"n":2,"t":"c"}"#)
        try index.commit()
        let s = index.searcher()
        let hits = try s.search(.exists(field: "n"), limit: 10, sort: .field("n", descending: false))
        #expect(hits.map { s.integerValue("n", of: $0) } == [1, 2])
        #expect(hits.map(\.document) == [0, 701])
        index.close()
    }

    /// Index sorting: documents added in any order are numbered by (ts, id) in every segment a
    /// flush or merge writes; every query gives the same documents and scores as the same
    /// documents unsorted; term deletes of buffered documents, deletes during a background
    /// merge, restricted views and early-stopping sorts all follow the renumbering.
    @Test func indexSortingKeepsResultsAndOrdersDocuments() throws {
        let corpus = Corpus(count: 2400)
        let sortedOptions = SearchIndex.Options(bufferBytes: 1 << 30, mergePolicy: TieredMergePolicy(mergeFactor: 3, floorDocuments: 50),
                                                backgroundMerges: true, indexSort: ["ts", "id"])
        let sorted = try SearchIndex(directory: tempDirectory("sorted"), schema: Corpus.schema(), options: sortedOptions)
        let plain = try SearchIndex(directory: tempDirectory("unsorted"), schema: Corpus.schema(), options: .init(bufferBytes: 1 << 30))
        for (i, d) in corpus.docs.enumerated() {
            for index in [sorted, plain] {
                try index.add(json: corpus.json(d))
                if i % 300 == 150 { try index.delete(field: "tags", value: "Black") } // buffered term delete
                if i % 200 == 199 { try index.refresh() }
            }
        }
        for index in [sorted, plain] { try index.commit() }
        sorted.merger?.waitUntilIdle()
        for index in [sorted, plain] { try index.delete(.term(field: "body", text: "crash")) }
        var s = sorted.searcher(), p = plain.searcher()
        let ts = s.schema.number(of: "ts")!, id = s.schema.number(of: "id")!
        #expect(s.segments.allSatisfy { $0.reader.isSorted(by: [ts, id]) }, "every segment is in (ts, id) order")
        #expect(s.segments.count < p.segments.count, "merges ran")
        #expect(s.documentCount == p.documentCount)
        // The same documents (deletes during merges carried over)...
        #expect(Set(try s.matchingIDs(.matchAll)) == Set(try p.matchingIDs(.matchAll)))
        // Ties ascending by (ts, id) and newest first over many sorted segments equal a full sort
        // of the same index's hits.
        for q in ["error", "log disk", "+kafka +block", "tags:red", "*:*", "off*"] {
            let query = try QueryParser.parse(q)
            let all = try s.search(query, limit: 5000)
            func key(_ h: SearchHit) -> (Int64, Int64) { (s.integerValue("ts", of: h)!, s.integerValue("id", of: h)!) }
            let expected = all.sorted { a, b in a.score != b.score ? a.score > b.score : key(a) < key(b) }.prefix(15).map(key)
            let top = try s.search(query, limit: 15, options: SearchOptions(tieBreak: ["ts", "id"], tieBreakDescending: false))
            #expect(top.map { "\(key($0))" } == expected.map { "\($0)" }, "\(q): ties by (ts, id) across segments")
            let newest = try s.search(query, limit: 12, sort: .field("ts", descending: true), options: SearchOptions(tieBreak: ["ts", "id"], tieBreakDescending: true))
            #expect(newest.map { "\(key($0))" } == all.map(key).sorted(by: >).prefix(12).map { "\($0)" }, "\(q): newest first across segments")
        }
        // ...and, once both are merged down (deleted documents no longer in the statistics),
        // the same scores.
        try sorted.forceMerge()
        try plain.forceMerge()
        s = sorted.searcher()
        p = plain.searcher()
        #expect(s.segments.count == 1 && s.segments[0].reader.isSorted(by: [ts, id]))
        func scored(_ x: IndexSearcher, _ hits: [SearchHit]) -> [Int64: Float] {
            var out: [Int64: Float] = [:]
            for h in hits { out[x.integerValue("id", of: h)!] = h.score }
            return out
        }
        for q in ["error", "log disk", "+kafka +block", "\"segment index\"", "tags:red", "n:[10 TO 50]", "*:*", "off*"] {
            let query = try QueryParser.parse(q)
            #expect(try s.count(query) == (try p.count(query)), "\(q)")
            #expect(scored(s, try s.search(query, limit: 5000)) == scored(p, try p.search(query, limit: 5000)), "\(q): same documents, same scores")
            // Ties ascending by (ts, id) through the sorted fast path equal a full sort.
            let options = SearchOptions(tieBreak: ["ts", "id"], tieBreakDescending: false)
            let top = try s.search(query, limit: 15, options: options).map { s.integerValue("id", of: $0)! }
            let all = try p.search(query, limit: 5000)
            let expected = all.sorted { a, b in
                if a.score != b.score { return a.score > b.score }
                let ka = (p.integerValue("ts", of: a)!, p.integerValue("id", of: a)!), kb = (p.integerValue("ts", of: b)!, p.integerValue("id", of: b)!)
                return ka < kb
            }.prefix(15).map { p.integerValue("id", of: $0)! }
            #expect(top == Array(expected), "\(q): ties by (ts, id)")
            // Newest first, read from the sorted end.
            let newest = try s.search(query, limit: 12, sort: .field("ts", descending: true), options: SearchOptions(tieBreak: ["ts", "id"], tieBreakDescending: true))
            let expectedNewest = all.sorted { a, b in
                (p.integerValue("ts", of: a)!, p.integerValue("id", of: a)!) > (p.integerValue("ts", of: b)!, p.integerValue("id", of: b)!)
            }.prefix(12).map { p.integerValue("id", of: $0)! }
            #expect(newest.map { s.integerValue("id", of: $0)! } == Array(expectedNewest), "\(q): newest first")
        }
        // A time range on the sorted field is a run of documents in each segment.
        let stamps = corpus.docs.map(\.ts).sorted()
        let view = try s.restricted(field: "ts", lower: stamps[700], upper: stamps[1300])
        let plainView = try p.restricted(field: "ts", lower: stamps[700], upper: stamps[1300])
        #expect(view.documentCount == plainView.documentCount)
        #expect(view.segments.contains { $0.docRange != nil }, "sorted segments restrict to a run of documents")
        for q in ["*:*", "error", "log disk", "+kafka +block", "\"segment index\"", "tags:red", "n:[10 TO 50]"] {
            let query = try QueryParser.parse(q)
            #expect(try view.count(query) == (try plainView.count(query)), "\(q) in the range")
            #expect(scored(view, try view.search(query, limit: 5000)) == scored(plainView, try plainView.search(query, limit: 5000)), "\(q) in the range: same hits and scores")
            let agg = try view.aggregate(query, ["n": .stats(field: "n")]), plainAgg = try plainView.aggregate(query, ["n": .stats(field: "n")])
            #expect(agg == plainAgg, "\(q): aggregations in the range")
        }
        // Restricting a restricted view narrows it.
        let narrower = try view.restricted(field: "ts", lower: stamps[900], upper: stamps[1000])
        #expect(narrower.documentCount == (try p.restricted(field: "ts", lower: stamps[900], upper: stamps[1000])).documentCount)
        sorted.close()
        plain.close()
    }

    /// Each numeric column's range is known when the segment opens.
    @Test func docValueRanges() throws {
        let (corpus, index) = try indexedCorpus(500, "dv-range", bufferBytes: 1 << 30)
        try index.commit()
        let s = index.searcher()
        let n = s.schema.number(of: "n")!, ts = s.schema.number(of: "ts")!
        let column = s.segments[0].reader.docValues.numericColumn(n)!
        #expect(column.range?.min == corpus.docs.map(\.n).min() && column.range?.max == corpus.docs.map(\.n).max())
        let tsColumn = s.segments[0].reader.docValues.numericColumn(ts)!
        #expect(tsColumn.allWithin(lower: corpus.docs.map(\.ts).min(), upper: nil))
        #expect(!tsColumn.mayContain(lower: corpus.docs.map(\.ts).max()! + 1, upper: nil))
    }
}

/// A corpus refreshed every `every` documents (that many documents per segment).
func segmentedCorpus(_ count: Int, _ tag: String, every: Int) throws -> (Corpus, SearchIndex) {
    let corpus = Corpus(count: count)
    let index = try SearchIndex(directory: tempDirectory(tag), schema: Corpus.schema(), options: .init(bufferBytes: 1 << 30))
    for (i, d) in corpus.docs.enumerated() {
        try index.add(json: corpus.json(d))
        if i % every == every - 1 { try index.refresh() }
    }
    try index.refresh()
    return (corpus, index)
}

extension IndexSearcher {
    /// The ids of every live document matching `query` (set-based, for comparisons).
    func matchingIDs(_ query: Query) throws -> [Int64] {
        var out: [Int64] = []
        for (si, seg) in segments.enumerated() {
            try matches(query, in: seg).forEach { d in out.append(integerValue("id", of: SearchHit(segment: si, document: d, score: 0, sortValue: nil))!) }
        }
        return out
    }
}
