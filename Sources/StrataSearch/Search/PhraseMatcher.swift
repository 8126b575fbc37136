extension IndexSearcher {
    /// Checks a phrase in the document every cursor is on. Exact phrases (slop 0) intersect the
    /// candidate start positions token by token, fewest positions in this document first,
    /// decoding a later token's positions only up to the last candidate it could extend (so a
    /// frequent word's long list is mostly left undecoded); sloppy phrases read them all and run
    /// `Phrase.occurs`. Positions go to one reused arena, per-token state to raw memory: checking
    /// a document allocates nothing and does no reference counting.
    final class PhraseMatcher {
        let cursors: [PostingsCursor]
        /// Indices into `cursors`, rarest term first (ties in query order): the order the
        /// leapfrog aligns them in, so the rarest list leads and a frequent word ("the") is
        /// advanced only to documents the others share — not its every block decoded.
        let leapfrogOrder: [Int]
        /// `cursors` in `leapfrogOrder`.
        var leapfrogCursors: [PostingsCursor] { leapfrogOrder.map { cursors[$0] } }
        /// The same cursors, unmanaged (`cursors` keeps them alive): no reference counting per use.
        private let refs: [Unmanaged<PostingsCursor>]
        let slop: Int
        private let offsetList: [Int]
        private let tokenCount: Int
        private let termCount: Int
        /// One block of integers: tokenTerm, offsets, order (per token); frequency, listStart,
        /// listCount, decodedTo (per term).
        private let ints: UnsafeMutablePointer<Int>
        private var tokenTerm: UnsafeMutablePointer<Int> { ints }
        private var offsets: UnsafeMutablePointer<Int> { ints + tokenCount }
        private var order: UnsafeMutablePointer<Int> { ints + 2 * tokenCount }
        private var frequency: UnsafeMutablePointer<Int> { ints + 3 * tokenCount }
        private var listStart: UnsafeMutablePointer<Int> { ints + 3 * tokenCount + termCount }
        private var listCount: UnsafeMutablePointer<Int> { ints + 3 * tokenCount + 2 * termCount }
        /// Per term: the highest position decoded for this document (−1: none; `Int.max`: all).
        private var decodedTo: UnsafeMutablePointer<Int> { ints + 3 * tokenCount + 3 * termCount }
        /// The growable buffers, behind a constant pointer (no exclusivity checks on access).
        private struct Buffers {
            var arena: UnsafeMutablePointer<UInt32>
            var arenaCapacity: Int
            var starts: UnsafeMutablePointer<Int>
            var startsCapacity: Int
        }
        private let buffers: UnsafeMutablePointer<Buffers>

        /// `tokenTerm`: token → index of its term's cursor; `offsets`: token positions relative
        /// to the first token.
        init(cursors: [PostingsCursor], tokenTerm: [Int], offsets: [Int], slop: Int) {
            self.cursors = cursors
            leapfrogOrder = cursors.indices.sorted { (cursors[$0].docFreq, $0) < (cursors[$1].docFreq, $1) }
            refs = cursors.map { Unmanaged.passUnretained($0) }
            self.slop = slop
            offsetList = offsets
            tokenCount = tokenTerm.count
            termCount = cursors.count
            ints = .allocate(capacity: 3 * tokenCount + 4 * termCount)
            buffers = .allocate(capacity: 1)
            buffers.initialize(to: Buffers(arena: .allocate(capacity: 64), arenaCapacity: 64, starts: .allocate(capacity: 64), startsCapacity: 64))
            for k in 0 ..< tokenCount {
                self.tokenTerm[k] = tokenTerm[k]
                self.offsets[k] = offsets[k]
                order[k] = k
            }
        }

        /// `cursors`: one per distinct term, in the order of `terms`; `tokens`: the phrase's
        /// analyzed tokens with their positions.
        convenience init(cursors: [PostingsCursor], terms: [QueryPlan.Term], tokens: [(bytes: [UInt8], position: Int)], slop: Int) {
            self.init(cursors: cursors, tokenTerm: tokens.map { t in terms.firstIndex { $0.bytes == t.bytes }! },
                      offsets: tokens.map { $0.position - tokens[0].position }, slop: slop)
        }

        deinit {
            buffers.pointee.arena.deallocate()
            buffers.pointee.starts.deallocate()
            buffers.deallocate()
            ints.deallocate()
        }

        func matches() throws -> Bool {
            try refs.withUnsafeBufferPointer { try matches($0) }
        }

        private func matches(_ cs: UnsafeBufferPointer<Unmanaged<PostingsCursor>>) throws -> Bool {
            if slop == 0 && tokenCount == 2 && termCount == 2 { return try pairOccurs(cs) }
            // Lay this document's positions out in the arena, one run per term.
            var total = 0
            for t in 0 ..< termCount {
                let f = Int(cs[t]._withUnsafeGuaranteedRef { $0.frequency })
                frequency[t] = f
                listStart[t] = total
                listCount[t] = 0
                decodedTo[t] = -1
                total += f
            }
            if buffers.pointee.arenaCapacity < total { grow(total) }
            let arena = buffers.pointee.arena, starts = buffers.pointee.starts
            func load(_ t: Int, upTo limit: Int) throws {
                if decodedTo[t] >= limit { return }
                let (n, complete) = try cs[t]._withUnsafeGuaranteedRef { try $0.positions(to: arena + listStart[t], upTo: UInt32(clamping: limit)) }
                listCount[t] = n
                decodedTo[t] = complete ? Int.max : limit
            }
            if slop != 0 {
                for t in 0 ..< termCount { try load(t, upTo: Int.max) }
                // The tokens' lists as views of the arena (no copies).
                let lists = (0 ..< tokenCount).map { k in
                    let t = tokenTerm[k]
                    return UnsafeBufferPointer(start: arena + listStart[t], count: listCount[t])
                }
                return Phrase.occurs(lists, offsetList, slop: slop)
            }
            if total == termCount {
                // Every term once in this document (most log lines): one position each, and the
                // phrase holds when every token sits at the same start.
                for t in 0 ..< termCount { try load(t, upTo: Int.max) }
                let start = Int(arena[listStart[tokenTerm[0]]]) - offsets[0]
                for k in 1 ..< tokenCount where Int(arena[listStart[tokenTerm[k]]]) - offsets[k] != start { return false }
                return start >= 0
            }
            // Insertion sort of the (few) tokens by their term's frequency in this document.
            for i in 1 ..< max(1, tokenCount) {
                let token = order[i], f = frequency[tokenTerm[token]]
                var j = i
                while j > 0 && frequency[tokenTerm[order[j - 1]]] > f { order[j] = order[j - 1]; j -= 1 }
                order[j] = token
            }
            var count = 0
            for n in 0 ..< tokenCount {
                let token = order[n], term = tokenTerm[token], off = offsets[token]
                if n == 0 {
                    try load(term, upTo: Int.max)
                    let list = arena + listStart[term]
                    for k in 0 ..< listCount[term] where Int(list[k]) >= off { starts[count] = Int(list[k]) - off; count += 1 }
                } else {
                    // starts ∩ (positions − off), both ascending, in place; positions past the
                    // last candidate + off cannot match and are not decoded.
                    try load(term, upTo: starts[count - 1] + off)
                    let list = arena + listStart[term], m = listCount[term]
                    var kept = 0, i = 0, j = 0
                    while i < count && j < m {
                        let v = Int(list[j]) - off
                        if starts[i] < v { i += 1 } else if starts[i] > v { j += 1 } else { starts[kept] = v; kept += 1; i += 1; j += 1 }
                    }
                    count = kept
                }
                if count == 0 { return false }
            }
            return true
        }

        /// An exact phrase of two different words (half of the phrases users type): the
        /// positions of the word rarer in this document are read whole, the other's only up to
        /// the last place it could follow (or precede) one of them, and the first pair at the
        /// phrase's distance ends the check.
        private func pairOccurs(_ cs: UnsafeBufferPointer<Unmanaged<PostingsCursor>>) throws -> Bool {
            // `gap`: how far the second token sits after the first; a start (the first token's
            // position less its offset, 0 from the parser) may not be negative.
            let first = cs[tokenTerm[0]], second = cs[tokenTerm[1]]
            let lead = offsets[0], gap = offsets[1] - lead
            let f0 = Int(first._withUnsafeGuaranteedRef { $0.frequency }), f1 = Int(second._withUnsafeGuaranteedRef { $0.frequency })
            if buffers.pointee.arenaCapacity < f0 + f1 { grow(f0 + f1) }
            let a = buffers.pointee.arena, b = a + f0
            // a: the first word's positions, b: the second's; the rarer is read whole.
            let n0: Int, n1: Int
            if f0 <= f1 {
                n0 = try first._withUnsafeGuaranteedRef { try $0.positions(to: a, upTo: UInt32.max) }.count
                if n0 == 0 { return false }
                n1 = try second._withUnsafeGuaranteedRef { try $0.positions(to: b, upTo: UInt32(clamping: Int(a[n0 - 1]) + gap)) }.count
            } else {
                n1 = try second._withUnsafeGuaranteedRef { try $0.positions(to: b, upTo: UInt32.max) }.count
                if n1 == 0 || Int(b[n1 - 1]) < gap { return false }
                n0 = try first._withUnsafeGuaranteedRef { try $0.positions(to: a, upTo: UInt32(Int(b[n1 - 1]) - gap)) }.count
            }
            // Is some b[j] − a[i] == gap? Both ascending: a merge, ending at the first pair.
            var i = 0, j = 0
            while i < n0 && j < n1 {
                let want = Int(a[i]) + gap, have = Int(b[j])
                if have == want && Int(a[i]) >= lead { return true }
                if have <= want { j += 1 } else { i += 1 }
            }
            return false
        }

        /// Room in the arena (and the start list) for `total` positions.
        private func grow(_ total: Int) {
            let capacity = max(total, 2 * buffers.pointee.arenaCapacity)
            buffers.pointee.arena.deallocate()
            buffers.pointee.arena = .allocate(capacity: capacity)
            buffers.pointee.arenaCapacity = capacity
            buffers.pointee.starts.deallocate()
            buffers.pointee.starts = .allocate(capacity: capacity)
            buffers.pointee.startsCapacity = capacity
        }
    }
}
