/// Word-break property values (UAX #29), as stored in `WordBreakTable`.
enum WordBreakProperty: UInt8 {
    case other = 0, cr, lf, newline, extend, zwj, regionalIndicator, format, katakana
    case hebrewLetter, aLetter, singleQuote, doubleQuote, midNumLet, midLetter, midNum
    case numeric, extendNumLet, wSegSpace
}

/// One decoded scalar of the text being segmented.
struct ScalarInfo {
    var scalar: UInt32
    /// Byte range in the UTF-8 text.
    var start: Int32
    var end: Int32
    /// `WordBreakTable` value: property in the low 5 bits, script flags above.
    var flags: UInt8

    @inline(__always) var property: WordBreakProperty { WordBreakProperty(rawValue: flags & 0x1F) ?? .other }
    @inline(__always) var isExtendedPictographic: Bool { flags & 0x20 != 0 }
    @inline(__always) var isHan: Bool { flags & 0x40 != 0 }
    @inline(__always) var isHiragana: Bool { flags & 0x80 != 0 }
}

/// Splits UTF-8 text into words by the Unicode word-boundary rules (UAX #29, WB1–WB999).
/// Works on bytes: the text is decoded once into a reusable scalar buffer (invalid UTF-8
/// becomes U+FFFD, one per invalid byte), and boundaries are decided on that buffer. Not
/// thread-safe; reuse one per analyzer.
final class WordSegmenter {
    private(set) var scalars: UnsafeMutablePointer<ScalarInfo>
    private var capacity: Int
    private(set) var count = 0

    init() {
        capacity = 256
        scalars = .allocate(capacity: capacity)
    }

    deinit { scalars.deallocate() }

    @inline(__always)
    static func lookup(_ scalar: UInt32) -> UInt8 {
        if scalar < 0x80 { return WordBreakTable.ascii[Int(scalar)] }
        let starts = WordBreakTable.starts
        var lo = 0, hi = starts.count - 1
        while lo < hi {
            let mid = (lo + hi + 1) >> 1
            if starts[mid] <= scalar { lo = mid } else { hi = mid - 1 }
        }
        return WordBreakTable.values[lo]
    }

    /// Decodes `text` into the scalar buffer.
    func load(_ text: UnsafeRawBufferPointer) {
        if text.count > capacity {
            scalars.deallocate()
            capacity = max(text.count, capacity * 2)
            scalars = .allocate(capacity: capacity)
        }
        count = 0
        guard let base = text.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return }
        let n = text.count
        var i = 0
        while i < n {
            let b0 = base[i]
            var scalar: UInt32 = 0xFFFD
            var length = 1
            if b0 < 0x80 {
                scalar = UInt32(b0)
            } else if b0 >= 0xC2 && b0 <= 0xDF, i + 1 < n, base[i + 1] & 0xC0 == 0x80 {
                scalar = UInt32(b0 & 0x1F) << 6 | UInt32(base[i + 1] & 0x3F)
                length = 2
            } else if b0 >= 0xE0 && b0 <= 0xEF, i + 2 < n, base[i + 1] & 0xC0 == 0x80, base[i + 2] & 0xC0 == 0x80 {
                let s = UInt32(b0 & 0x0F) << 12 | UInt32(base[i + 1] & 0x3F) << 6 | UInt32(base[i + 2] & 0x3F)
                if s >= 0x800 && !(0xD800 ... 0xDFFF).contains(s) { scalar = s; length = 3 }
            } else if b0 >= 0xF0 && b0 <= 0xF4, i + 3 < n, base[i + 1] & 0xC0 == 0x80, base[i + 2] & 0xC0 == 0x80, base[i + 3] & 0xC0 == 0x80 {
                let s = UInt32(b0 & 0x07) << 18 | UInt32(base[i + 1] & 0x3F) << 12 | UInt32(base[i + 2] & 0x3F) << 6 | UInt32(base[i + 3] & 0x3F)
                if s >= 0x10000 && s <= 0x10FFFF { scalar = s; length = 4 }
            }
            scalars[count] = ScalarInfo(scalar: scalar, start: Int32(i), end: Int32(i + length), flags: Self.lookup(scalar))
            count += 1
            i += length
        }
    }

    /// Loads scalars directly (tests).
    func load(scalars list: [UInt32]) {
        if list.count > capacity {
            scalars.deallocate()
            capacity = max(list.count, capacity * 2)
            scalars = .allocate(capacity: capacity)
        }
        count = list.count
        for (i, s) in list.enumerated() { scalars[i] = ScalarInfo(scalar: s, start: Int32(i), end: Int32(i + 1), flags: Self.lookup(s)) }
    }

    @inline(__always) private func prop(_ i: Int) -> WordBreakProperty { scalars[i].property }

    @inline(__always) private static func ignorable(_ p: WordBreakProperty) -> Bool { p == .extend || p == .format || p == .zwj }
    @inline(__always) private static func isAHLetter(_ p: WordBreakProperty?) -> Bool { p == .aLetter || p == .hebrewLetter }
    @inline(__always) private static func isMidLetterQ(_ p: WordBreakProperty?) -> Bool { p == .midLetter || p == .midNumLet || p == .singleQuote }
    @inline(__always) private static func isMidNumQ(_ p: WordBreakProperty?) -> Bool { p == .midNum || p == .midNumLet || p == .singleQuote }
    @inline(__always) private static func isNewline(_ p: WordBreakProperty) -> Bool { p == .cr || p == .lf || p == .newline }

    /// Index of the last scalar before `i` that WB4 does not fold into its predecessor.
    @inline(__always) private func effectiveBefore(_ i: Int) -> Int? {
        var j = i - 1
        while j >= 0 {
            let p = prop(j)
            if !Self.ignorable(p) { return j }
            // WB4 does not attach Extend/Format/ZWJ to a line break or to the start of text.
            if j == 0 { return j }
            if Self.isNewline(prop(j - 1)) { return j }
            j -= 1
        }
        return nil
    }

    @inline(__always) private func effectiveAfter(_ i: Int) -> Int? {
        var j = i + 1
        while j < count {
            if !Self.ignorable(prop(j)) { return j }
            j += 1
        }
        return nil
    }

    /// Raw property values of the fast path.
    private static let rawALetter = WordBreakProperty.aLetter.rawValue, rawHebrew = WordBreakProperty.hebrewLetter.rawValue
    private static let rawNumeric = WordBreakProperty.numeric.rawValue, rawOther = WordBreakProperty.other.rawValue
    private static let rawSpace = WordBreakProperty.wSegSpace.rawValue

    /// Whether there is a word boundary between scalar `i - 1` and scalar `i` (0 < i < count).
    func isBoundary(_ i: Int) -> Bool {
        // Fast path for the common pairs, decided by the rules below without their lookaround:
        // letters and digits continue a word (WB5, WB8–WB10); a letter or digit next to white
        // space or an ordinary symbol is a boundary (no rule joins them), as are two ordinary
        // symbols (WB999) — except two spaces (WB3d).
        let ra = scalars[i - 1].flags & 0x1F, rb = scalars[i].flags & 0x1F
        let wordA = ra == Self.rawALetter || ra == Self.rawNumeric || ra == Self.rawHebrew
        let wordB = rb == Self.rawALetter || rb == Self.rawNumeric || rb == Self.rawHebrew
        let plainA = ra == Self.rawOther || ra == Self.rawSpace, plainB = rb == Self.rawOther || rb == Self.rawSpace
        if wordA && wordB && !(ra == Self.rawHebrew || rb == Self.rawHebrew) { return false }
        if (wordA && plainB) || (plainA && wordB) { return true }
        if plainA && plainB && scalars[i - 1].flags & 0x20 == 0 { return !(ra == Self.rawSpace && rb == Self.rawSpace) }
        let a = prop(i - 1), b = prop(i)
        if a == .cr && b == .lf { return false } // WB3
        if Self.isNewline(a) || Self.isNewline(b) { return true } // WB3a, WB3b
        if a == .zwj && scalars[i].isExtendedPictographic { return false } // WB3c
        if a == .wSegSpace && b == .wSegSpace { return false } // WB3d
        if Self.ignorable(b) { return false } // WB4
        guard let l = effectiveBefore(i) else { return true }
        let ae = prop(l)
        let c: WordBreakProperty? = effectiveAfter(i).map { prop($0) }
        let z: WordBreakProperty? = effectiveBefore(l).map { prop($0) }
        if Self.isAHLetter(ae) && Self.isAHLetter(b) { return false } // WB5
        if Self.isAHLetter(ae) && Self.isMidLetterQ(b) && Self.isAHLetter(c) { return false } // WB6
        if Self.isAHLetter(z) && Self.isMidLetterQ(ae) && Self.isAHLetter(b) { return false } // WB7
        if ae == .hebrewLetter && b == .singleQuote { return false } // WB7a
        if ae == .hebrewLetter && b == .doubleQuote && c == .hebrewLetter { return false } // WB7b
        if z == .hebrewLetter && ae == .doubleQuote && b == .hebrewLetter { return false } // WB7c
        if ae == .numeric && b == .numeric { return false } // WB8
        if Self.isAHLetter(ae) && b == .numeric { return false } // WB9
        if ae == .numeric && Self.isAHLetter(b) { return false } // WB10
        if z == .numeric && Self.isMidNumQ(ae) && b == .numeric { return false } // WB11
        if ae == .numeric && Self.isMidNumQ(b) && c == .numeric { return false } // WB12
        if ae == .katakana && b == .katakana { return false } // WB13
        if (Self.isAHLetter(ae) || ae == .numeric || ae == .katakana || ae == .extendNumLet) && b == .extendNumLet { return false } // WB13a
        if ae == .extendNumLet && (Self.isAHLetter(b) || b == .numeric || b == .katakana) { return false } // WB13b
        if ae == .regionalIndicator && b == .regionalIndicator { // WB15, WB16
            var n = 0
            var j: Int? = l
            while let k = j, prop(k) == .regionalIndicator {
                n += 1
                j = effectiveBefore(k)
            }
            return n % 2 == 0
        }
        return true // WB999
    }

    /// Calls `body` with each segment's scalar index range, in order.
    @inline(__always)
    func forEachSegment(_ body: (Int, Int) -> Void) {
        if count == 0 { return }
        var start = 0
        for i in 1 ..< max(1, count) where isBoundary(i) {
            body(start, i)
            start = i
        }
        body(start, count)
    }
}
