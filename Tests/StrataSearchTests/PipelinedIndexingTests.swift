import Foundation
import Testing
import StrataIO
@_spi(Internals) @testable import StrataSearch

/// `Options.pipelinedIndexing`: the adding thread analyzes, a second thread writes postings.
/// Whatever the interleaving, the index must be the one a single thread builds.
@Suite struct PipelinedIndexingTests {
    /// The same adds, term deletes, refreshes and a dynamic field that appears mid-way, with and
    /// without the pipeline, and buffers small enough to flush many times (some flushes fall
    /// mid-batch, some deletes arrive with batches in flight): every file of the two committed
    /// indexes is byte for byte the same.
    @Test func pipelinedAndSingleThreadedIndexesAreByteIdentical() throws {
        let corpus = Corpus(count: 3_000, seed: 11)
        var schema = try Corpus.schema()
        schema.dynamic = .add
        // Every flush stays a segment of its own, so the split points are compared too.
        let noMerges = TieredMergePolicy(mergeFactor: 1_000, maxDeletedRatio: 1.0)
        func build(_ pipelined: Bool) throws -> String {
            let dir = tempDirectory(pipelined ? "pipe-on" : "pipe-off")
            let index = try SearchIndex(directory: dir, schema: schema, options: .init(bufferBytes: 192 << 10, mergePolicy: noMerges, pipelinedIndexing: pipelined))
            for (i, d) in corpus.docs.enumerated() {
                var json = corpus.json(d)
                // A field first seen at document 1,000 (dynamic mapping: text plus keyword).
                if i >= 1_000 && i % 3 == 0 { json = String(json.dropLast()) + #","note":"Late Field \#(i % 17) Value""# + "}" }
                // A value with several tokens per array element and an empty one.
                if i % 7 == 0 { json = String(json.dropLast()) + #","body2":["One Two","","three \#(i)"]"# + "}" }
                try index.add(json: json)
                if i % 97 == 96 { try index.delete(field: "tags", value: "red") }
                if i % 1_100 == 1_099 { try index.refresh() }
                if i == 2_000 { _ = try index.commit() }
            }
            #expect(index.bufferedDocuments <= corpus.docs.count)
            _ = try index.commit()
            index.close()
            return dir
        }
        let on = try build(true), off = try build(false)
        let files = try FileSystem.list(on).sorted()
        // More segments than refreshes and commits made: buffers filled between them (once the
        // late field adds two more, nearly every document fills one: seals inside batches).
        let segments = files.filter { $0.hasPrefix("s") && $0.hasSuffix(".dv") }
        #expect(segments.count > 3_000 / 1_100 + 2, "\(segments.count) segments")
        #expect(try FileSystem.list(off).sorted() == files)
        #expect(files.count > 10, "several segments: \(files)")
        for f in files {
            let a = try Data(contentsOf: URL(fileURLWithPath: on + "/" + f)), b = try Data(contentsOf: URL(fileURLWithPath: off + "/" + f))
            #expect(a == b, "\(f) differs")
        }
        // And the index answers as the documents say.
        let index = try SearchIndex(directory: on)
        let s = index.searcher()
        // A document is gone when it has the tag and a delete came after it (the last at 2,909).
        let live = (0 ..< 3_000).filter { !(corpus.docs[$0].tags.contains("red") && $0 <= 2_909) }
        #expect(try s.count(.matchAll) == live.count)
        #expect(try s.count(QueryParser.parse("note:late")) == live.filter { $0 >= 1_000 && $0 % 3 == 0 }.count)
        #expect(try s.count(QueryParser.parse("body2:\"one two\"")) == live.filter { $0 % 7 == 0 }.count)
        index.close()
    }

    /// Documents added are counted, flushed and searchable at once through the pipeline: the
    /// buffer's count, a refresh, and a flush forced by a tiny buffer all see every document.
    @Test func everyReadOfTheBufferSeesEveryDocumentAdded() throws {
        let corpus = Corpus(count: 700)
        let index = try SearchIndex(directory: tempDirectory("pipe-reads"), schema: Corpus.schema())
        for (i, d) in corpus.docs.enumerated() {
            try index.add(json: corpus.json(d))
            if i == 10 || i == 300 { #expect(index.bufferedDocuments == i + 1) }
        }
        try index.refresh()
        #expect(try index.searcher().count(.matchAll) == 700)
        let small = try SearchIndex(directory: tempDirectory("pipe-small"), schema: Corpus.schema(), options: .init(bufferBytes: 16 << 10))
        for d in corpus.docs { try small.add(json: corpus.json(d)) }
        #expect(small.segmentCount > 2, "the buffer flushed while batches were in flight")
        try small.refresh()
        #expect(try small.searcher().count(.matchAll) == 700)
        index.close()
        small.close()
    }

    /// Closing with batches in flight drops the uncommitted documents (as without the
    /// pipeline), stops the thread and leaves the last commit; a dropped index stops it too.
    @Test func closingWithBatchesInFlightKeepsTheLastCommit() throws {
        let corpus = Corpus(count: 2_000)
        let dir = tempDirectory("pipe-close")
        do {
            let index = try SearchIndex(directory: dir, schema: Corpus.schema())
            for d in corpus.docs.prefix(600) { try index.add(json: corpus.json(d)) }
            _ = try index.commit()
            for d in corpus.docs.dropFirst(600) { try index.add(json: corpus.json(d)) }
            index.close()
            #expect(throws: StrataError.self) { try index.add(json: corpus.json(corpus.docs[0])) }
        }
        do {
            let index = try SearchIndex(directory: dir)
            #expect(try index.searcher().count(.matchAll) == 600)
            for d in corpus.docs.prefix(900) { try index.add(json: corpus.json(d)) }
            // Dropped without close: deinit stops the thread.
        }
        let reopened = try SearchIndex(directory: dir)
        #expect(try reopened.searcher().count(.matchAll) == 600)
        reopened.close()
    }

    /// Several threads adding at once (the index's lock orders them) while another refreshes
    /// and searches: every document lands once.
    @Test func concurrentAddersAndRefreshes() throws {
        let corpus = Corpus(count: 4_000)
        let index = try SearchIndex(directory: tempDirectory("pipe-threads"), schema: Corpus.schema(), options: .init(bufferBytes: 256 << 10))
        let docs = corpus.docs.map { corpus.json($0) }
        let failures = Atomic(0)
        DispatchQueue.concurrentPerform(iterations: 5) { worker in
            if worker == 4 {
                for _ in 0 ..< 20 {
                    do { try index.refresh(); _ = try index.searcher().count(.matchAll) } catch { failures.add(1) }
                }
                return
            }
            for k in stride(from: worker, to: docs.count, by: 4) {
                do { try index.add(json: docs[k]) } catch { failures.add(1) }
            }
        }
        #expect(failures.load() == 0)
        try index.refresh()
        #expect(try index.searcher().count(.matchAll) == 4_000)
        index.close()
    }
}
