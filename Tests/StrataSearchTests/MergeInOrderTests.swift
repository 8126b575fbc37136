import Foundation
import Testing
import StrataIO
@_spi(Internals) @testable import StrataSearch

/// Merges in order without deletes read norms and numeric columns from the mapped inputs as
/// they write (no per-document arrays); with deletes they renumber through arrays. Both must
/// give the segment a flush of the same documents gives.
@Suite struct MergeInOrderTests {
    /// Segments whose fields differ: `ts` ascends in all of them (absent in one segment), `n`
    /// exists only in some, `x` is an f64; merged with and without a delete.
    private func build(_ tag: String) throws -> (SearchIndex, [(ts: Int64?, n: Int64?, x: Double, body: String)]) {
        let schema = try Schema(fields: [FieldDefinition("body", .text(.standard)), FieldDefinition("ts", .i64), FieldDefinition("n", .i64), FieldDefinition("x", .f64)], dynamic: .ignore)
        let index = try SearchIndex(directory: tempDirectory(tag), schema: schema, options: .init(bufferBytes: 1 << 30, mergePolicy: TieredMergePolicy(mergeFactor: 1000)))
        var docs: [(ts: Int64?, n: Int64?, x: Double, body: String)] = []
        var ts: Int64 = 1000
        for segment in 0 ..< 5 {
            for i in 0 ..< 150 + 37 * segment {
                ts += Int64(i % 3)
                let d: (ts: Int64?, n: Int64?, x: Double, body: String) = (segment == 2 ? nil : ts, segment % 2 == 0 ? Int64(i * 7 % 11) - 5 : nil, Double(i) / 3, String(repeating: "w\(i % 17) ", count: 1 + i % 5) + "seg\(segment) all")
                docs.append(d)
                var json = "{\"body\":\"\(d.body)\",\"x\":\(d.x)"
                if let t = d.ts { json += ",\"ts\":\(t)" }
                if let n = d.n { json += ",\"n\":\(n)" }
                try index.add(json: json + "}")
            }
            try index.commit()
        }
        return (index, docs)
    }

    private func check(_ index: SearchIndex, _ docs: [(ts: Int64?, n: Int64?, x: Double, body: String)], _ what: String) throws {
        #expect(index.segmentCount == 1, "\(what): one segment")
        try index.checkIntegrity() // recomputes every statistic and compares it with the stored one
        let s = index.searcher()
        let reader = s.segments[0].reader
        #expect(reader.documentCount == docs.count)
        let schema = s.schema
        let ts = try #require(reader.docValues.numericColumn(schema.number(of: "ts")!))
        let n = try #require(reader.docValues.numericColumn(schema.number(of: "n")!))
        let x = try #require(reader.docValues.numericColumn(schema.number(of: "x")!))
        for (d, doc) in docs.enumerated() {
            #expect(ts.has(d) == (doc.ts != nil) && (doc.ts == nil || ts.bits(d) == doc.ts!), "\(what): ts of \(d)")
            #expect(n.has(d) == (doc.n != nil) && (doc.n == nil || n.bits(d) == doc.n!), "\(what): n of \(d)")
            #expect(x.double(d) == doc.x, "\(what): x of \(d)")
        }
        #expect(ts.range?.min == docs.compactMap(\.ts).min() && ts.range?.max == docs.compactMap(\.ts).max())
        #expect(!ts.ascending, "\(what): a segment without ts after one with it breaks the order")
        #expect(n.range?.min == docs.compactMap(\.n).min() && n.range?.max == docs.compactMap(\.n).max())
        let body = try #require(reader.invertedField(schema.number(of: "body")!))
        for (d, doc) in docs.enumerated() {
            #expect(body.norm(d) == UInt32(doc.body.split(separator: " ").count), "\(what): length of \(d)")
        }
        #expect(try s.count(QueryParser.parse("seg3")) == docs.filter { $0.body.hasSuffix("seg3 all") }.count)
        #expect(try s.count(QueryParser.parse("\"w4 w4 w4\"")) == docs.filter { $0.body.contains("w4 w4 w4") }.count)
    }

    @Test func inOrderWithoutDeletes() throws {
        let (index, docs) = try build("merge-order")
        try index.forceMerge()
        try check(index, docs, "no deletes")
    }

    /// A merge in order streams postings through the encoder; a flush of the same documents
    /// encodes them from the buffer: the files must be the same bytes.
    @Test func mergedFilesEqualOneFlush() throws {
        let (merged, docs) = try build("merge-bytes")
        try merged.forceMerge()
        let once = try SearchIndex(directory: tempDirectory("merge-bytes-once"), schema: merged.schema, options: .init(bufferBytes: 1 << 30))
        for d in docs {
            var json = "{\"body\":\"\(d.body)\",\"x\":\(d.x)"
            if let t = d.ts { json += ",\"ts\":\(t)" }
            if let n = d.n { json += ",\"n\":\(n)" }
            try once.add(json: json + "}")
        }
        try once.commit()
        func files(_ index: SearchIndex) throws -> [String: [UInt8]] {
            var out: [String: [UInt8]] = [:]
            for name in try FileSystem.list(index.directory) where name.hasSuffix(".inv") || name.hasSuffix(".dv") {
                out[String(name.drop { $0 != "." })] = try FileSystem.readFile(index.directory + "/" + name)
            }
            return out
        }
        let a = try files(merged), b = try files(once)
        #expect(a.keys.sorted() == b.keys.sorted() && !a.isEmpty)
        for (k, bytes) in a { #expect(bytes == b[k], "\(k) differs between the merge and the flush") }
    }

    @Test func withDeletes() throws {
        let (index, docs) = try build("merge-deletes")
        try index.delete(field: "body", value: "seg1")
        try index.commit()
        try index.forceMerge()
        try check(index, docs.filter { !$0.body.hasSuffix("seg1 all") }, "seg1 deleted")
    }
}
