import Foundation

/// An IR test collection: documents, queries and relevance judgments, read from the SMART
/// format (CISI: `.I n` then `.T/.A/.W/.B/.X` fields) or the NPL format (id line, text, `/`).
@_spi(Evaluation) public struct TestCollection: Sendable {
    public struct Document: Sendable { public var id: String; public var text: String }
    public var documents: [Document] = []
    public var queries: [Document] = []

    public enum Format: String, Sendable, CaseIterable { case smart, npl }

    /// SMART records. Fields kept for documents: `.T` (title), `.A` (authors), `.W` (text);
    /// `.B` (publication) and `.X` (cross-references) are skipped.
    public static func parseSMART(_ text: String, fields: Set<String> = [".T", ".A", ".W"]) -> [Document] {
        var out: [Document] = []
        var id: String?
        var body = ""
        var keep = false
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        if lines.last == "" { lines.removeLast() }
        for line in lines {
            if line.hasPrefix(".I") {
                if let id { out.append(Document(id: id, text: body)) }
                id = line.dropFirst(2).trimmingCharacters(in: .whitespaces)
                body = ""
                keep = false
            } else if line.count >= 2 && line.hasPrefix(".") && line.dropFirst(2).allSatisfy({ $0 == " " }) && line.dropFirst().first!.isLetter {
                keep = fields.contains(String(line.prefix(2)))
            } else if keep {
                body += line + "\n"
            }
        }
        if let id { out.append(Document(id: id, text: body)) }
        return out
    }

    /// NPL records: an id line, text lines, a line holding `/`.
    public static func parseNPL(_ text: String) -> [Document] {
        var out: [Document] = []
        var id: String?
        var body = ""
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed == "/" {
                if let id { out.append(Document(id: id, text: body)) }
                id = nil
                body = ""
            } else if id == nil {
                if !trimmed.isEmpty { id = trimmed }
            } else {
                body += line + "\n"
            }
        }
        if let id { out.append(Document(id: id, text: body)) }
        return out
    }

    public static func parse(_ text: String, format: Format) -> [Document] {
        format == .smart ? parseSMART(text) : parseNPL(text)
    }

    /// Relevance judgments: query id → relevant document ids. CISI: `qid docid 0 0.0` lines;
    /// NPL: a query id line, document ids over several lines, `/`.
    public static func parseJudgments(_ text: String, format: Format) -> [String: Set<String>] {
        var out: [String: Set<String>] = [:]
        switch format {
        case .smart:
            for line in text.split(separator: "\n") {
                let f = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
                if f.count >= 2 { out[String(f[0]), default: []].insert(String(f[1])) }
            }
        case .npl:
            var query: String?
            for line in text.split(separator: "\n") {
                let f = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
                if f == ["/"] { query = nil; continue }
                if query == nil { query = f.first; continue }
                for d in f { out[query!, default: []].insert(d) }
            }
        }
        return out
    }
}

/// A TREC run: `qid Q0 docid rank score tag` lines.
@_spi(Evaluation) public enum TRECRun {
    public static func format(query: String, hits: [(doc: String, score: Float)], tag: String) -> String {
        var out = ""
        for (rank, h) in hits.enumerated() { out += "\(query) Q0 \(h.doc) \(rank + 1) \(String(format: "%.6f", h.score)) \(tag)\n" }
        return out
    }

    /// Parses a run: query id → document ids in rank order.
    public static func parse(_ text: String) -> [String: [String]] {
        var rows: [String: [(Int, String)]] = [:]
        for line in text.split(separator: "\n") {
            let f = line.split(separator: " ")
            if f.count >= 4, let rank = Int(f[3]) { rows[String(f[0]), default: []].append((rank, String(f[2]))) }
        }
        return rows.mapValues { $0.sorted { $0.0 < $1.0 }.map(\.1) }
    }
}

/// MAP and nDCG@10 over the judged queries (queries with at least one relevant document),
/// binary relevance, runs cut at 1000 — the conventions of ../shared/data/README.md's table.
@_spi(Evaluation) public enum RelevanceEvaluator {
    public struct Result: Sendable, Equatable { public var map: Double; public var ndcg10: Double; public var queries: Int }

    public static func evaluate(run: [String: [String]], judgments: [String: Set<String>], depth: Int = 1000) -> Result {
        var apSum = 0.0, ndcgSum = 0.0, n = 0
        for (q, relevant) in judgments where !relevant.isEmpty {
            n += 1
            let ranked = Array((run[q] ?? []).prefix(depth))
            var hits = 0, ap = 0.0, dcg = 0.0
            for (i, d) in ranked.enumerated() where relevant.contains(d) {
                hits += 1
                ap += Double(hits) / Double(i + 1)
                if i < 10 { dcg += 1 / log2(Double(i + 2)) }
            }
            apSum += ap / Double(relevant.count)
            let ideal = (0 ..< min(10, relevant.count)).reduce(0.0) { $0 + 1 / log2(Double($1 + 2)) }
            ndcgSum += dcg / ideal
        }
        return n == 0 ? Result(map: 0, ndcg10: 0, queries: 0) : Result(map: apSum / Double(n), ndcg10: ndcgSum / Double(n), queries: n)
    }
}
