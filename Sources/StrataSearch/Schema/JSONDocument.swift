#if canImport(Glibc)
import Glibc
#endif
import StrataIO

/// A JSON object flattened into (dotted path, value) pairs, parsed from UTF-8 bytes without
/// building strings: paths and unescaped string values live in one reusable arena. Nested
/// objects become `a.b` paths; array elements become several values of one path; `null` is
/// skipped. Reuse one instance per thread: after warm-up, parsing allocates nothing.
public struct JSONDocument {
    public enum Kind: UInt8, Sendable { case string, integer, float, bool }

    public struct Entry {
        var path: Range<Int>
        public var kind: Kind
        var value: Range<Int>
        /// For `integer` (and `bool`: 1/0); `float` in `double`.
        public var integer: Int64
        public var double: Double
    }

    public internal(set) var entries: [Entry] = []
    var arena: [UInt8] = []
    private var pathStack: [Int] = []
    private var pathBuffer: [UInt8] = []

    public init() {}

    func path(_ e: Entry) -> UnsafeRawBufferPointer {
        arena.withUnsafeBytes { UnsafeRawBufferPointer(rebasing: $0[e.path]) }
    }

    /// Calls `body` with an entry's path and value bytes (valid during the call).
    public func withBytes<R>(_ e: Entry, _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try arena.withUnsafeBytes { a in try body(UnsafeRawBufferPointer(rebasing: a[e.path]), UnsafeRawBufferPointer(rebasing: a[e.value])) }
    }

    /// Forgets every entry (capacity kept).
    public mutating func removeAll() {
        entries.removeAll(keepingCapacity: true)
        arena.removeAll(keepingCapacity: true)
        pathBuffer.removeAll(keepingCapacity: true)
    }

    /// Parses one JSON object. Errors name the byte offset and what was expected.
    public mutating func parse(_ bytes: UnsafeRawBufferPointer) throws {
        removeAll()
        try parseAppending(bytes)
    }

    /// Parses one JSON object, adding its entries after those already held; on an error the
    /// entries held before are kept and nothing of the object is (the store adds a record's
    /// fields beside its offset and falls back to text when the value is not an object).
    public mutating func parseAppending(_ bytes: UnsafeRawBufferPointer) throws {
        let entriesBefore = entries.count, arenaBefore = arena.count
        do { try parseObjectOnly(bytes) } catch {
            entries.removeSubrange(entriesBefore...)
            arena.removeSubrange(arenaBefore...)
            pathBuffer.removeAll(keepingCapacity: true)
            throw error
        }
    }

    /// Adds a string value at `path` (UTF-8 bytes, copied).
    public mutating func append(path: StaticString, string value: UnsafeRawBufferPointer) {
        let p = appendBytes(path)
        let v = arena.count
        arena.append(contentsOf: value)
        entries.append(Entry(path: p, kind: .string, value: v ..< arena.count, integer: 0, double: 0))
    }

    /// Adds an integer value at `path`.
    public mutating func append(path: StaticString, integer value: Int64) {
        let p = appendBytes(path)
        let v = arena.count
        // The decimal text too, as parsing would keep it (a keyword field indexes it).
        var magnitude = value.magnitude
        if value < 0 { arena.append(UInt8(ascii: "-")) }
        let digitsStart = arena.count
        repeat {
            arena.append(UInt8(ascii: "0") + UInt8(magnitude % 10))
            magnitude /= 10
        } while magnitude > 0
        arena[digitsStart...].reverse()
        entries.append(Entry(path: p, kind: .integer, value: v ..< arena.count, integer: value, double: Double(value)))
    }

    private mutating func appendBytes(_ s: StaticString) -> Range<Int> {
        let start = arena.count
        s.withUTF8Buffer { arena.append(contentsOf: $0) }
        return start ..< arena.count
    }

    /// The last entry at `path`, if any.
    public func lastEntry(at path: String) -> Entry? {
        var found: Entry?
        var copy = path
        copy.withUTF8 { want in
            arena.withUnsafeBytes { a in
                for e in entries where e.path.count == want.count && (want.count == 0 || memcmp(a.baseAddress! + e.path.lowerBound, want.baseAddress!, want.count) == 0) { found = e }
            }
        }
        return found
    }

    private mutating func parseObjectOnly(_ bytes: UnsafeRawBufferPointer) throws {
        pathBuffer.removeAll(keepingCapacity: true)
        var p = Parser(bytes: bytes)
        p.skipSpace()
        guard p.peek() == UInt8(ascii: "{") else { throw p.error("a JSON object ('{')") }
        try parseObject(&p, depth: 0)
        p.skipSpace()
        if p.i < bytes.count { throw p.error("end of input after the object") }
    }

    private mutating func parseObject(_ p: inout Parser, depth: Int) throws {
        if depth > 64 { throw p.error("nesting of at most 64 levels") }
        p.i += 1 // {
        p.skipSpace()
        if p.peek() == UInt8(ascii: "}") { p.i += 1; return }
        while true {
            p.skipSpace()
            guard p.peek() == UInt8(ascii: "\"") else { throw p.error("a field name in quotes") }
            let mark = pathBuffer.count
            if mark > 0 { pathBuffer.append(UInt8(ascii: ".")) }
            let keyStart = arena.count
            try p.readString(into: &arena)
            pathBuffer.append(contentsOf: arena[keyStart...])
            arena.removeLast(arena.count - keyStart)
            p.skipSpace()
            guard p.peek() == UInt8(ascii: ":") else { throw p.error("':' after a field name") }
            p.i += 1
            try parseValue(&p, depth: depth)
            pathBuffer.removeLast(pathBuffer.count - mark)
            p.skipSpace()
            switch p.peek() {
            case UInt8(ascii: ","): p.i += 1
            case UInt8(ascii: "}"): p.i += 1; return
            default: throw p.error("',' or '}' in an object")
            }
        }
    }

    private mutating func parseValue(_ p: inout Parser, depth: Int) throws {
        p.skipSpace()
        guard let c = p.peek() else { throw p.error("a value") }
        switch c {
        case UInt8(ascii: "{"):
            try parseObject(&p, depth: depth + 1)
        case UInt8(ascii: "["):
            if depth > 64 { throw p.error("nesting of at most 64 levels") }
            p.i += 1
            p.skipSpace()
            if p.peek() == UInt8(ascii: "]") { p.i += 1; return }
            while true {
                try parseValue(&p, depth: depth + 1)
                p.skipSpace()
                switch p.peek() {
                case UInt8(ascii: ","): p.i += 1
                case UInt8(ascii: "]"): p.i += 1; return
                default: throw p.error("',' or ']' in an array")
                }
            }
        case UInt8(ascii: "\""):
            let path = appendPath()
            let start = arena.count
            try p.readString(into: &arena)
            entries.append(Entry(path: path, kind: .string, value: start ..< arena.count, integer: 0, double: 0))
        case UInt8(ascii: "t"), UInt8(ascii: "f"), UInt8(ascii: "n"):
            let word: String = c == UInt8(ascii: "t") ? "true" : c == UInt8(ascii: "f") ? "false" : "null"
            for (k, b) in word.utf8.enumerated() where p.at(p.i + k) != b { throw p.error("'\(word)'") }
            p.i += word.utf8.count
            if c != UInt8(ascii: "n") {
                let path = appendPath()
                let start = arena.count
                arena.append(contentsOf: word.utf8)
                entries.append(Entry(path: path, kind: .bool, value: start ..< arena.count, integer: c == UInt8(ascii: "t") ? 1 : 0, double: 0))
            }
        default:
            let start = p.i
            guard let (isInteger, integer, double) = p.readNumber() else { throw p.error("a value") }
            let path = appendPath()
            let vStart = arena.count
            arena.append(contentsOf: UnsafeRawBufferPointer(rebasing: p.bytes[start ..< p.i]))
            entries.append(Entry(path: path, kind: isInteger ? .integer : .float, value: vStart ..< arena.count, integer: integer, double: double))
        }
    }

    private mutating func appendPath() -> Range<Int> {
        let s = arena.count
        arena.append(contentsOf: pathBuffer)
        return s ..< arena.count
    }

    private struct Parser {
        let bytes: UnsafeRawBufferPointer
        var i = 0

        @inline(__always) func peek() -> UInt8? { i < bytes.count ? bytes[i] : nil }
        @inline(__always) func at(_ k: Int) -> UInt8? { k < bytes.count ? bytes[k] : nil }

        mutating func skipSpace() {
            while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x0A || bytes[i] == 0x0D || bytes[i] == 0x09 { i += 1 }
        }

        func error(_ expected: String) -> StrataError {
            let found = i < bytes.count ? "byte 0x\(String(bytes[i], radix: 16))" : "end of input"
            return .invalidArgument("JSON document: expected \(expected) at byte \(i), found \(found)")
        }

        /// Reads a string (at its opening quote), unescaped, into `out`. Invalid UTF-8 is kept
        /// as is (analyzers replace it); control characters are rejected as JSON requires.
        /// Whether any of the eight bytes is a quote, a backslash or a control character
        /// (below 0x20): the zero-byte tests of "Bit Twiddling Hacks", exact for "any".
        @inline(__always) static func endsRun(_ w: UInt64) -> Bool {
            let ones: UInt64 = 0x0101_0101_0101_0101, highs: UInt64 = 0x8080_8080_8080_8080
            let quote = w ^ (ones &* 0x22), backslash = w ^ (ones &* 0x5C)
            let quotes = (quote &- ones) & ~quote
            let backslashes = (backslash &- ones) & ~backslash
            let controls = (w &- ones &* 0x20) & ~w
            return (quotes | backslashes | controls) & highs != 0
        }

        mutating func readString(into out: inout [UInt8]) throws {
            i += 1
            while true {
                // Copy the run up to the next quote or backslash in one go.
                var j = i
                // Eight bytes per step while none of them ends the run, then byte by byte.
                while j &+ 8 <= bytes.count, !Self.endsRun(UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: j, as: UInt64.self))) { j &+= 8 }
                while j < bytes.count, bytes[j] != 0x22, bytes[j] != 0x5C, bytes[j] >= 0x20 { j += 1 }
                if j > i { out.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[i ..< j])) }
                i = j
                guard i < bytes.count else { throw error("a closing '\"'") }
                let c = bytes[i]
                if c == 0x22 { i += 1; return }
                if c < 0x20 { throw error("no control characters inside a string") }
                // Escape.
                guard i + 1 < bytes.count else { throw error("an escape sequence") }
                let e = bytes[i + 1]
                i += 2
                switch e {
                case UInt8(ascii: "\""): out.append(0x22)
                case UInt8(ascii: "\\"): out.append(0x5C)
                case UInt8(ascii: "/"): out.append(0x2F)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try hex4()
                    if scalar >= 0xD800 && scalar < 0xDC00, at(i) == 0x5C, at(i + 1) == UInt8(ascii: "u") {
                        let save = i
                        i += 2
                        let low = try hex4()
                        if low >= 0xDC00 && low < 0xE000 {
                            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        } else {
                            i = save
                        }
                    }
                    if scalar >= 0xD800 && scalar < 0xE000 { scalar = 0xFFFD } // lone surrogate
                    appendUTF8(scalar, &out)
                default:
                    i -= 1
                    throw error("a valid escape (\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)")
                }
            }
        }

        private mutating func hex4() throws -> UInt32 {
            var v: UInt32 = 0
            for _ in 0 ..< 4 {
                guard let c = peek() else { throw error("4 hex digits after \\u") }
                let d: UInt32
                switch c {
                case 0x30 ... 0x39: d = UInt32(c - 0x30)
                case 0x41 ... 0x46: d = UInt32(c - 0x41 + 10)
                case 0x61 ... 0x66: d = UInt32(c - 0x61 + 10)
                default: throw error("4 hex digits after \\u")
                }
                v = v << 4 | d
                i += 1
            }
            return v
        }

        private func appendUTF8(_ s: UInt32, _ out: inout [UInt8]) {
            switch s {
            case 0 ..< 0x80: out.append(UInt8(s))
            case 0x80 ..< 0x800: out.append(UInt8(0xC0 | s >> 6)); out.append(UInt8(0x80 | s & 0x3F))
            case 0x800 ..< 0x10000:
                out.append(UInt8(0xE0 | s >> 12)); out.append(UInt8(0x80 | (s >> 6) & 0x3F)); out.append(UInt8(0x80 | s & 0x3F))
            default:
                out.append(UInt8(0xF0 | s >> 18)); out.append(UInt8(0x80 | (s >> 12) & 0x3F))
                out.append(UInt8(0x80 | (s >> 6) & 0x3F)); out.append(UInt8(0x80 | s & 0x3F))
            }
        }

        /// A JSON number: integers that fit Int64 stay exact; others are parsed as Double.
        mutating func readNumber() -> (Bool, Int64, Double)? {
            let start = i
            if peek() == UInt8(ascii: "-") { i += 1 }
            let digitsStart = i
            while let c = peek(), c >= 0x30 && c <= 0x39 { i += 1 }
            if i == digitsStart { i = start; return nil }
            if bytes[digitsStart] == 0x30 && i - digitsStart > 1 { i = start; return nil } // leading zero
            var isInteger = true
            if peek() == UInt8(ascii: ".") {
                isInteger = false
                i += 1
                let f = i
                while let c = peek(), c >= 0x30 && c <= 0x39 { i += 1 }
                if i == f { i = start; return nil }
            }
            if let c = peek(), c == UInt8(ascii: "e") || c == UInt8(ascii: "E") {
                isInteger = false
                i += 1
                if let s = peek(), s == UInt8(ascii: "+") || s == UInt8(ascii: "-") { i += 1 }
                let e = i
                while let c = peek(), c >= 0x30 && c <= 0x39 { i += 1 }
                if i == e { i = start; return nil }
            }
            if isInteger {
                var v: Int64 = 0
                var overflow = false
                for k in digitsStart ..< i {
                    let (m, o1) = v.multipliedReportingOverflow(by: 10)
                    let (a, o2) = m.addingReportingOverflow(Int64(bytes[k] - 0x30))
                    overflow = overflow || o1 || o2
                    v = a
                }
                if !overflow { return (true, bytes[start] == UInt8(ascii: "-") ? -v : v, Double(bytes[start] == UInt8(ascii: "-") ? -v : v)) }
            }
            var text = [CChar](repeating: 0, count: i - start + 1)
            for k in start ..< i { text[k - start] = CChar(bitPattern: bytes[k]) }
            let d = strtod(text, nil)
            return (false, 0, d)
        }
    }
}
