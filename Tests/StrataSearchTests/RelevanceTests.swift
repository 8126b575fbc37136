import Foundation
import Testing
@_spi(Internals) @_spi(Evaluation) @testable import StrataSearch

/// Runs a collection end to end: index every document, run every query (top 1000), evaluate.
func evaluateCollection(_ dir: String, format: TestCollection.Format, analyzer: AnalyzerKind) throws -> RelevanceEvaluator.Result {
    let names: (docs: String, queries: String, qrels: String) = format == .smart
        ? ("CISI.ALL", "CISI.QRY", "CISI.REL") : ("doc-text", "query-text", "rlv-ass")
    let docs = TestCollection.parse(try String(contentsOfFile: dir + "/" + names.docs, encoding: .utf8), format: format)
    let queries = TestCollection.parse(try String(contentsOfFile: dir + "/" + names.queries, encoding: .utf8), format: format)
    let judgments = TestCollection.parseJudgments(try String(contentsOfFile: dir + "/" + names.qrels, encoding: .utf8), format: format)
    let index = MemoryIndex(analyzer: Analyzer(analyzer))
    for d in docs { index.add(d.text) }
    var run: [String: [String]] = [:]
    for q in queries { run[q.id] = index.search(q.text, limit: 1000).map { docs[Int($0.document)].id } }
    return RelevanceEvaluator.evaluate(run: run, judgments: judgments)
}

@Suite struct RelevanceTests {
    static let shared: String? = {
        let p = searchPackageRoot + "/../shared/data/ir"
        return FileManager.default.fileExists(atPath: p) ? p : nil
    }()

    @Test func evaluatorConventions() {
        // One query, relevant {a, c}; run a b c: AP = (1/1 + 2/3) / 2; nDCG@10 = (1 + 1/log2 4) / (1 + 1/log2 3).
        let r = RelevanceEvaluator.evaluate(run: ["1": ["a", "b", "c"]], judgments: ["1": ["a", "c"], "2": []])
        #expect(r.queries == 1)
        #expect(abs(r.map - (1 + 2.0 / 3) / 2) < 1e-12)
        #expect(abs(r.ndcg10 - (1 + 0.5) / (1 + 1 / log2(3.0))) < 1e-12)
        let run = TRECRun.format(query: "7", hits: [("d9", 2.5), ("d1", 1)], tag: "strata")
        #expect(run == "7 Q0 d9 1 2.500000 strata\n7 Q0 d1 2 1.000000 strata\n")
        #expect(TRECRun.parse(run) == ["7": ["d9", "d1"]])
    }

    @Test func parsersReadSMARTAndNPL() {
        let smart = ".I 1\n.T\nTitle one\n.A\nAuthor\n.W\nBody text\n.X\n1 2 3\n.I 2\n.W\nSecond\n"
        let docs = TestCollection.parseSMART(smart)
        #expect(docs.map(\.id) == ["1", "2"])
        #expect(docs[0].text == "Title one\nAuthor\nBody text\n")
        #expect(docs[1].text == "Second\n")
        let npl = "1\nfirst doc\n   /\n2\nsecond\n   /\n"
        #expect(TestCollection.parseNPL(npl).map(\.text) == ["first doc\n", "second\n"])
        #expect(TestCollection.parseJudgments("1\n 5 6\n 7\n   /\n", format: .npl) == ["1": ["5", "6", "7"]])
    }

    /// CISI and NPL with the `english` analyzer reach tantivy en_stem's reference figures of
    /// ../shared/data/README.md (CISI MAP .1704 nDCG@10 .3084; NPL .2849 / .4385) and beat
    /// SQLite FTS5 porter's (CISI .2172 / .3780; NPL .2805 / .4305).
    @Test(arguments: [("cisi", TestCollection.Format.smart, 0.2172, 0.3780), ("npl", .npl, 0.2849, 0.4385)])
    func relevanceReachesTantivy(collection: String, format: TestCollection.Format, map: Double, ndcg: Double) throws {
        guard let shared = Self.shared else { print("skip: ../shared/data is absent"); return }
        let english = try evaluateCollection(shared + "/" + collection, format: format, analyzer: .english)
        let standard = try evaluateCollection(shared + "/" + collection, format: format, analyzer: .standard)
        print(String(format: "%@: english MAP %.4f nDCG@10 %.4f; standard MAP %.4f nDCG@10 %.4f (%d queries)",
                     collection, english.map, english.ndcg10, standard.map, standard.ndcg10, english.queries))
        #expect(english.map >= map && english.ndcg10 >= ndcg)
    }
}
