import StrataIO

/// The built-in analyzers (Elasticsearch's names and behaviour).
public enum AnalyzerKind: String, Sendable, Codable, CaseIterable {
    /// UAX #29 words, lowercased.
    case standard
    /// `standard` + English possessive removal, Snowball's English stop words
    /// (``Analyzer/snowballEnglishStopWords``), Snowball English (Porter2) stems.
    case english
    /// `standard` + full-width ASCII folding, lowercase, CJK bigrams, English stop words
    /// (``Analyzer/englishStopWords``, as Elasticsearch's `cjk` analyzer).
    case cjk
    /// The whole text as one token.
    case keyword
    /// Runs of non-whitespace, unchanged.
    case whitespace
    /// Runs of letters and digits (Unicode L*, N*, Co), lowercased: tantivy's default
    /// tokenizer and SQLite FTS5's unicode61 split text this way.
    case alphanumeric
}

/// Turns text (UTF-8 bytes) into tokens. Allocation-free per token after warm-up: tokens are
/// assembled in a reusable buffer and handed to the caller as borrowed bytes. One analyzer per
/// thread.
public final class Analyzer {
    public let kind: AnalyzerKind
    /// Tokens longer than this many bytes are dropped, leaving a position gap as a dropped stop
    /// word does (Lucene's LengthFilter, tantivy's RemoveLongFilter): a phrase does not match
    /// across them.
    public let maxTokenLength: Int
    /// Fold accented Latin letters to ASCII (é → e, ß → ss).
    public let foldToASCII: Bool
    let stopWords: StopWords?
    private let segmenter = WordSegmenter()
    private let stemmer: EnglishStemmer?
    private let tokenBuffer = ByteWriter(capacity: 256)
    /// Pending CJK scalars for bigramming: (scalar, start, end).
    private var cjkRun: [(UInt32, Int32, Int32)] = []

    /// Lucene's and Elasticsearch's `_english_` stop words (33): the `cjk` analyzer's default.
    public static let englishStopWords: Set<String> = [
        "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into", "is", "it", "no", "not", "of",
        "on", "or", "such", "that", "the", "their", "then", "there", "these", "they", "this", "to", "was", "will", "with",
    ]

    /// The stop list Snowball publishes beside its English stemmer (snowballstem.org,
    /// `algorithms/english/stop.txt`, BSD licence; 174 words: pronouns, forms of be/have/do,
    /// auxiliaries, contractions, articles, prepositions, conjunctions): the `english` analyzer's
    /// default. On CISI and NPL it raises MAP and nDCG@10 over the 33-word list (README, Relevance).
    public static let snowballEnglishStopWords: Set<String> = [
        "i", "me", "my", "myself", "we", "our", "ours", "ourselves", "you", "your", "yours", "yourself", "yourselves",
        "he", "him", "his", "himself", "she", "her", "hers", "herself", "it", "its", "itself", "they", "them", "their",
        "theirs", "themselves", "what", "which", "who", "whom", "this", "that", "these", "those",
        "am", "is", "are", "was", "were", "be", "been", "being", "have", "has", "had", "having",
        "do", "does", "did", "doing", "would", "should", "could", "ought",
        "i'm", "you're", "he's", "she's", "it's", "we're", "they're", "i've", "you've", "we've", "they've",
        "i'd", "you'd", "he'd", "she'd", "we'd", "they'd", "i'll", "you'll", "he'll", "she'll", "we'll", "they'll",
        "isn't", "aren't", "wasn't", "weren't", "hasn't", "haven't", "hadn't", "doesn't", "don't", "didn't",
        "won't", "wouldn't", "shan't", "shouldn't", "can't", "cannot", "couldn't", "mustn't",
        "let's", "that's", "who's", "what's", "here's", "there's", "when's", "where's", "why's", "how's",
        "a", "an", "the", "and", "but", "if", "or", "because", "as", "until", "while",
        "of", "at", "by", "for", "with", "about", "against", "between", "into", "through", "during", "before", "after",
        "above", "below", "to", "from", "up", "down", "in", "out", "on", "off", "over", "under",
        "again", "further", "then", "once", "here", "there", "when", "where", "why", "how",
        "all", "any", "both", "each", "few", "more", "most", "other", "some", "such",
        "no", "nor", "not", "only", "own", "same", "so", "than", "too", "very",
    ]

    /// `stopWords`: nil uses the analyzer's default (``snowballEnglishStopWords`` for `english`,
    /// ``englishStopWords`` for `cjk`, none otherwise); an empty set disables them.
    public init(_ kind: AnalyzerKind, stopWords: Set<String>? = nil, maxTokenLength: Int = 255, foldToASCII: Bool = false) {
        self.kind = kind
        self.maxTokenLength = maxTokenLength
        self.foldToASCII = foldToASCII
        let words = stopWords ?? (kind == .english ? Self.snowballEnglishStopWords : kind == .cjk ? Self.englishStopWords : [])
        self.stopWords = words.isEmpty ? nil : StopWords(words)
        stemmer = kind == .english ? EnglishStemmer() : nil
    }

    /// Raw query text (a prefix, fuzzy or range bound) as this analyzer's terms spell it:
    /// lowercased, except for the keyword and whitespace analyzers, which keep case.
    func rawQueryTerm(_ text: String) -> [UInt8] {
        kind == .keyword || kind == .whitespace ? Array(text.utf8) : Array(text.lowercased().utf8)
    }

    /// Calls `body` for each token of `text`, in order.
    public func analyze(_ text: UnsafeRawBufferPointer, _ body: (TokenRef) -> Void) {
        switch kind {
        case .keyword:
            if text.count > 0 && text.count <= max(maxTokenLength, 32766) {
                body(TokenRef(bytes: text, position: 0, startOffset: 0, endOffset: text.count))
            }
        case .whitespace:
            analyzeWhitespace(text, body)
        case .alphanumeric:
            analyzeAlphanumeric(text, body)
        case .standard, .english, .cjk:
            analyzeWords(text, body)
        }
    }

    /// The tokens of `text` as strings (tests and tools).
    public func tokens(_ text: String) -> [String] {
        var out: [String] = []
        var copy = text
        copy.withUTF8 { u in analyze(UnsafeRawBufferPointer(u)) { out.append(String(decoding: $0.bytes, as: UTF8.self)) } }
        return out
    }

    /// Tokens with positions (tests).
    public func positionedTokens(_ text: String) -> [(String, Int)] {
        var out: [(String, Int)] = []
        var copy = text
        copy.withUTF8 { u in analyze(UnsafeRawBufferPointer(u)) { out.append((String(decoding: $0.bytes, as: UTF8.self), $0.position)) } }
        return out
    }

    private func analyzeWhitespace(_ text: UnsafeRawBufferPointer, _ body: (TokenRef) -> Void) {
        segmenter.load(text)
        var position = 0
        var start = -1
        func emit(_ from: Int, _ to: Int) {
            let a = Int(segmenter.scalars[from].start), b = Int(segmenter.scalars[to - 1].end)
            if b - a <= maxTokenLength {
                body(TokenRef(bytes: UnsafeRawBufferPointer(rebasing: text[a ..< b]), position: position, startOffset: a, endOffset: b))
            }
            position += 1
        }
        for i in 0 ..< segmenter.count {
            if Unicode.Scalar(segmenter.scalars[i].scalar)?.properties.isWhitespace ?? false {
                if start >= 0 { emit(start, i); start = -1 }
            } else if start < 0 { start = i }
        }
        if start >= 0 { emit(start, segmenter.count) }
    }

    /// Runs of letters and digits, lowercased, straight from the UTF-8 bytes: a run of ASCII is
    /// scanned in one tight loop and, when it is a whole token with no capital letter (most
    /// tokens of logs and prose), handed on in place without a copy; other ASCII runs are
    /// lowercased into the token buffer in one pass; other scalars are decoded (invalid UTF-8 is
    /// U+FFFD, a separator) and classified by general category.
    private func analyzeAlphanumeric(_ text: UnsafeRawBufferPointer, _ body: (TokenRef) -> Void) {
        guard let base = text.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return }
        let n = text.count
        var position = 0
        var start = -1
        tokenBuffer.removeAll()
        var i = 0
        while i < n {
            let b0 = base[i]
            if b0 < 0x80 {
                guard Self.isASCIIAlphanumeric(b0) else {
                    if start >= 0 { finishRun(&position, &start, i, body) }
                    i &+= 1
                    continue
                }
                var j = i &+ 1
                var capitals = Self.isASCIICapital(b0) ? 1 : 0
                while j < n {
                    let b = base[j]
                    guard Self.isASCIIAlphanumeric(b) else { break }
                    capitals |= Self.isASCIICapital(b) ? 1 : 0
                    j &+= 1
                }
                if start < 0 && capitals == 0 && (j == n || base[j] < 0x80) {
                    emit(UnsafeRawBufferPointer(start: base + i, count: j &- i), &position, i, j, body)
                } else {
                    if start < 0 { start = i }
                    let out = tokenBuffer.reserve(j &- i).assumingMemoryBound(to: UInt8.self)
                    for k in 0 ..< j &- i {
                        let b = base[i &+ k]
                        out[k] = Self.isASCIICapital(b) ? b | 0x20 : b
                    }
                    tokenBuffer.count += j &- i
                }
                i = j
                continue
            }
            let (scalar, length) = Self.decodeScalar(base, i, n)
            if Self.isAlphanumeric(scalar) {
                if start < 0 { start = i }
                appendScalar(lowercase(scalar))
            } else if start >= 0 {
                finishRun(&position, &start, i, body)
            }
            i += length
        }
        if start >= 0 { finishRun(&position, &start, n, body) }
    }

    /// ASCII digits and letters.
    @inline(__always) static func isASCIIAlphanumeric(_ b: UInt8) -> Bool {
        b &- 0x30 < 10 || (b | 0x20) &- 0x61 < 26
    }

    @inline(__always) static func isASCIICapital(_ b: UInt8) -> Bool { b &- 0x41 < 26 }

    /// Emits the alphanumeric run in the token buffer (unless too long or a stop word) and
    /// starts a new one. A method with inout state, not a local function capturing it, so the
    /// state stays in registers (captured variables would be boxed and access-checked).
    @inline(__always)
    private func finishRun(_ position: inout Int, _ start: inout Int, _ end: Int, _ body: (TokenRef) -> Void) {
        emit(tokenBuffer.bytes, &position, start, end, body)
        tokenBuffer.removeAll()
        start = -1
    }

    /// Hands on one token (unless too long or a stop word); every run takes a position.
    @inline(__always)
    private func emit(_ bytes: UnsafeRawBufferPointer, _ position: inout Int, _ start: Int, _ end: Int, _ body: (TokenRef) -> Void) {
        if bytes.count <= maxTokenLength && stopWords?.contains(bytes) != true {
            body(TokenRef(bytes: bytes, position: position, startOffset: start, endOffset: end))
        }
        position += 1
    }

    /// The scalar at byte `i` and its length; invalid or truncated UTF-8 is U+FFFD, one byte.
    @inline(__always) static func decodeScalar(_ p: UnsafePointer<UInt8>, _ i: Int, _ n: Int) -> (UInt32, Int) {
        let b0 = p[i]
        if b0 >= 0xC2 && b0 <= 0xDF, i + 1 < n, p[i + 1] & 0xC0 == 0x80 {
            return (UInt32(b0 & 0x1F) << 6 | UInt32(p[i + 1] & 0x3F), 2)
        }
        if b0 >= 0xE0 && b0 <= 0xEF, i + 2 < n, p[i + 1] & 0xC0 == 0x80, p[i + 2] & 0xC0 == 0x80 {
            let s = UInt32(b0 & 0x0F) << 12 | UInt32(p[i + 1] & 0x3F) << 6 | UInt32(p[i + 2] & 0x3F)
            if s >= 0x800 && !(0xD800 ... 0xDFFF).contains(s) { return (s, 3) }
        }
        if b0 >= 0xF0 && b0 <= 0xF4, i + 3 < n, p[i + 1] & 0xC0 == 0x80, p[i + 2] & 0xC0 == 0x80, p[i + 3] & 0xC0 == 0x80 {
            let s = UInt32(b0 & 0x07) << 18 | UInt32(p[i + 1] & 0x3F) << 12 | UInt32(p[i + 2] & 0x3F) << 6 | UInt32(p[i + 3] & 0x3F)
            if s >= 0x10000 && s <= 0x10FFFF { return (s, 4) }
        }
        return (0xFFFD, 1)
    }

    /// Letters (L*), digits and other numbers (N*) and private use (Co): tantivy's and
    /// FTS5 unicode61's token characters.
    @inline(__always) static func isAlphanumeric(_ s: UInt32) -> Bool {
        if s < alphanumericTableLimit { return alphanumericTable[Int(s >> 6)] & (1 << UInt64(s & 63)) != 0 }
        return isAlphanumericByCategory(s)
    }

    /// Scalars of the Basic Multilingual Plane (every script in common use, CJK included) are
    /// classified from a bitmap of 8 KiB, built from the general categories at the first
    /// non-ASCII scalar a process meets (~20 M instructions, once); the property lookup costs
    /// some 330 instructions per scalar.
    static let alphanumericTableLimit: UInt32 = 0x10000
    static let alphanumericTable: [UInt64] = {
        var words = [UInt64](repeating: 0, count: Int(alphanumericTableLimit) / 64)
        for s in 0 ..< alphanumericTableLimit where isAlphanumericByCategory(s) { words[Int(s >> 6)] |= 1 << UInt64(s & 63) }
        return words
    }()

    static func isAlphanumericByCategory(_ s: UInt32) -> Bool {
        guard let u = Unicode.Scalar(s) else { return false }
        switch u.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
             .decimalNumber, .letterNumber, .otherNumber, .privateUse: return true
        default: return false
        }
    }

    /// Kinds of word segments (Lucene's StandardTokenizer token types).
    enum WordType { case alphanumeric, ideographic, hiragana, katakana, hangul }

    private func classify(_ from: Int, _ to: Int) -> WordType? {
        var letters = false
        for i in from ..< to {
            let s = segmenter.scalars[i]
            if s.isHan { return to - from == 1 ? .ideographic : .alphanumeric }
            if s.isHiragana { return .hiragana }
            switch s.property {
            case .katakana: return .katakana
            case .aLetter, .hebrewLetter, .numeric:
                if (0xAC00 ... 0xD7A3).contains(s.scalar) || (0x1100 ... 0x11FF).contains(s.scalar) || (0x3130 ... 0x318F).contains(s.scalar) { return .hangul }
                letters = true
            default: break
            }
        }
        return letters ? .alphanumeric : nil
    }

    /// Position bookkeeping of `analyzeWords`: the next token's position and the stop words
    /// dropped since the last emitted token.
    private struct WordPositions {
        var position = 0
        var stopGap = 0
    }

    private func analyzeWords(_ text: UnsafeRawBufferPointer, _ body: (TokenRef) -> Void) {
        segmenter.load(text)
        var positions = WordPositions()
        cjkRun.removeAll(keepingCapacity: true)
        let bigrams = kind == .cjk
        var lastEnd: Int32 = -1
        segmenter.forEachSegment { from, to in
            guard let type = classify(from, to) else { return }
            let start = segmenter.scalars[from].start, end = segmenter.scalars[to - 1].end
            if bigrams && type != .alphanumeric {
                // Adjacent CJK characters (no gap between segments) are bigrammed together.
                if start != lastEnd { flushCJK(&positions, body) }
                for i in from ..< to {
                    let s = segmenter.scalars[i]
                    cjkRun.append((lowercase(width(s.scalar)), s.start, s.end))
                }
                lastEnd = end
                return
            }
            if bigrams { flushCJK(&positions, body) }
            tokenBuffer.removeAll()
            for i in from ..< to {
                var s = segmenter.scalars[i].scalar
                if bigrams { s = width(s) }
                appendScalar(lowercase(s))
            }
            if kind == .english { dropPossessive() }
            emitWord(tokenBuffer.bytes, Int(start), Int(end), &positions, body)
            lastEnd = end
        }
        if bigrams { flushCJK(&positions, body) }
    }

    /// Emits one word (stemmed for `english`) unless empty, too long or a stop word; a dropped
    /// stop word or over-long word leaves a position gap so phrases keep their distances.
    @inline(__always)
    private func emitWord(_ bytes: UnsafeRawBufferPointer, _ start: Int, _ end: Int, _ p: inout WordPositions, _ body: (TokenRef) -> Void) {
        if bytes.count == 0 { return }
        if bytes.count > maxTokenLength { p.stopGap += 1; return }
        if let stop = stopWords, stop.contains(bytes) { p.stopGap += 1; return }
        var out = bytes
        if let stemmer { out = stemmer.stem(bytes) }
        body(TokenRef(bytes: out, position: p.position + p.stopGap, startOffset: start, endOffset: end))
        p.position += 1 + p.stopGap
        p.stopGap = 0
    }

    /// Emits the pending CJK run: a lone character as a unigram, else overlapping bigrams.
    private func flushCJK(_ p: inout WordPositions, _ body: (TokenRef) -> Void) {
        defer { cjkRun.removeAll(keepingCapacity: true) }
        if cjkRun.isEmpty { return }
        if cjkRun.count == 1 {
            let (s, a, b) = cjkRun[0]
            tokenBuffer.removeAll()
            appendScalar(s)
            emitWord(tokenBuffer.bytes, Int(a), Int(b), &p, body)
            return
        }
        for i in 0 ..< cjkRun.count - 1 {
            tokenBuffer.removeAll()
            appendScalar(cjkRun[i].0)
            appendScalar(cjkRun[i + 1].0)
            emitWord(tokenBuffer.bytes, Int(cjkRun[i].1), Int(cjkRun[i + 1].2), &p, body)
        }
    }

    /// English possessive filter: a trailing 's (or ’s) is removed.
    private func dropPossessive() {
        let n = tokenBuffer.count
        let p = tokenBuffer.base.assumingMemoryBound(to: UInt8.self)
        if n >= 2 && p[n - 2] == 0x27 && (p[n - 1] == 0x73) { tokenBuffer.count = n - 2; return }
        if n >= 4 && p[n - 4] == 0xE2 && p[n - 3] == 0x80 && p[n - 2] == 0x99 && p[n - 1] == 0x73 { tokenBuffer.count = n - 4 }
    }

    /// Full-width ASCII variants (U+FF01–FF5E) to ASCII, as the cjk_width filter does.
    @inline(__always) private func width(_ s: UInt32) -> UInt32 {
        (0xFF01 ... 0xFF5E).contains(s) ? s - 0xFF01 + 0x21 : s
    }

    /// Unicode simple lowercase mapping.
    @inline(__always) private func lowercase(_ s: UInt32) -> UInt32 {
        if s < 0x80 { return (s >= 0x41 && s <= 0x5A) ? s + 32 : s }
        return Self.index(of: s, in: LowercaseTable.from).map { LowercaseTable.to[$0] } ?? s
    }

    /// Position of `s` in a sorted table of scalars (the generated mapping tables).
    @inline(__always) static func index(of s: UInt32, in table: [UInt32]) -> Int? {
        var lo = 0, hi = table.count - 1
        while lo <= hi {
            let mid = (lo + hi) >> 1
            if table[mid] == s { return mid }
            if table[mid] < s { lo = mid + 1 } else { hi = mid - 1 }
        }
        return nil
    }

    /// Appends a scalar's UTF-8 to the token buffer, folded to ASCII when enabled.
    @inline(__always) private func appendScalar(_ s: UInt32) {
        if foldToASCII && s >= 0x80, let folded = Self.fold(s) {
            folded.withUTF8Buffer { tokenBuffer.append(UnsafeRawBufferPointer($0)) }
            return
        }
        let p = tokenBuffer.reserve(4)
        if s < 0x80 {
            p.storeBytes(of: UInt8(s), as: UInt8.self)
            tokenBuffer.count += 1
        } else if s < 0x800 {
            p.storeBytes(of: UInt8(0xC0 | (s >> 6)), as: UInt8.self)
            p.storeBytes(of: UInt8(0x80 | (s & 0x3F)), toByteOffset: 1, as: UInt8.self)
            tokenBuffer.count += 2
        } else if s < 0x10000 {
            p.storeBytes(of: UInt8(0xE0 | (s >> 12)), as: UInt8.self)
            p.storeBytes(of: UInt8(0x80 | ((s >> 6) & 0x3F)), toByteOffset: 1, as: UInt8.self)
            p.storeBytes(of: UInt8(0x80 | (s & 0x3F)), toByteOffset: 2, as: UInt8.self)
            tokenBuffer.count += 3
        } else {
            p.storeBytes(of: UInt8(0xF0 | (s >> 18)), as: UInt8.self)
            p.storeBytes(of: UInt8(0x80 | ((s >> 12) & 0x3F)), toByteOffset: 1, as: UInt8.self)
            p.storeBytes(of: UInt8(0x80 | ((s >> 6) & 0x3F)), toByteOffset: 2, as: UInt8.self)
            p.storeBytes(of: UInt8(0x80 | (s & 0x3F)), toByteOffset: 3, as: UInt8.self)
            tokenBuffer.count += 4
        }
    }

    static func fold(_ s: UInt32) -> StaticString? {
        index(of: s, in: ASCIIFoldingTable.from).map { ASCIIFoldingTable.to[$0] }
    }
}

/// A stop-word set looked up by bytes without allocating: words of up to 15 bytes are packed
/// with their length into two UInt64s; longer ones are found by an FNV-1a hash of their bytes
/// and compared in place.
struct StopWords {
    private struct Packed: Hashable { var low: UInt64; var high: UInt64 }
    private var short: Set<Packed> = []
    private var long: [UInt64: [[UInt8]]] = [:]
    private var longest = 0

    init(_ words: Set<String>) {
        for w in words {
            let bytes = Array(w.utf8)
            longest = max(longest, bytes.count)
            bytes.withUnsafeBytes { raw in
                if raw.count <= 15 { short.insert(Self.pack(raw)) } else { long[Self.hash(raw), default: []].append(bytes) }
            }
        }
    }

    @inline(__always)
    private static func pack(_ bytes: UnsafeRawBufferPointer) -> Packed {
        var low: UInt64 = 0, high = UInt64(bytes.count) << 56
        for (i, b) in bytes.enumerated() {
            if i < 8 { low |= UInt64(b) << (8 * UInt64(i)) } else { high |= UInt64(b) << (8 * UInt64(i - 8)) }
        }
        return Packed(low: low, high: high)
    }

    private static func hash(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in bytes { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
        return h
    }

    @inline(__always)
    func contains(_ bytes: UnsafeRawBufferPointer) -> Bool {
        if bytes.count > longest { return false }
        if bytes.count <= 15 { return short.contains(Self.pack(bytes)) }
        guard let candidates = long[Self.hash(bytes)] else { return false }
        return candidates.contains { $0.withUnsafeBytes { $0.elementsEqual(bytes) } }
    }
}
