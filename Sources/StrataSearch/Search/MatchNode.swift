/// A node of the query engine's match tree: the documents one clause matches in one segment
/// (or the memory buffer), in ascending order, and the score of the current one. Every query
/// shape compiles to a tree of these (`MatchTree`); the shapes `QueryPlan` knows run on its
/// specialised loops instead, over the same cursors, scorers and collector.
///
/// Iteration has two phases, as Lucene's `TwoPhaseIterator`: `doc` moves over candidates,
/// and `matches()` confirms the current one. Only a phrase's candidates can fail (every term is
/// there; positions are read in `matches()`), so a conjunction aligns its children on cheap
/// candidates and reads a phrase's positions only where every other clause agrees.
/// A node is on its first candidate once built, as a `PostingsCursor` is after opening;
/// `PostingsCursor.exhausted` means past the last.
protocol MatchNode: AnyObject {
    /// The current candidate (`PostingsCursor.exhausted` past the end).
    var doc: UInt32 { get }
    /// At most this many documents match (conjunctions lead with the cheapest child).
    var cost: Int { get }
    /// Moves to the first candidate ≥ `target`; nothing when already there or past it.
    func advance(to target: UInt32) throws
    /// Moves past the current candidate.
    func next() throws
    /// Whether the current candidate matches (asked at most once per candidate by each parent;
    /// nodes whose candidates all match say yes).
    func matches() throws -> Bool
    /// The current document's score, once it matches (0 for clauses that do not score).
    func score() throws -> Float
}

/// One term's postings through a cursor, scored by BM25 from the term's frequency and the
/// document's norm.
final class CursorTermNode: MatchNode {
    let cursor: PostingsCursor
    private let scorer: TermScorer?

    init(_ cursor: PostingsCursor, scorer: TermScorer?) {
        self.cursor = cursor
        self.scorer = scorer
    }

    var doc: UInt32 { cursor.doc }
    var cost: Int { cursor.docFreq }
    func advance(to target: UInt32) throws { try cursor.advance(to: target) }
    func next() throws { try cursor.next() }
    func matches() -> Bool { true }
    func score() -> Float {
        guard let scorer else { return 0 }
        return scorer.score(cursor.frequency, cursor.segment.norm(Int(cursor.doc)))
    }
}

/// One term's postings held in arrays (the memory buffer's), scored as `CursorTermNode`.
final class ListTermNode: MatchNode {
    private let docs: [UInt32]
    private let freqs: [UInt32]
    private let norm: (Int) -> UInt32
    private let scorer: TermScorer?
    private var index = 0
    private(set) var doc: UInt32

    init(docs: [UInt32], freqs: [UInt32], norm: @escaping (Int) -> UInt32, scorer: TermScorer?) {
        self.docs = docs
        self.freqs = freqs
        self.norm = norm
        self.scorer = scorer
        doc = docs.first ?? PostingsCursor.exhausted
    }

    var cost: Int { docs.count }

    func advance(to target: UInt32) {
        if doc >= target { return }
        // Galloping, then a binary search in the last step.
        var step = 1, hi = index + 1
        while hi < docs.count && docs[hi] < target { index = hi; hi += step; step <<= 1 }
        var lo = index + 1
        hi = min(hi, docs.count)
        while lo < hi {
            let mid = (lo + hi) >> 1
            if docs[mid] < target { lo = mid + 1 } else { hi = mid }
        }
        index = lo
        doc = index < docs.count ? docs[index] : PostingsCursor.exhausted
    }

    func matches() -> Bool { true }

    func next() {
        guard index < docs.count else { return }
        index += 1
        doc = index < docs.count ? docs[index] : PostingsCursor.exhausted
    }

    func score() -> Float {
        guard let scorer else { return 0 }
        return scorer.score(freqs[index], norm(Int(doc)))
    }
}

/// A phrase through its terms' cursors: candidates are the documents of the conjunction of its
/// terms (the rarest leads); `matches()` reads their positions (`PhraseMatcher`). Scores as that
/// conjunction: the sum of its terms' BM25 (term frequencies, not the phrase's), as the rest of
/// the engine.
final class CursorPhraseNode: MatchNode {
    private let matcher: IndexSearcher.PhraseMatcher
    private let terms: ConjunctionNode
    /// The candidate last checked, and what its positions said.
    private var checked = PostingsCursor.exhausted
    private var checkedMatches = false

    /// `scorers`: per `matcher.cursors` entry.
    init(_ matcher: IndexSearcher.PhraseMatcher, scorers: [TermScorer?]) throws {
        self.matcher = matcher
        terms = try ConjunctionNode(zip(matcher.cursors, scorers).map { CursorTermNode($0.0, scorer: $0.1) })
    }

    var doc: UInt32 { terms.doc }
    var cost: Int { terms.cost }
    func advance(to target: UInt32) throws { try terms.advance(to: target) }
    func next() throws { try terms.next() }
    func score() throws -> Float { try terms.score() }

    func matches() throws -> Bool {
        if checked != doc {
            checked = doc
            checkedMatches = try matcher.matches()
        }
        return checkedMatches
    }
}

/// The documents of a set (the set-based fallback's answer for a clause: phrase prefixes,
/// fuzzy and text ranges, numeric clauses, exists), each scoring `constant` plus the scores of
/// `scorers` on it — the terms a phrase prefix scores by.
final class SetNode: MatchNode {
    private let set: DocSet
    private let constant: Float
    private let scorers: [MatchNode]
    let cost: Int
    private(set) var doc: UInt32

    init(_ set: DocSet, constant: Float, scorers: [MatchNode] = []) {
        self.set = set
        self.constant = constant
        self.scorers = scorers
        cost = set.count
        doc = set.first(from: 0)
    }

    func advance(to target: UInt32) { if target > doc { doc = set.first(from: target) } }
    func next() { if doc != PostingsCursor.exhausted { doc = set.first(from: doc + 1) } }
    func matches() -> Bool { true }

    func score() throws -> Float {
        var s = constant
        for n in scorers {
            try n.advance(to: doc)
            if n.doc == doc, try n.matches() { s += try n.score() }
        }
        return s
    }
}

/// Documents 0 ..< `count`, each scoring `constant`: match-all (1) and the base a purely
/// negative boolean subtracts from (0).
final class AllNode: MatchNode {
    private let count: UInt32
    private let constant: Float
    private(set) var doc: UInt32

    init(count: Int, constant: Float) {
        self.count = UInt32(count)
        self.constant = constant
        doc = count > 0 ? 0 : PostingsCursor.exhausted
    }

    var cost: Int { Int(count) }
    func advance(to target: UInt32) { if target > doc { doc = target < count ? target : PostingsCursor.exhausted } }
    func next() { advance(to: doc == PostingsCursor.exhausted ? doc : doc + 1) }
    func matches() -> Bool { true }
    func score() -> Float { constant }
}

/// Documents every child matches (leapfrog, cheapest child first); the score is their sum.
final class ConjunctionNode: MatchNode {
    private let children: [MatchNode]
    private(set) var doc: UInt32 = 0

    init(_ children: [MatchNode]) throws {
        self.children = children.sorted { $0.cost < $1.cost }
        try settle(self.children[0].doc)
    }

    var cost: Int { children[0].cost }

    private func settle(_ start: UInt32) throws {
        var target = start
        outer: while target != PostingsCursor.exhausted {
            for c in children {
                try c.advance(to: target)
                if c.doc != target { target = c.doc; continue outer }
            }
            doc = target
            return
        }
        doc = PostingsCursor.exhausted
    }

    func advance(to target: UInt32) throws { if target > doc { try settle(target) } }
    func next() throws {
        guard doc != PostingsCursor.exhausted else { return }
        try children[0].next()
        try settle(children[0].doc)
    }

    func matches() throws -> Bool {
        for c in children where try !c.matches() { return false }
        return true
    }

    func score() throws -> Float {
        var s: Float = 0
        for c in children { s += try c.score() }
        return s
    }
}

/// Documents at least `minimum` children match; the score sums the matching children.
/// Candidates: documents at least `minimum` children are on.
final class DisjunctionNode: MatchNode {
    private let children: [MatchNode]
    private let minimum: Int
    let cost: Int
    private(set) var doc: UInt32 = 0

    init(_ children: [MatchNode], minimum: Int = 1) throws {
        self.children = children
        self.minimum = max(1, minimum)
        cost = children.reduce(0) { $0 + $1.cost }
        try settle()
    }

    private func settle() throws {
        while true {
            var d = PostingsCursor.exhausted, on = 0
            for c in children {
                if c.doc < d { d = c.doc; on = 1 } else if c.doc == d { on += 1 }
            }
            if d == PostingsCursor.exhausted || on >= minimum { doc = d; return }
            for c in children where c.doc == d { try c.next() }
        }
    }

    func advance(to target: UInt32) throws {
        if target <= doc { return }
        for c in children { try c.advance(to: target) }
        try settle()
    }

    func next() throws {
        guard doc != PostingsCursor.exhausted else { return }
        for c in children where c.doc == doc { try c.next() }
        try settle()
    }

    func matches() throws -> Bool {
        var n = 0
        for c in children where c.doc == doc {
            if try c.matches() { n += 1; if n >= minimum { return true } }
        }
        return false
    }

    func score() throws -> Float {
        var s: Float = 0
        for c in children where c.doc == doc { if try c.matches() { s += try c.score() } }
        return s
    }
}

/// `DisjunctionNode` for many children: a min-heap by document, so a move touches only the
/// children behind the target, not every child (long should lists, many-term ORs in a tree).
/// The heap, each child's current document and the walk's stack live in raw memory: moving a
/// child and restoring the heap compare plain integers, with no exclusivity checks.
final class HeapDisjunctionNode: MatchNode {
    private let children: [MatchNode]
    private let minimum: Int
    let cost: Int
    private(set) var doc: UInt32 = 0
    private let n: Int
    /// Child indices, a min-heap by `docs`.
    private let heap: UnsafeMutablePointer<Int>
    /// Per child: its current document.
    private let docs: UnsafeMutablePointer<UInt32>
    /// Heap slots left to visit while walking the children on the current document.
    private let stack: UnsafeMutablePointer<Int>

    init(_ children: [MatchNode], minimum: Int = 1) throws {
        self.children = children
        self.minimum = max(1, minimum)
        cost = children.reduce(0) { $0 + $1.cost }
        n = children.count
        heap = .allocate(capacity: n)
        docs = .allocate(capacity: n)
        stack = .allocate(capacity: n)
        for i in 0 ..< n {
            heap[i] = i
            docs[i] = children[i].doc
        }
        for k in stride(from: n / 2 - 1, through: 0, by: -1) { siftDown(k) }
        try settle()
    }

    deinit {
        heap.deallocate()
        docs.deallocate()
        stack.deallocate()
    }

    private func siftDown(_ start: Int) {
        var k = start
        let moving = heap[k], d = docs[moving]
        while true {
            let l = 2 * k + 1
            if l >= n { break }
            var least = l
            if l + 1 < n && docs[heap[l + 1]] < docs[heap[l]] { least = l + 1 }
            if docs[heap[least]] >= d { break }
            heap[k] = heap[least]
            k = least
        }
        heap[k] = moving
    }

    private var top: UInt32 { docs[heap[0]] }

    /// Moves the heap's top child with `move` and restores the heap.
    @inline(__always) private func moveTop(_ move: (MatchNode) throws -> Void) rethrows {
        let i = heap[0], c = children[i]
        try move(c)
        docs[i] = c.doc
        siftDown(0)
    }

    /// Calls `body` with each child on document `d` (the slots whose document is `d` form a
    /// subtree at the root) until it returns false.
    private func forEachOn(_ d: UInt32, _ body: (MatchNode) throws -> Bool) rethrows {
        guard top == d else { return }
        var depth = 1
        stack[0] = 0
        while depth > 0 {
            depth -= 1
            let k = stack[depth]
            if try !body(children[heap[k]]) { return }
            let l = 2 * k + 1, r = l + 1
            if l < n && docs[heap[l]] == d { stack[depth] = l; depth += 1 }
            if r < n && docs[heap[r]] == d { stack[depth] = r; depth += 1 }
        }
    }

    private func settle() throws {
        while true {
            let d = top
            if d == PostingsCursor.exhausted || minimum == 1 { doc = d; return }
            var on = 0
            forEachOn(d) { _ in on += 1; return on < minimum }
            if on >= minimum { doc = d; return }
            while top == d { try moveTop { try $0.next() } }
        }
    }

    func advance(to target: UInt32) throws {
        if target <= doc { return }
        while top < target { try moveTop { try $0.advance(to: target) } }
        try settle()
    }

    func next() throws {
        guard doc != PostingsCursor.exhausted else { return }
        let d = doc
        while top == d { try moveTop { try $0.next() } }
        try settle()
    }

    func matches() throws -> Bool {
        var matched = 0
        try forEachOn(doc) { c in
            if try c.matches() { matched += 1 }
            return matched < minimum
        }
        return matched >= minimum
    }

    func score() throws -> Float {
        var s: Float = 0
        try forEachOn(doc) { c in
            if try c.matches() { s += try c.score() }
            return true
        }
        return s
    }
}

/// The documents of `required` that `excluded` does not match; scores as `required`.
final class ExclusionNode: MatchNode {
    private let required: MatchNode
    private let excluded: MatchNode

    init(_ required: MatchNode, excluding excluded: MatchNode) throws {
        self.required = required
        self.excluded = excluded
        try settle()
    }

    var doc: UInt32 { required.doc }
    var cost: Int { required.cost }

    private func settle() throws {
        while required.doc != PostingsCursor.exhausted {
            try excluded.advance(to: required.doc)
            if excluded.doc != required.doc { return }
            if try !excluded.matches() { return }
            try required.next()
        }
    }

    func advance(to target: UInt32) throws {
        if target <= doc { return }
        try required.advance(to: target)
        try settle()
    }

    func next() throws {
        try required.next()
        try settle()
    }

    func matches() throws -> Bool { try required.matches() }
    func score() throws -> Float { try required.score() }
}

/// The documents of `required`, scoring its score plus `optional`'s where that matches too
/// (a boolean's should clauses beside must clauses).
final class OptionalNode: MatchNode {
    private let required: MatchNode
    private let optional: MatchNode

    init(_ required: MatchNode, optional: MatchNode) {
        self.required = required
        self.optional = optional
    }

    var doc: UInt32 { required.doc }
    var cost: Int { required.cost }
    func advance(to target: UInt32) throws { try required.advance(to: target) }
    func next() throws { try required.next() }
    func matches() throws -> Bool { try required.matches() }

    func score() throws -> Float {
        let d = required.doc
        var s = try required.score()
        try optional.advance(to: d)
        if optional.doc == d, try optional.matches() { s += try optional.score() }
        return s
    }
}
