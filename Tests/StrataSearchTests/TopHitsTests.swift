import Testing
@_spi(Internals) @testable import StrataSearch

/// The top-k collector against a full sort: hits offered in a scrambled order, with many tied
/// scores and sort values, must come out as the first k of all of them sorted (score or value,
/// then segment, then document), for every k from 1 past the number of hits.
@Suite struct TopHitsTests {
    static func hits(_ n: Int) -> [SearchHit] {
        var x: UInt64 = 0x9E37_79B9_7F4A_7C15
        return (0 ..< n).map { i in
            x ^= x << 13; x ^= x >> 7; x ^= x << 17
            // Eight scores and values only: ties on the sort are the rule, not the exception.
            return SearchHit(segment: Int(x >> 40) % 3, document: UInt32(i), score: Float(x % 8) / 4,
                             sortValue: x % 5 == 0 ? nil : Double((x >> 8) % 8))
        }
    }

    static func ranksBefore(_ a: SearchHit, _ b: SearchHit, _ sort: SearchSort) -> Bool {
        switch sort {
        case .score:
            if a.score != b.score { return a.score > b.score }
        case let .field(_, descending):
            switch (a.sortValue, b.sortValue) {
            case let (x?, y?) where x != y: return descending ? x > y : x < y
            case (.some, nil): return true
            case (nil, .some): return false
            default: break
            }
        }
        return a.segment != b.segment ? a.segment < b.segment : a.document < b.document
    }

    @Test(arguments: [SearchSort.score, .field("v", descending: true), .field("v", descending: false)])
    func topKIsThePrefixOfTheFullSort(_ sort: SearchSort) {
        let all = Self.hits(300)
        let reference = all.sorted { Self.ranksBefore($0, $1, sort) }
        for k in [1, 2, 3, 7, 10, 31, 32, 33, 100, 299, 300, 301] {
            var top = TopHits(limit: k, sort: sort)
            for h in all { top.offer(h) }
            let got = top.sorted()
            #expect(got == Array(reference.prefix(k)), "k \(k), \(sort)")
            if got.count == k { #expect(top.threshold == got.last, "the k-th hit is the bar, k \(k)") }
        }
    }
}
