import Foundation
import Testing
import StrataIO
@_spi(Internals) @testable import StrataSearch

@Suite struct QueryPlanTests {
    /// Streaming cursors (block skipping, block-max, MaxScore, leapfrog, lazy positions) and
    /// the set-based path agree on counts, top-k documents and scores, over several segments
    /// with deletes, on lists long enough to have many full blocks.
    @Test func cursorsAgreeWithTheSetBasedPath() throws {
        let corpus = Corpus(count: 6000, seed: 11)
        let index = try SearchIndex(directory: tempDirectory("plan"), schema: Corpus.schema(), options: .init(bufferBytes: 300_000))
        for d in corpus.docs { try index.add(json: corpus.json(d)) }
        try index.commit()
        #expect(index.segmentCount >= 2)
        try index.delete(QueryParser.parse("n:[0 TO 3]"))
        let fast = index.searcher(), slow = index.searcher()
        slow.usePlans = false
        let queries = ["error", "kafka", "nothing", "error kafka", "error kafka crash disk", "+error +kafka", "+error +kafka +disk -crash",
                       "error OR offset -log", "\"error warn\"", "\"log segment index\"", "\"disk crash\"~3", "body:error body:error kafka",
                       "+block +block", "\"error error\"", "+error +nothing", "error -error",
                       // Set-based combinations of clauses that run on cursors.
                       "\"error warn\" AND kafka", "(error OR kafka) -\"disk crash\"", "+error +\"log segment\"", "inde* AND error", "rec*",
                       "body:[error TO kafka] -log", "(+error +kafka) OR \"disk crash\"~1", "tags:red AND (error OR n:[1 TO 5])",
                       // Conjunctions with integer and timestamp ranges: checked per candidate (n),
                       // a run of documents (id: ascending in every segment), open and exclusive
                       // bounds, an empty range, and a range inside a set-based combination.
                       "+error +n:[2 TO 7]", "+error +kafka +n:{2 TO 7} -crash", "+kafka +id:[1000 TO 3000]", "+kafka +id:{1000 TO 3000}",
                       "+disk +id:[* TO 2500] +n:[10 TO *]", "+log +id:[5000 TO 100000]", "+log +id:[3000 TO 2000]", "+error +id:[99999 TO *]",
                       "+warn +ts:[2026-09-20T00:00:00Z TO 2026-10-10T00:00:00Z]", "(+error +n:[2 TO 7]) OR \"disk crash\"",
                       "+block +x:[10 TO 20]",
                       // Conjunctions with phrases: checked on the documents the cursors agree on
                       // (one phrase, two, a sloppy one, with a range, an excluded term, a term the
                       // phrase has too, a repeated word); phrases sharing a term run on the tree.
                       "+\"error warn\" +kafka", "+\"error warn\" +\"disk crash\"", "+\"log segment\"~2 +kafka -crash",
                       "+\"error kafka\" +n:[2 TO 7]", "+\"disk crash\" +disk", "+\"kafka kafka\" +error", "+\"error warn\" +\"warn kafka\"",
                       "+\"log segment index\" +\"error disk\"~1 +block",
                       // Prefixes: one expansion, several, none, and the whole vocabulary.
                       "kaf*", "b*", "zz*", "inde*", "body:c*", "tags:bl*"]
        var planned = 0
        for q in queries {
            let query = try QueryParser.parse(q)
            if try fast.plan(query) != nil { planned += 1 }
            #expect(try fast.count(query) == slow.count(query), "count of \(q)")
            for k in [1, 10, 100, 5000] {
                let a = try fast.search(query, limit: k), b = try slow.search(query, limit: k)
                #expect(a.count == b.count, "hits of \(q) top \(k)")
                for (x, y) in zip(a, b) { #expect(abs(x.score - y.score) <= 1e-4 * max(1, y.score), "score at a rank of \(q) top \(k)") }
                // Same documents, up to the order of equal scores.
                let scoreOf = Dictionary(b.map { ("\($0.segment)/\($0.document)", $0.score) }, uniquingKeysWith: { x, _ in x })
                let all = try slow.search(query, limit: 100_000)
                let full = Dictionary(all.map { ("\($0.segment)/\($0.document)", $0.score) }, uniquingKeysWith: { x, _ in x })
                for h in a { #expect(abs((full["\(h.segment)/\(h.document)"] ?? -1) - h.score) <= 1e-4 * max(1, h.score), "\(q): hit scores as in the set path") }
                _ = scoreOf
            }
        }
        #expect(planned >= 33, "the term, boolean, range-filtered, phrase-filtered, prefix and phrase shapes run on plans (\(planned))")
        let shared = try QueryParser.parse("+\"error warn\" +\"warn kafka\"")
        #expect(try fast.plan(shared) == nil, "phrases sharing a term run on the match tree")
        guard case let .conjunction(terms, _, _, phrases)? = try fast.plan(QueryParser.parse("+\"disk crash\" +disk")) else {
            Issue.record("a phrase and a term: a conjunction plan")
            return
        }
        #expect(phrases.count == 1 && terms.map(\.occurrences).sorted() == [1, 2], "disk scores twice (the term and the phrase's word), crash once")
    }

    /// A range on a field the segment is sorted by bounds the cursors to a run of documents;
    /// any other range is checked per candidate; prefixes with tie-breaks (every match scores
    /// 1, so the tie-break decides) and deep paging agree with the set-based path.
    @Test func rangeFiltersAndPrefixesWithTieBreaks() throws {
        let corpus = Corpus(count: 3000, seed: 5)
        let index = try SearchIndex(directory: tempDirectory("plan-filters"), schema: Corpus.schema(), options: .init(bufferBytes: 150_000))
        for d in corpus.docs { try index.add(json: corpus.json(d)) }
        try index.commit()
        let fast = index.searcher(), slow = index.searcher()
        slow.usePlans = false
        let id = try #require(fast.schema.number(of: "id")), n = try #require(fast.schema.number(of: "n"))
        let byId = try #require(fast.segmentFilter([.init(field: id, lower: 100, upper: 400)], 0))
        #expect(byId.range == 100 ..< 401 && byId.checks.isEmpty, "ids ascend in the first segment: a run")
        let byN = try #require(fast.segmentFilter([.init(field: n, lower: 0, upper: 10)], 0))
        #expect(byN.range == nil && byN.checks.count == 1, "n is unordered: checked per candidate")
        #expect(fast.segmentFilter([.init(field: n, lower: 500, upper: 600)], 0) == nil, "outside the column's range: nothing")
        let ids = corpus.docs.filter { $0.body.split(separator: " ").contains("kafka") && (1000 ... 3000).contains($0.id) }.count
        #expect(try fast.count(QueryParser.parse("+kafka +id:[1000 TO 3000]")) == ids)
        for q in ["kaf*", "b*", "+error +n:[2 TO 7]"] {
            let query = try QueryParser.parse(q)
            for descending in [true, false] {
                let options = SearchOptions(tieBreak: ["ts"], tieBreakDescending: descending)
                let a = try fast.search(query, limit: 10, options: options), b = try slow.search(query, limit: 10, options: options)
                #expect(a == b, "\(q) with ts tie-breaks (descending \(descending))")
                let after = SearchOptions(tieBreak: ["ts"], tieBreakDescending: descending, after: b.last)
                #expect(try fast.search(query, limit: 10, options: after) == slow.search(query, limit: 10, options: after), "\(q): the next page")
            }
        }
    }

    /// A range on a nearly sorted field (log timestamps from interleaved sources): the segment is
    /// not sorted by it, so candidates are checked, and zones of 256 documents whose values all
    /// miss the range are skipped; counts and top-k agree with the set-based path.
    @Test func nearlySortedRangesSkipZones() throws {
        let schema = try Schema(fields: [FieldDefinition("body", .text(.standard)), FieldDefinition("at", .timestamp)], dynamic: .strict)
        let index = try SearchIndex(directory: tempDirectory("plan-zones"), schema: schema, options: .init(bufferBytes: 400_000))
        let words = Corpus.words
        var r: UInt64 = 99
        func next() -> UInt64 { r ^= r << 13; r ^= r >> 7; r ^= r << 17; return r }
        for i in 0 ..< 9000 {
            let body = (0 ..< 2 + Int(next() % 5)).map { _ in words[Int(next() % UInt64(words.count))] }.joined(separator: " ")
            // Ascending by 10 per document, each shifted by up to ±300: out of order locally.
            let at = 1_800_000_000_000 + Int64(i) * 10 + Int64(next() % 601) - 300
            try index.add(json: #"{"body":"\#(body)","at":\#(at)}"#)
        }
        try index.commit()
        let fast = index.searcher(), slow = index.searcher()
        slow.usePlans = false
        let at = try #require(fast.schema.number(of: "at"))
        let base: Int64 = 1_800_000_000_000
        let f = try #require(fast.segmentFilter([.init(field: at, lower: base + 8_000, upper: base + 8_500)], 0))
        #expect(f.range == nil && f.checks.count == 1, "not sorted: checked, with a zone map")
        #expect(f.nextCandidate(0) >= 512 && f.nextCandidate(0) <= 768, "the zones before the range are skipped (\(f.nextCandidate(0)))")
        for (lo, hi) in [(40_000, 41_000), (0, 500), (89_000, 95_000), (10_000, 60_000), (200_000, 300_000), (45_001, 45_002)] {
            for q in ["+error +at:[\(base + Int64(lo)) TO \(base + Int64(hi))]", "+kafka +log +at:[\(base + Int64(lo)) TO \(base + Int64(hi))] -disk"] {
                let query = try QueryParser.parse(q)
                #expect(try fast.plan(query) != nil)
                #expect(try fast.count(query) == slow.count(query), "count of \(q)")
                let a = try fast.search(query, limit: 10), b = try slow.search(query, limit: 10)
                #expect(a.map(\.document) == b.map(\.document) && a.map(\.segment) == b.map(\.segment), "top 10 of \(q)")
            }
        }
    }

    /// Counting a disjunction of rare terms merges the cursors (no document set); dense ones
    /// mark a set. Both agree with the set-based path, deletes and excluded terms included.
    @Test func sparseAndDenseDisjunctionCounts() throws {
        let index = try SearchIndex(directory: tempDirectory("plan-sparse"), schema: Corpus.schema(), options: .init(bufferBytes: 200_000))
        for i in 0 ..< 8000 {
            let body = i % 97 == 0 ? "rare common" : i % 89 == 0 ? "other common shade" : i % 2 == 0 ? "common shade" : "common"
            try index.add(json: #"{"id":\#(i),"body":"\#(body)","n":\#(i % 10)}"#)
        }
        try index.commit()
        try index.delete(QueryParser.parse("n:[0 TO 0]"))
        let fast = index.searcher(), slow = index.searcher()
        slow.usePlans = false
        for q in ["rare other", "rare other nothing", "rare other -shade", "rare shade", "common shade -rare", "other shade rare"] {
            let query = try QueryParser.parse(q)
            #expect(try fast.plan(query) != nil, "\(q) runs on cursors")
            #expect(try fast.count(query) == slow.count(query), "count of \(q)")
        }
        #expect(try fast.count(QueryParser.parse("rare other")) == (0 ..< 8000).filter { ($0 % 97 == 0 || $0 % 89 == 0) && $0 % 10 != 0 }.count)
    }

    /// A cursor walks every posting of every term exactly as the index buffer held it, through
    /// `next`, through `advance` to random targets, and with positions.
    /// Block-max conjunctions and phrases: a run of blocks whose bounds cannot reach the k-th
    /// score is skipped whole, and the skip lands exactly on the next block (a better document
    /// opens it here); with tie-breaks, a region whose bound equals the k-th score is not
    /// skipped (its ties may still enter).
    /// Conjunctions merged a window at a time agree with the leapfrog and with the set-based
    /// path: dense lists of similar length (windows end at a block's end), sparse ones whose
    /// blocks span more than a window (windows end at `windowSpan`), a third list probed per
    /// candidate, a rare list beside a common one (the leapfrog), phrases, an excluded term, a
    /// range that bounds the cursors, deletes, several segments.
    @Test func windowedIntersectionsAgreeWithTheLeapfrog() throws {
        let schema = try Schema(fields: [FieldDefinition("body", .text(.whitespace)), FieldDefinition("n", .i64)], dynamic: .strict)
        let index = try SearchIndex(directory: tempDirectory("plan-windows"), schema: schema, options: .init(bufferBytes: 300_000))
        let words: [(String, (Int) -> Bool)] = [("a", { $0 % 3 == 0 }), ("b", { $0 % 5 == 0 }), ("c", { $0 % 7 == 0 }), ("s", { $0 % 97 == 0 }),
                                                ("t", { $0 % 89 == 0 }), ("r", { $0 % 1500 == 0 })]
        for d in 0 ..< 40_000 {
            let body = words.filter { $0.1(d) }.map(\.0) + ["z"]
            try index.add(json: "{\"body\": \"\(body.joined(separator: " "))\", \"n\": \(d)}")
        }
        try index.commit()
        try index.delete(QueryParser.parse("n:[20000 TO 20999]"))
        #expect(index.segmentCount >= 2)
        let windowed = index.searcher(), leapfrog = index.searcher(), slow = index.searcher()
        leapfrog.windowedIntersections = false
        slow.usePlans = false
        let queries = ["+a +b", "+a +b +c", "+a +c -b", "+s +t", "+s +t +z", "+a +s", "+r +a", "+r +a +b", "+a +z",
                       "\"a b\"", "\"s t\"", "\"a b c\"", "+\"a b\" +c", "+a +b +n:[1000 TO 30000]", "+s +t +n:[9000 TO *]"]
        for q in queries {
            let query = try QueryParser.parse(q)
            #expect(try windowed.plan(query) != nil, "\(q) runs on a plan")
            let n = try slow.count(query)
            #expect(try windowed.count(query) == n, "count of \(q)")
            #expect(try leapfrog.count(query) == n, "leapfrog count of \(q)")
            for k in [1, 10, 1000] {
                let w = try windowed.search(query, limit: k)
                #expect(w == (try leapfrog.search(query, limit: k)), "\(q) top \(k)")
                #expect(w.map(\.document) == (try slow.search(query, limit: k)).map(\.document), "\(q) top \(k), set path")
            }
        }
        // One segment where p's first block ends long before q's first document, which p's
        // second block starts with: the window realigns onto a match.
        let pq = try SearchIndex(directory: tempDirectory("plan-windows-pq"), schema: schema)
        for d in 0 ..< 10_400 {
            let p = d < 128 || (10_000 ..< 10_100).contains(d), q = d >= 10_000
            try pq.add(json: "{\"body\": \"\(p ? "p " : "")\(q ? "q " : "")z\", \"n\": \(d)}")
        }
        try pq.commit()
        #expect(pq.segmentCount == 1)
        let query = try QueryParser.parse("+p +q")
        #expect(try pq.searcher().count(query) == 100)
        #expect(try pq.searcher().search(query, limit: 1).first?.document == 10_000)
    }

    @Test func conjunctionTopKSkipsRegionsBelowTheBar() throws {
        let schema = try Schema(fields: [FieldDefinition("body", .text(.standard)), FieldDefinition("n", .i64)], dynamic: .strict)
        let index = try SearchIndex(directory: tempDirectory("plan-regions"), schema: schema)
        // Block 0 (documents 0–127): short, high scores. Block 1: long, low. Document 256
        // opens block 2 with the best score of all; the rest are long.
        for d in 0 ..< 700 {
            let body = d < 128 ? "alpha beta" : d == 256 ? "alpha beta alpha beta" : "alpha beta " + Array(repeating: "filler", count: 12).joined(separator: " ")
            try index.add(json: "{\"body\": \"\(body)\", \"n\": \(d * 7919 % 100_000)}")
        }
        try index.commit()
        let fast = index.searcher(), slow = index.searcher()
        slow.usePlans = false
        for q in ["+alpha +beta", "\"alpha beta\""] {
            let query = try QueryParser.parse(q)
            let top = try fast.search(query, limit: 10)
            #expect(top.first?.document == 256, "\(q): the document after the skipped region leads")
            #expect(top == (try slow.search(query, limit: 10)), "\(q)")
            // Every document of block 0 scores the same: the tie-break decides, so later
            // regions of equal bound must be read.
            let options = SearchOptions(tieBreak: ["n"], tieBreakDescending: true)
            #expect(try fast.search(query, limit: 10, options: options) == slow.search(query, limit: 10, options: options), "\(q) by n")
        }
        // All alike: every region's bound equals the k-th score; n decides which enter.
        let alike = try SearchIndex(directory: tempDirectory("plan-ties"), schema: schema)
        for d in 0 ..< 700 { try alike.add(json: "{\"body\": \"alpha beta gamma\", \"n\": \(d * 104_729 % 100_000)}") }
        try alike.commit()
        let f = alike.searcher(), sl = alike.searcher()
        sl.usePlans = false
        let options = SearchOptions(tieBreak: ["n"], tieBreakDescending: true)
        let query = try QueryParser.parse("+alpha +beta")
        #expect(try f.search(query, limit: 10, options: options) == sl.search(query, limit: 10, options: options))
    }

    /// A phrase leapfrogs its rarest term first while its scorers stay in query order: the
    /// block bounds of each cursor are scored with that cursor's own term. Here the first ten
    /// documents (the common word four times) set the bar; document 600 (the rare word four
    /// times) beats it, in a region whose bound would equal the bar if the two terms' scorers
    /// were swapped — and a region bound at the bar is skipped.
    @Test func phraseBoundsFollowTheLeapfrogOrder() throws {
        let schema = try Schema(fields: [FieldDefinition("body", .text(.standard))], dynamic: .strict)
        let index = try SearchIndex(directory: tempDirectory("plan-phrase-order"), schema: schema)
        for d in 0 ..< 1000 {
            let body = d < 10 ? "common common common common rare"
                : d == 600 ? "common rare rare rare rare"
                : d % 2 == 0 ? "common rare filler filler filler" : "common filler filler filler filler"
            try index.add(json: "{\"body\": \"\(body)\"}")
        }
        try index.commit()
        let fast = index.searcher(), slow = index.searcher()
        slow.usePlans = false
        let query = try QueryParser.parse("\"common rare\"")
        let expected = try slow.search(query, limit: 10)
        #expect(expected.first?.document == 600)
        #expect(try fast.search(query, limit: 10) == expected)
    }

    @Test func cursorMatchesTheFullDecoder() throws {
        let idx = sampleIndex(docs: 5000)
        let path = tempPath("cursor.seg")
        try SegmentWriter.write(idx, to: path)
        let seg = try IndexSegment(path: path)
        var rng = SystemRandomNumberGenerator()
        try seg.forEachTerm { term, info in
            // The reference: the memory index the segment was written from.
            let p = idx.postings[Int(try #require(idx.termID(Array(term))))]
            let docs = p.docs, freqs = p.freqs
            var positions: [[UInt32]] = []
            var at = 0
            for f in freqs { positions.append(Array(p.positions[at ..< at + Int(f)])); at += Int(f) }
            let c = try PostingsCursor.open(seg, info, positions: true)
            var i = 0
            var buffer: [UInt32] = []
            while c.doc != PostingsCursor.exhausted {
                #expect(c.doc == docs[i] && c.frequency == freqs[i])
                if i % 3 == 0 { try c.positions(into: &buffer); #expect(buffer == positions[i]) }
                if i % 3 == 1, let mid = positions[i].dropFirst(positions[i].count / 2).first {
                    // Bounded reads (phrase checks): a prefix, again with a higher bound, then all.
                    let partial = try c.positions(into: &buffer, upTo: mid)
                    #expect(buffer == positions[i].filter { $0 <= mid } && partial == (mid == positions[i].last))
                    if mid > 0 { _ = try c.positions(into: &buffer, upTo: mid - 1); #expect(buffer == positions[i].filter { $0 < mid }) }
                    // Half the time the posting is left part-read: later postings must still read right.
                    if i % 2 == 1 { #expect(try c.positions(into: &buffer, upTo: UInt32.max) && buffer == positions[i]) }
                }
                try c.next()
                i += 1
            }
            #expect(i == docs.count)
            // Random forward jumps: near (in the block or the next ones) and far (galloping
            // over the skip table).
            let j = try PostingsCursor.open(seg, info, positions: true)
            var target: UInt32 = 0
            var jumps = 0
            while true {
                jumps += 1
                target += UInt32.random(in: 1 ... (jumps % 4 == 0 ? 3000 : 400), using: &rng)
                try j.advance(to: target)
                guard let k = docs.firstIndex(where: { $0 >= target }) else { #expect(j.doc == PostingsCursor.exhausted); break }
                #expect(j.doc == docs[k])
                try j.positions(into: &buffer)
                #expect(buffer == positions[k])
                target = j.doc
            }
        }
    }

    /// Term top-k reads norms in the segment's width (1, 2 or 4 bytes per document, by the
    /// longest document): scores equal the set-based path's, which reads them one at a time.
    @Test func termTopKReadsEveryNormWidth() throws {
        for longest in [200, 300, 70_000] {
            let schema = try Schema(fields: [FieldDefinition("body", .text(.whitespace))])
            let index = try SearchIndex(directory: tempDirectory("plan-norms-\(longest)"), schema: schema)
            var r: UInt64 = 5
            func next() -> UInt64 { r ^= r << 13; r ^= r >> 7; r ^= r << 17; return r }
            for i in 0 ..< 700 {
                // Lengths from 1 to 250 tokens, "hit" 1–3 times; one document of `longest` tokens.
                let length = i == 350 ? longest : 1 + Int(next() % 250)
                var words = (0 ..< length).map { _ in "w\(next() % 50)" }
                for k in 0 ..< 1 + Int(next() % 3) where i % 3 == 0 { words[(k * 7) % length] = "hit" }
                try index.add(["body": .string(words.joined(separator: " "))])
            }
            try index.refresh()
            let fast = index.searcher(), slow = index.searcher()
            slow.usePlans = false
            let q = try QueryParser.parse("hit")
            let a = try fast.search(q, limit: 10), b = try slow.search(q, limit: 10)
            #expect(a.map(\.document) == b.map(\.document), "longest \(longest): the same top 10")
            for (x, y) in zip(a, b) { #expect(abs(x.score - y.score) <= 1e-5, "longest \(longest): scores") }
        }
    }

}
