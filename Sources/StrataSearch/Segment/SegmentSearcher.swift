import StrataIO

/// Runs queries on an on-disk segment: the segment plus the analyzer of its field. Postings are
/// decoded from the mapping when a query needs them.
struct SegmentSearcher: PostingsSource {
    let segment: IndexSegment
    let analyzer: Analyzer
    let field: String

    init(segment: IndexSegment, analyzer: Analyzer, field: String = "message") {
        self.segment = segment
        self.analyzer = analyzer
        self.field = field
    }

    var documentCount: Int { segment.documentCount }
    var totalTokens: UInt64 { segment.totalTokens }
    func norm(_ doc: Int) -> UInt32 { segment.norm(doc) }

    private func materialize(_ info: IndexSegment.TermInfo, positions withPositions: Bool = true) throws -> TermPostings {
        var docs: [UInt32] = [], freqs: [UInt32] = [], positions: [UInt32] = []
        try segment.decode(info, withPositions: withPositions, &docs, &freqs, &positions)
        if !withPositions { return TermPostings(docs: docs, freqs: freqs, posStart: [], positions: []) }
        var posStart: [UInt32] = []
        posStart.reserveCapacity(freqs.count)
        var at: UInt32 = 0
        for f in freqs { posStart.append(at); at += f }
        return TermPostings(docs: docs, freqs: freqs, posStart: posStart, positions: positions)
    }

    func termPostings(_ term: UnsafeRawBufferPointer) throws -> TermPostings? {
        try segment.lookup(term).map { try materialize($0) }
    }

    func termsMatching(from lower: [UInt8]?, positions: Bool, _ verdict: (UnsafeRawBufferPointer) -> TermVerdict) throws -> [TermPostings] {
        var infos: [IndexSegment.TermInfo] = []
        try segment.forEachTerm(from: lower) { t, info in
            switch verdict(t) {
            case .take: infos.append(info); return true
            case .skip: return true
            case .stop: return false
            }
        }
        return try infos.map { try materialize($0, positions: positions) }
    }
}
