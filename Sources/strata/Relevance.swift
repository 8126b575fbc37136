import ArgumentParser
import Foundation
import Strata
@_spi(Evaluation) import StrataSearch

struct IRRun: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ir-run",
        abstract: "Index a test collection (SMART or NPL format), run its queries with BM25 (k1 1.2, b 0.75) and write a TREC run file (top 1000 per query).")

    @Option(help: "smart (CISI: .I/.T/.A/.W) or npl.") var format: String
    @Option(help: "The document file.") var docs: String
    @Option(help: "The query file.") var queries: String
    @Option(help: "standard, english, cjk, keyword or whitespace.") var analyzer: String = "english"
    @Option(help: "The run file to write.") var out: String
    @Option(help: "Hits per query.") var depth: Int = 1000
    @Option(help: "A file of stop words (one per line, `#` starts a comment) replacing the analyzer's default list; an empty file disables stop words.") var stopWords: String?

    func run() throws {
        try reportingErrors {
            let f = try collectionFormat(format)
            guard let kind = AnalyzerKind(rawValue: analyzer) else { throw StrataError.invalidArgument("unknown analyzer \(analyzer)") }
            let documents = TestCollection.parse(try readText(docs), format: f)
            let qs = TestCollection.parse(try readText(queries), format: f)
            let stops = try stopWords.map { StopWordFile.parse(try readText($0)) }
            let index = MemoryIndex(analyzer: Analyzer(kind, stopWords: stops))
            let t0 = Date()
            for d in documents { index.add(d.text) }
            let indexed = Date().timeIntervalSince(t0)
            var text = ""
            let t1 = Date()
            for q in qs {
                let hits = index.search(q.text, limit: depth).map { (documents[Int($0.document)].id, $0.score) }
                text += TRECRun.format(query: q.id, hits: hits, tag: "strata-\(kind.rawValue)")
            }
            let searched = Date().timeIntervalSince(t1)
            try FileSystem.writeAtomically(Array(text.utf8), to: out)
            print(String(format: "indexed %d documents (%d terms) in %.2f s; ran %d queries in %.3f s (%.0f µs each); wrote %@",
                         documents.count, index.termCount, indexed, qs.count, searched, searched / Double(max(1, qs.count)) * 1e6, out))
        }
    }
}

struct IREval: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ir-eval",
        abstract: "MAP (top 1000) and nDCG@10 (binary relevance) of a TREC run over the judged queries.")

    @Option(help: "smart (CISI.REL lines) or npl (rlv-ass).") var format: String
    @Option(help: "The relevance judgments.") var qrels: String
    @Option(name: .customLong("run"), help: "The TREC run file.") var runFile: String

    func run() throws {
        try reportingErrors {
            let f = try collectionFormat(format)
            let judgments = TestCollection.parseJudgments(try readText(qrels), format: f)
            let r = RelevanceEvaluator.evaluate(run: TRECRun.parse(try readText(runFile)), judgments: judgments)
            print(String(format: "MAP %.4f  nDCG@10 %.4f  (%d judged queries)", r.map, r.ndcg10, r.queries))
        }
    }
}

/// A whole text file (invalid UTF-8 replaced); a missing or unreadable file is the typed
/// `StrataError.io` naming it.
func readText(_ path: String) throws -> String {
    String(decoding: try FileSystem.readFile(path), as: UTF8.self)
}

func collectionFormat(_ name: String) throws -> TestCollection.Format {
    guard let f = TestCollection.Format(rawValue: name) else { throw StrataError.invalidArgument("format must be smart or npl (got \(name))") }
    return f
}

/// Reads a stop-word file: one word per line, lowercased; `#` or `|` starts a comment (Snowball's
/// lists use `|`).
enum StopWordFile {
    static func parse(_ text: String) -> Set<String> {
        var words = Set<String>()
        for line in text.split(whereSeparator: \.isNewline) {
            let body = line.prefix { $0 != "#" && $0 != "|" }
            for word in body.split(whereSeparator: \.isWhitespace) { words.insert(word.lowercased()) }
        }
        return words
    }
}
