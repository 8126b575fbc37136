import Testing
@_spi(Internals) @testable import StrataSearch

@Suite struct PostingsPoolTests {
    /// Terms written interleaved, some once, some across many slices and pages, read back equal
    /// to plain arrays built beside them.
    @Test func slicesAndPagesReadBackInOrder() {
        let pool = PostingsPool()
        var reference: [MemoryIndex.Postings] = []
        var rng = SystemRandomNumberGenerator()
        let terms = 3000
        for _ in 0 ..< terms {
            _ = pool.addTerm()
            reference.append(.init(docs: [], freqs: [], positions: []))
        }
        for doc in UInt32(0) ..< 400 {
            var position: UInt32 = 0
            for _ in 0 ..< 60 {
                // A skewed choice: term 0 is in every document many times, most others rarely.
                let t = Int.random(in: 0 ..< 4, using: &rng) == 0 ? 0 : Int.random(in: 0 ..< terms, using: &rng) / Int.random(in: 1 ... 50, using: &rng)
                pool.add(t, doc: doc, position: position)
                if reference[t].docs.last == doc {
                    reference[t].freqs[reference[t].freqs.count - 1] += 1
                } else {
                    reference[t].docs.append(doc)
                    reference[t].freqs.append(1)
                }
                reference[t].positions.append(position)
                position += UInt32.random(in: 1 ... 3, using: &rng)
            }
        }
        #expect(pool.bytes > 4 * PostingsPool.pageWords * 4, "the test spans several pages")
        #expect(pool.usedBytes <= pool.bytes && pool.bytes - pool.usedBytes < PostingsPool.pageWords * 4)
        var docs: [UInt32] = [], freqs: [UInt32] = [], positions: [UInt32] = []
        for t in 0 ..< terms {
            pool.postings(t, docs: &docs, freqs: &freqs, positions: &positions)
            #expect(docs == reference[t].docs && freqs == reference[t].freqs && positions == reference[t].positions, "term \(t)")
            #expect(pool.documentFrequency(t) == reference[t].docs.count)
        }
    }
}
