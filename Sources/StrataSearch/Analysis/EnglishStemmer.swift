// The Snowball English ("Porter2") stemmer, written from the algorithm's published description
// (snowballstem.org, "The English (Porter2) stemming algorithm", as revised for Snowball 3.0).
//
// The stemmer works on bytes in a buffer it owns. Letters are the ASCII lowercase letters; the
// apostrophe counts as a letter; any other ASCII byte is a non-vowel. A word containing a byte
// outside ASCII is returned unchanged.
//
// Positions are byte offsets from the start of the word. `p1` and `p2` are the starts of the
// regions R1 and R2; a suffix is "in R1" when it starts at or after `p1`.

/// The Snowball English (Porter2) stemmer. Reusable, not thread-safe (one per analyzer/thread).
public final class EnglishStemmer {
    /// Working buffer; holds the word being stemmed in `buf[0 ..< len]`.
    private var buf: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    private var len = 0
    /// Start of R1.
    private var p1 = 0
    /// Start of R2.
    private var p2 = 0

    public init() {
        capacity = 64
        buf = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity)
    }

    deinit {
        buf.deallocate()
    }

    /// Stems the lowercase ASCII/UTF-8 word in `word` (bytes) and returns the stem's bytes,
    /// valid until the next call (the stemmer owns an internal buffer; no allocation per call after warm-up).
    public func stem(_ word: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        let n = word.count
        if n + 1 > capacity {
            buf.deallocate()
            capacity = max(n + 1, capacity * 2)
            buf = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity)
        }
        len = n
        guard n > 0, let src = word.baseAddress else {
            return UnsafeRawBufferPointer(start: buf, count: 0)
        }
        UnsafeMutableRawPointer(buf).copyMemory(from: src, byteCount: n)
        var ascii = true
        var i = 0
        while i < n {
            if buf[i] >= 0x80 { ascii = false; break }
            i += 1
        }
        if ascii { run() }
        return UnsafeRawBufferPointer(start: buf, count: len)
    }

    /// Convenience for tests and tools.
    public func stem(_ word: String) -> String {
        var w = word
        return w.withUTF8 { utf8 in
            String(decoding: stem(UnsafeRawBufferPointer(utf8)), as: UTF8.self)
        }
    }

    // MARK: - Character classes

    private static let a: UInt8 = 0x61, b: UInt8 = 0x62, c: UInt8 = 0x63, d: UInt8 = 0x64
    private static let e: UInt8 = 0x65, f: UInt8 = 0x66, g: UInt8 = 0x67, h: UInt8 = 0x68
    private static let i: UInt8 = 0x69, k: UInt8 = 0x6B, l: UInt8 = 0x6C, m: UInt8 = 0x6D
    private static let n: UInt8 = 0x6E, o: UInt8 = 0x6F, p: UInt8 = 0x70, r: UInt8 = 0x72
    private static let s: UInt8 = 0x73, t: UInt8 = 0x74, u: UInt8 = 0x75, w: UInt8 = 0x77
    private static let x: UInt8 = 0x78, y: UInt8 = 0x79, z: UInt8 = 0x7A
    private static let apostrophe: UInt8 = 0x27
    /// Marker for a `y` that acts as a consonant (initial, or after a vowel). Not a vowel.
    private static let markedY: UInt8 = 0x59  // "Y"

    @inline(__always)
    private static func isVowel(_ ch: UInt8) -> Bool {
        switch ch {
        case 0x61, 0x65, 0x69, 0x6F, 0x75, 0x79: return true  // a e i o u y
        default: return false
        }
    }

    /// Letters that may be doubled at the end of a stem and then undoubled in Step 1b.
    @inline(__always)
    private static func isDoubleable(_ ch: UInt8) -> Bool {
        switch ch {
        case 0x62, 0x64, 0x66, 0x67, 0x6D, 0x6E, 0x70, 0x72, 0x74: return true  // b d f g m n p r t
        default: return false
        }
    }

    /// Letters that may precede a removable `li` in Step 2.
    @inline(__always)
    private static func isValidLiEnding(_ ch: UInt8) -> Bool {
        switch ch {
        case 0x63, 0x64, 0x65, 0x67, 0x68, 0x6B, 0x6D, 0x6E, 0x72, 0x74: return true  // c d e g h k m n r t
        default: return false
        }
    }

    // MARK: - Buffer helpers

    /// Whether the word ends with `suffix`.
    @inline(__always)
    private func ends(_ suffix: StaticString) -> Bool {
        let k = suffix.utf8CodeUnitCount
        if k > len { return false }
        let q = suffix.utf8Start
        let off = len - k
        var j = 0
        while j < k {
            if buf[off + j] != q[j] { return false }
            j += 1
        }
        return true
    }

    /// Whether `buf[0 ..< end]` is exactly `word`.
    @inline(__always)
    private func prefixIs(_ word: StaticString, end: Int) -> Bool {
        let k = word.utf8CodeUnitCount
        if k != end || k > len { return false }
        return startsWith(word)
    }

    /// Whether the word starts with `prefix`.
    @inline(__always)
    private func startsWith(_ prefix: StaticString) -> Bool {
        let k = prefix.utf8CodeUnitCount
        if k > len { return false }
        let q = prefix.utf8Start
        var j = 0
        while j < k {
            if buf[j] != q[j] { return false }
            j += 1
        }
        return true
    }

    /// Replaces the last `count` bytes with `replacement`.
    @inline(__always)
    private func replaceEnd(_ count: Int, with replacement: StaticString) {
        let start = len - count
        let k = replacement.utf8CodeUnitCount
        let q = replacement.utf8Start
        var j = 0
        while j < k {
            buf[start + j] = q[j]
            j += 1
        }
        len = start + k
    }

    /// Whether `buf[from ..< to]` contains a vowel.
    @inline(__always)
    private func hasVowel(from: Int, to: Int) -> Bool {
        var j = from
        while j < to {
            if Self.isVowel(buf[j]) { return true }
            j += 1
        }
        return false
    }

    /// Whether the word part `buf[0 ..< end]` ends in a short syllable: a vowel followed by a
    /// non-vowel other than w, x or Y and preceded by a non-vowel; or a vowel at the start of the
    /// word followed by a non-vowel; or the word part is exactly "past".
    @inline(__always)
    private func endsInShortSyllable(_ end: Int) -> Bool {
        if end < 2 { return false }
        let last = buf[end - 1]
        if Self.isVowel(last) || !Self.isVowel(buf[end - 2]) {
            return end == 4 && prefixIs("past", end: 4)
        }
        if end == 2 { return true }
        if last == Self.w || last == Self.x || last == Self.markedY { return false }
        return !Self.isVowel(buf[end - 3])
    }

    // MARK: - The algorithm

    private func run() {
        if len <= 2 { return }
        if exception1() { return }

        // Remove an initial apostrophe.
        if buf[0] == Self.apostrophe {
            var j = 1
            while j < len {
                buf[j - 1] = buf[j]
                j += 1
            }
            len -= 1
        }
        if len == 0 { return }

        // Mark consonant y: initial y, and y after a vowel.
        var yFound = false
        if buf[0] == Self.y {
            buf[0] = Self.markedY
            yFound = true
        }
        var j = 1
        while j < len {
            if buf[j] == Self.y && Self.isVowel(buf[j - 1]) {
                buf[j] = Self.markedY
                yFound = true
            }
            j += 1
        }

        markRegions()
        step1a()
        step1b()
        step1c()
        step2()
        step3()
        step4()
        step5()

        if yFound {
            var q = 0
            while q < len {
                if buf[q] == Self.markedY { buf[q] = Self.y }
                q += 1
            }
        }
    }

    /// Whole-word exceptions checked before anything else. Returns true when the word was one.
    private func exception1() -> Bool {
        switch len {
        case 3:
            return startsWith("sky")
        case 4:
            if startsWith("skis") { len = 3; return true }
            if startsWith("idly") { len = 3; return true }
            if startsWith("ugly") { buf[3] = Self.i; return true }
            if startsWith("only") { buf[3] = Self.i; return true }
            return startsWith("news") || startsWith("howe") || startsWith("bias")
        case 5:
            if startsWith("skies") { replaceEnd(3, with: "y"); return true }
            if startsWith("early") { buf[4] = Self.i; return true }
            return startsWith("atlas") || startsWith("andes")
        case 6:
            if startsWith("gently") || startsWith("singly") { len = 5; return true }
            return startsWith("cosmos")
        default:
            return false
        }
    }

    /// Sets p1 and p2. Words beginning with certain stems have R1 start right after that stem.
    private func markRegions() {
        p1 = len
        p2 = len
        var pos: Int
        if let k = regionPrefixLength() {
            pos = k
        } else {
            guard let q = pastVowelThenNonVowel(from: 0) else { return }
            pos = q
        }
        p1 = pos
        if let q = pastVowelThenNonVowel(from: pos) { p2 = q }
    }

    /// The position after the first non-vowel that follows the first vowel at or after `from`.
    @inline(__always)
    private func pastVowelThenNonVowel(from: Int) -> Int? {
        var q = from
        while q < len && !Self.isVowel(buf[q]) { q += 1 }
        if q >= len { return nil }
        q += 1
        while q < len && Self.isVowel(buf[q]) { q += 1 }
        if q >= len { return nil }
        return q + 1
    }

    /// Length of a special stem the word begins with, for which R1 starts right after it.
    private func regionPrefixLength() -> Int? {
        switch buf[0] {
        case Self.g: if startsWith("gener") { return 5 }
        case Self.c: if startsWith("commun") { return 6 }
        case Self.a: if startsWith("arsen") { return 5 }
        case Self.p: if startsWith("past") { return 4 }
        case Self.u: if startsWith("univers") { return 7 }
        case Self.l: if startsWith("later") { return 5 }
        case Self.e: if startsWith("emerg") { return 5 }
        case Self.i: if startsWith("inter") { return 5 }
        case Self.o: if startsWith("organ") { return 5 }
        default: break
        }
        return nil
    }

    /// Step 0 (apostrophe suffixes) and Step 1a (plural s).
    private func step1a() {
        if ends("'s'") {
            len -= 3
        } else if ends("'s") {
            len -= 2
        } else if ends("'") {
            len -= 1
        }
        if len == 0 { return }

        switch buf[len - 1] {
        case Self.s:
            if ends("sses") {
                len -= 2
            } else if ends("ies") {
                removeIedOrIes()
            } else if ends("us") || ends("ss") {
                // Keep.
            } else if len >= 2 && hasVowel(from: 0, to: len - 2) {
                // Delete s if a vowel occurs before the letter preceding it.
                len -= 1
            }
        case Self.d:
            if ends("ied") { removeIedOrIes() }
        default:
            break
        }
    }

    /// ied, ies → i when preceded by more than one letter, otherwise → ie.
    @inline(__always)
    private func removeIedOrIes() {
        if len - 3 >= 2 {
            len -= 2  // keeps the i
        } else {
            len -= 1  // keeps ie
        }
    }

    /// Step 1b: eed, ed, ing and their -ly forms. The exceptional words (proceed, inning, …) are
    /// left alone here and go on to Step 1c, which cannot change them, nor can the later steps.
    private func step1b() {
        if len == 0 { return }
        switch buf[len - 1] {
        case Self.d, Self.y, Self.g:
            break
        default:
            return
        }
        if ends("eedly") {
            let start = len - 5
            if start >= p1 && !isEedException(start) { replaceEnd(5, with: "ee") }
            return
        }
        if ends("eed") {
            let start = len - 3
            if start >= p1 && !isEedException(start) { len -= 1 }
            return
        }
        let suffixLength: Int
        if ends("ingly") {
            suffixLength = 5
        } else if ends("edly") {
            suffixLength = 4
        } else if ends("ing") {
            suffixLength = 3
        } else if ends("ed") {
            suffixLength = 2
        } else {
            return
        }
        let stemEnd = len - suffixLength

        if suffixLength == 3 {
            // A non-vowel followed by y: dying → die, lying → lie, tying → tie, vying → vie.
            if stemEnd == 2 && buf[1] == Self.y && !Self.isVowel(buf[0]) {
                buf[1] = Self.i
                buf[2] = Self.e
                len = 3
                return
            }
            // inning, outing, canning, herring, earring, evening stay as they are.
            if isIngException(stemEnd) { return }
        }

        guard hasVowel(from: 0, to: stemEnd) else { return }
        len = stemEnd

        if ends("at") || ends("bl") || ends("iz") {
            buf[len] = Self.e
            len += 1
        } else if len >= 2 && buf[len - 1] == buf[len - 2] && Self.isDoubleable(buf[len - 1]) {
            // Undouble, unless the double is preceded by exactly a, e or o (add, egg, off).
            let first = buf[0]
            if !(len == 3 && (first == Self.a || first == Self.e || first == Self.o)) {
                len -= 1
            }
        } else if len == p1 && endsInShortSyllable(len) {
            buf[len] = Self.e
            len += 1
        }
    }

    /// Whether `buf[0 ..< end]` is proc, exc or succ (proceed, exceed, succeed keep their eed).
    @inline(__always)
    private func isEedException(_ end: Int) -> Bool {
        switch end {
        case 3: return prefixIs("exc", end: 3)
        case 4: return prefixIs("proc", end: 4) || prefixIs("succ", end: 4)
        default: return false
        }
    }

    /// Whether `buf[0 ..< end]` is inn, out, cann, herr, earr or even.
    @inline(__always)
    private func isIngException(_ end: Int) -> Bool {
        switch end {
        case 3: return prefixIs("inn", end: 3) || prefixIs("out", end: 3)
        case 4:
            return prefixIs("cann", end: 4) || prefixIs("herr", end: 4)
                || prefixIs("earr", end: 4) || prefixIs("even", end: 4)
        default: return false
        }
    }

    /// Step 1c: final y or Y → i when preceded by a non-vowel that is not the first letter.
    private func step1c() {
        if len < 3 { return }
        let last = buf[len - 1]
        if (last == Self.y || last == Self.markedY) && !Self.isVowel(buf[len - 2]) {
            buf[len - 1] = Self.i
        }
    }

    /// Step 2: derivational suffixes in R1.
    private func step2() {
        if len < 3 { return }
        // Find the longest matching suffix: its length and the replacement (nil: special rule).
        var k = 0
        var replacement: StaticString = ""
        switch buf[len - 1] {
        case Self.l:
            if ends("ational") { k = 7; replacement = "ate" }
            else if ends("tional") { k = 6; replacement = "tion" }
        case Self.n:
            if ends("ization") { k = 7; replacement = "ize" }
            else if ends("ation") { k = 5; replacement = "ate" }
        case Self.r:
            if ends("izer") { k = 4; replacement = "ize" }
            else if ends("ator") { k = 4; replacement = "ate" }
        case Self.m:
            if ends("alism") { k = 5; replacement = "al" }
        case Self.s:
            if ends("fulness") { k = 7; replacement = "ful" }
            else if ends("ousness") { k = 7; replacement = "ous" }
            else if ends("iveness") { k = 7; replacement = "ive" }
        case Self.t:
            if ends("ogist") { k = 5; replacement = "og" }
        case Self.i:
            switch buf[len - 2] {
            case Self.t:
                if ends("biliti") { k = 6; replacement = "ble" }
                else if ends("aliti") { k = 5; replacement = "al" }
                else if ends("iviti") { k = 5; replacement = "ive" }
            case Self.c:
                if ends("enci") { k = 4; replacement = "ence" }
                else if ends("anci") { k = 4; replacement = "ance" }
            case Self.g:
                if ends("ogi") {
                    // ogi → og when preceded by l.
                    if len - 3 >= p1 && len >= 4 && buf[len - 4] == Self.l { len -= 1 }
                    return
                }
            case Self.l:
                if ends("lessli") { k = 6; replacement = "less" }
                else if ends("entli") { k = 5; replacement = "ent" }
                else if ends("ousli") { k = 5; replacement = "ous" }
                else if ends("fulli") { k = 5; replacement = "ful" }
                else if ends("abli") { k = 4; replacement = "able" }
                else if ends("alli") { k = 4; replacement = "al" }
                else if ends("bli") { k = 3; replacement = "ble" }
                else {
                    // li → deleted when preceded by a valid li-ending.
                    if len - 2 >= p1 && Self.isValidLiEnding(buf[len - 3]) { len -= 2 }
                    return
                }
            default:
                break
            }
        default:
            break
        }
        if k > 0 && len - k >= p1 { replaceEnd(k, with: replacement) }
    }

    /// Step 3: more derivational suffixes in R1.
    private func step3() {
        if len < 3 { return }
        switch buf[len - 1] {
        case Self.l:
            if ends("ational") { if len - 7 >= p1 { replaceEnd(7, with: "ate") } }
            else if ends("tional") { if len - 6 >= p1 { replaceEnd(6, with: "tion") } }
            else if ends("ical") { if len - 4 >= p1 { replaceEnd(4, with: "ic") } }
            else if ends("ful") { if len - 3 >= p1 { len -= 3 } }
        case Self.e:
            if ends("alize") { if len - 5 >= p1 { replaceEnd(5, with: "al") } }
            else if ends("icate") { if len - 5 >= p1 { replaceEnd(5, with: "ic") } }
            else if ends("ative") { if len - 5 >= p2 { len -= 5 } }  // R2 ⊆ R1
        case Self.i:
            if ends("iciti") { if len - 5 >= p1 { replaceEnd(5, with: "ic") } }
        case Self.s:
            if ends("ness") { if len - 4 >= p1 { len -= 4 } }
        default:
            break
        }
    }

    /// Step 4: suffixes deleted in R2.
    private func step4() {
        if len < 2 { return }
        var k = 0
        switch buf[len - 1] {
        case Self.l:
            if ends("al") { k = 2 }
        case Self.e:
            if ends("ance") || ends("ence") || ends("able") || ends("ible") { k = 4 }
            else if ends("ate") || ends("ive") || ends("ize") { k = 3 }
        case Self.r:
            if ends("er") { k = 2 }
        case Self.c:
            if ends("ic") { k = 2 }
        case Self.t:
            if ends("ement") { k = 5 }
            else if ends("ment") { k = 4 }
            else if ends("ent") || ends("ant") { k = 3 }
        case Self.m:
            if ends("ism") { k = 3 }
        case Self.i:
            if ends("iti") { k = 3 }
        case Self.s:
            if ends("ous") { k = 3 }
        case Self.n:
            if ends("ion") {
                // ion → deleted when preceded by s or t.
                if len - 3 >= p2 && len >= 4 {
                    let before = buf[len - 4]
                    if before == Self.s || before == Self.t { len -= 3 }
                }
                return
            }
        default:
            break
        }
        if k > 0 && len - k >= p2 { len -= k }
    }

    /// Step 5: final e and ll.
    private func step5() {
        if len == 0 { return }
        let last = buf[len - 1]
        let pos = len - 1
        if last == Self.e {
            if pos >= p2 || (pos >= p1 && !endsInShortSyllable(pos)) { len -= 1 }
        } else if last == Self.l {
            if pos >= p2 && len >= 2 && buf[len - 2] == Self.l { len -= 1 }
        }
    }
}
