#if canImport(Glibc)
import Glibc
#endif

/// The postings of an in-memory index buffer, without a heap allocation per term: every term
/// writes two streams of 32-bit words — (document, frequency) pairs and positions — into slices
/// of one pool of 16 KiB pages, as Lucene's `IntBlockPool` does. A term's first slice holds two
/// words (three with its link); each further slice is twice the size of the one before (up to 192 words) and is
/// reached through the last word of the slice before it, so a term seen once costs two small
/// slices and one fixed-size record, and a frequent term costs little more than its words.
/// Everything lives behind raw pointers: the per-token path has no reference counting and no
/// exclusivity checks.
final class PostingsPool {
    /// One term: where its two streams start and where the next word of each goes.
    struct Term {
        var docStart: UInt32
        var docAt: UInt32
        /// The link word of the docs stream's current slice (a write there starts a new slice).
        var docEnd: UInt32
        var positionStart: UInt32
        var positionAt: UInt32
        var positionEnd: UInt32
        var lastDoc: UInt32
        var docCount: UInt32
        var positionCount: UInt32
        var docLevel: UInt16
        var positionLevel: UInt16
    }

    static let pageShift = 12
    static let pageWords = 1 << pageShift
    /// Words in a slice of each level, its link word included.
    static let maxLevel = 6
    @inline(__always) static func sliceWords(_ level: Int) -> Int { 3 << min(level, maxLevel) }

    private var pages: UnsafeMutablePointer<UnsafeMutablePointer<UInt32>>
    private var pageCapacity = 16
    private var pageCount = 0
    /// The next free word (global index: page << pageShift | offset).
    private var free = 0
    private(set) var terms: UnsafeMutablePointer<Term>
    private var termCapacity = 1024
    private(set) var termCount = 0

    init() {
        pages = .allocate(capacity: pageCapacity)
        terms = .allocate(capacity: termCapacity)
    }

    deinit {
        for p in 0 ..< pageCount { pages[p].deallocate() }
        pages.deallocate()
        terms.deallocate()
    }

    /// Heap bytes held: pages and the term records.
    var bytes: Int { pageCount * Self.pageWords * 4 + pageCapacity * 8 + termCapacity * MemoryLayout<Term>.stride }

    /// Heap bytes in use: `bytes` without the unused rest of the last page (so a tiny buffer
    /// is not counted as a whole page; the difference is under 16 KiB).
    var usedBytes: Int {
        free * 4 + pageCapacity * 8 + termCapacity * MemoryLayout<Term>.stride
    }

    @inline(__always) private func word(_ i: Int) -> UnsafeMutablePointer<UInt32> {
        pages[i >> Self.pageShift] + (i & (Self.pageWords - 1))
    }

    /// A new slice of `level`'s size; returns its first word.
    @inline(__always) private func allocate(_ level: Int) -> Int {
        let n = Self.sliceWords(level)
        if pageCount == 0 || (free & (Self.pageWords - 1)) + n > Self.pageWords || free >> Self.pageShift >= pageCount {
            if pageCount == pageCapacity {
                let grown = UnsafeMutablePointer<UnsafeMutablePointer<UInt32>>.allocate(capacity: pageCapacity * 2)
                grown.moveInitialize(from: pages, count: pageCount)
                pages.deallocate()
                pages = grown
                pageCapacity *= 2
            }
            pages[pageCount] = .allocate(capacity: Self.pageWords)
            free = pageCount << Self.pageShift
            pageCount += 1
        }
        let start = free
        free += n
        return start
    }

    /// Adds a term with no postings yet; returns its number (0, 1, 2, … in order).
    @inline(__always) func addTerm() -> Int {
        if termCount == termCapacity {
            let grown = UnsafeMutablePointer<Term>.allocate(capacity: termCapacity * 2)
            grown.moveInitialize(from: terms, count: termCount)
            terms.deallocate()
            terms = grown
            termCapacity *= 2
        }
        let d = allocate(0), p = allocate(0)
        let w = Self.sliceWords(0) - 1
        (terms + termCount).initialize(to: Term(docStart: UInt32(d), docAt: UInt32(d), docEnd: UInt32(d + w),
                                                positionStart: UInt32(p), positionAt: UInt32(p), positionEnd: UInt32(p + w),
                                                lastDoc: 0, docCount: 0, positionCount: 0, docLevel: 0, positionLevel: 0))
        termCount += 1
        return termCount - 1
    }

    /// Appends `value` to a stream whose next word is `at` (its slice's link word `end`).
    @inline(__always) private func append(_ value: UInt32, _ at: inout UInt32, _ end: inout UInt32, _ level: inout UInt16) {
        if at == end {
            let next = min(Int(level) + 1, Self.maxLevel)
            let s = allocate(next)
            word(Int(end)).pointee = UInt32(s)
            level = UInt16(next)
            at = UInt32(s)
            end = UInt32(s + Self.sliceWords(next) - 1)
        }
        word(Int(at)).pointee = value
        at += 1
    }

    /// Records one occurrence of term `t` in document `doc` (documents arrive in ascending order)
    /// at `position`.
    @inline(__always) func add(_ t: Int, doc: UInt32, position: UInt32) {
        let s = terms + t
        if s.pointee.docCount == 0 || s.pointee.lastDoc != doc {
            append(doc, &s.pointee.docAt, &s.pointee.docEnd, &s.pointee.docLevel)
            append(1, &s.pointee.docAt, &s.pointee.docEnd, &s.pointee.docLevel)
            s.pointee.lastDoc = doc
            s.pointee.docCount += 1
        } else {
            // The frequency is the last word written to the docs stream.
            word(Int(s.pointee.docAt) - 1).pointee += 1
        }
        append(position, &s.pointee.positionAt, &s.pointee.positionEnd, &s.pointee.positionLevel)
        s.pointee.positionCount += 1
    }

    /// Reads one stream word by word, following the slice links.
    private struct StreamReader {
        var at: Int
        var end: Int
        var level = 0
        init(_ start: UInt32) {
            at = Int(start)
            end = at + PostingsPool.sliceWords(0) - 1
        }
        @inline(__always) mutating func next(_ pool: PostingsPool) -> UInt32 {
            if at == end {
                at = Int(pool.word(end).pointee)
                level = min(level + 1, PostingsPool.maxLevel)
                end = at + PostingsPool.sliceWords(level) - 1
            }
            let v = pool.word(at).pointee
            at += 1
            return v
        }
    }

    /// Calls `body` with `count` words of the stream starting at `start`, in order.
    private func read(_ start: UInt32, _ count: Int, _ body: (Int, UInt32) -> Void) {
        var r = StreamReader(start)
        for k in 0 ..< count { body(k, r.next(self)) }
    }

    /// Calls `body` with each posting of term `t` in document order: document, frequency and
    /// its positions (valid inside the call only) — a flush feeds the segment encoder this way
    /// without building arrays per term.
    @inline(__always)
    func forEachPosting(_ t: Int, _ scratch: inout [UInt32], _ body: (UInt32, UInt32, UnsafePointer<UInt32>) throws -> Void) rethrows {
        let s = terms[t]
        var docs = StreamReader(s.docStart), positions = StreamReader(s.positionStart)
        for _ in 0 ..< Int(s.docCount) {
            let doc = docs.next(self), freq = docs.next(self)
            if scratch.count < Int(freq) { scratch.append(contentsOf: repeatElement(0, count: Int(freq) - scratch.count)) }
            try scratch.withUnsafeMutableBufferPointer { p in
                for k in 0 ..< Int(freq) { p[k] = positions.next(self) }
                try body(doc, freq, p.baseAddress!)
            }
        }
    }

    /// Term `t`'s documents, frequencies and concatenated positions, into the arrays (replacing
    /// their contents).
    func postings(_ t: Int, docs: inout [UInt32], freqs: inout [UInt32], positions: inout [UInt32]) {
        let s = terms[t]
        let n = Int(s.docCount), m = Int(s.positionCount)
        docs.removeAll(keepingCapacity: true)
        freqs.removeAll(keepingCapacity: true)
        positions.removeAll(keepingCapacity: true)
        docs.append(contentsOf: repeatElement(0, count: n))
        freqs.append(contentsOf: repeatElement(0, count: n))
        positions.append(contentsOf: repeatElement(0, count: m))
        docs.withUnsafeMutableBufferPointer { d in
            freqs.withUnsafeMutableBufferPointer { f in
                read(s.docStart, 2 * n) { k, v in if k & 1 == 0 { d[k >> 1] = v } else { f[k >> 1] = v } }
            }
        }
        positions.withUnsafeMutableBufferPointer { p in read(s.positionStart, m) { k, v in p[k] = v } }
    }

    /// Documents holding term `t`.
    func documentFrequency(_ t: Int) -> Int { Int(terms[t].docCount) }
}
