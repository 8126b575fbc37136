import Foundation
import Testing
@testable import StrataSearch

@Suite struct AnalyzerTests {
    /// tantivy's default tokenizer / FTS5 unicode61: runs of letters and digits (any script),
    /// lowercased; everything else separates; invalid UTF-8 separates and never crashes.
    @Test func alphanumericSplitsOnEverythingElse() {
        let a = Analyzer(.alphanumeric)
        #expect(a.tokens("Hello, World! x86_64 e-mail ÉCOLE Straße 東京2024 ①") == ["hello", "world", "x86", "64", "e", "mail", "école", "straße", "東京2024", "①"])
        #expect(a.positionedTokens("a  b\tc").map(\.1) == [0, 1, 2])
        let invalid: [UInt8] = [0x61, 0xFF, 0x62, 0xE2, 0x82, 0x63, 0xF0, 0x9F]
        var out: [String] = []
        invalid.withUnsafeBytes { a.analyze($0) { out.append(String(decoding: $0.bytes, as: UTF8.self)) } }
        #expect(out == ["a", "b", "c"])
        let short = Analyzer(.alphanumeric, maxTokenLength: 3)
        #expect(short.tokens("abc abcd ab") == ["abc", "ab"])
        #expect(Analyzer(.alphanumeric, foldToASCII: true).tokens("Crème brûlée") == ["creme", "brulee"])
    }

    @Test func standardSplitsOnWordBoundariesAndLowercases() {
        let a = Analyzer(.standard)
        #expect(a.tokens("The QUICK brown-fox jumped over 3.14 lazy dogs' e-mail at 10:45, user@example.com")
                == ["the", "quick", "brown", "fox", "jumped", "over", "3.14", "lazy", "dogs", "e", "mail", "at", "10", "45", "user", "example.com"])
        #expect(a.tokens("Ünïcödé ÀBC Σίσυφος") == ["ünïcödé", "àbc", "σίσυφος"])
        #expect(a.tokens("can't won't") == ["can't", "won't"])
        #expect(a.tokens("   ...  !!! ") == [])
        #expect(a.tokens("") == [])
    }

    @Test func cjkAnalyzerMakesBigramsLikeElasticsearch() {
        let a = Analyzer(.cjk)
        #expect(a.tokens("東京都は、日本の首都であり") == ["東京", "京都", "都は", "日本", "本の", "の首", "首都", "都で", "であ", "あり"])
        #expect(a.tokens("テスト") == ["テス", "スト"])
        #expect(a.tokens("日") == ["日"])
        #expect(a.tokens("Ｔｏｋｙｏ 東京 tower") == ["tokyo", "東京", "tower"])
        #expect(a.tokens("the 東京") == ["東京"], "English stop words apply")
    }

    @Test func englishAnalyzerStopsStemsAndKeepsPositions() {
        let a = Analyzer(.english)
        let t = a.positionedTokens("The connections of the running servers' processes")
        #expect(t.map(\.0) == ["connect", "run", "server", "process"])
        #expect(t.map(\.1) == [1, 4, 5, 6], "stop words leave position gaps for phrase queries")
    }

    /// `english` drops Snowball's 174 stop words (pronouns, auxiliaries, contractions…), `cjk`
    /// Lucene's 33; a custom list replaces the default and may hold words of any length.
    @Test func stopWordListsPerAnalyzerAndCustom() {
        #expect(Analyzer.snowballEnglishStopWords.count == 174)
        #expect(Analyzer.englishStopWords.isSubset(of: Analyzer.snowballEnglishStopWords.union(["will"])))
        #expect(Analyzer(.english).tokens("What would they have done about it themselves? We don't know") == ["done", "know"])
        #expect(Analyzer(.cjk).tokens("what would they have done") == ["what", "would", "have", "done"])
        let custom = Analyzer(.standard, stopWords: ["internationalization", "abcdefghijklmno", "abcdefghijklmnop", "x"])
        #expect(custom.tokens("internationalization abcdefghijklmno abcdefghijklmnop abcdefghijklmnopq abcdefghijklmn x y")
                == ["abcdefghijklmnopq", "abcdefghijklmn", "y"], "words of 15, 16 and 20 bytes are stopped; near misses are not")
        #expect(Analyzer(.english, stopWords: []).tokens("the runs") == ["the", "run"], "an empty list disables stop words")
    }

    @Test func keywordAndWhitespaceAnalyzers() {
        #expect(Analyzer(.keyword).tokens("Hello World!") == ["Hello World!"])
        #expect(Analyzer(.whitespace).tokens("  Hello\tWorld!  ünï\ncode ") == ["Hello", "World!", "ünï", "code"])
    }

    @Test func foldingAndMaxLength() {
        let a = Analyzer(.standard, maxTokenLength: 6, foldToASCII: true)
        #expect(a.tokens("Crème brûlée Straße Ørsted abcdefghij") == ["creme", "brulee", "orsted"], "strasse and abcdefghij are over 6 bytes")
    }

    @Test func invalidUTF8NeverCrashes() {
        let a = Analyzer(.english)
        var rng = SystemRandomNumberGenerator()
        for _ in 0 ..< 500 {
            let bytes = (0 ..< Int.random(in: 0 ..< 200, using: &rng)).map { _ in UInt8.random(in: 0 ... 255, using: &rng) }
            bytes.withUnsafeBytes { buf in a.analyze(buf) { t in _ = t.bytes.count } }
        }
        let bad: [UInt8] = [0x61, 0x62, 0xFF, 0x63, 0x64]
        var out: [String] = []
        bad.withUnsafeBytes { buf in a.analyze(buf) { out.append(String(decoding: $0.bytes, as: UTF8.self)) } }
        #expect(out == ["ab", "cd"], "U+FFFD is not a word character")
    }

    /// The alphanumeric tokenizer's fast paths (a lowercase ASCII token handed on in place, a
    /// capitalized one lowercased in one pass, a run that goes on into other scripts) against a
    /// scalar-by-scalar reference, on random text mixing them with separators of both kinds,
    /// long runs (dropped, keeping their position) and offsets.
    @Test func alphanumericFastPathsAgreeWithAReference() {
        let letters: [Unicode.Scalar] = ["a", "q", "z", "A", "Q", "Z", "0", "9", "é", "É", "ß", "東", "①"]
        let separators: [Unicode.Scalar] = [" ", ",", "-", "\n", "—", "\u{A0}", "_"]
        let lower: [Unicode.Scalar: Unicode.Scalar] = ["A": "a", "Q": "q", "Z": "z", "É": "é"]
        var rng = SystemRandomNumberGenerator()
        for maxLength in [5, 40] {
            let a = Analyzer(.alphanumeric, stopWords: [], maxTokenLength: maxLength)
            for _ in 0 ..< 400 {
                var scalars: [Unicode.Scalar] = []
                for _ in 0 ..< Int.random(in: 0 ..< 60, using: &rng) {
                    let pool = Int.random(in: 0 ..< 3, using: &rng) == 0 ? separators : letters
                    scalars.append(pool.randomElement(using: &rng)!)
                }
                var text = ""
                text.unicodeScalars.append(contentsOf: scalars)
                // Reference: maximal runs of letters and digits, lowercased; every run takes a
                // position, runs over `maxLength` UTF-8 bytes are dropped.
                var expected: [(String, Int, Int, Int)] = []
                var run = "", runStart = 0, offset = 0, position = 0
                func finish(_ end: Int) {
                    if !run.isEmpty {
                        if run.utf8.count <= maxLength { expected.append((run, position, runStart, end)) }
                        position += 1
                        run = ""
                    }
                }
                for s in scalars {
                    if letters.contains(s) {
                        if run.isEmpty { runStart = offset }
                        run.unicodeScalars.append(lower[s] ?? s)
                    } else {
                        finish(offset)
                    }
                    offset += String(s).utf8.count
                }
                finish(offset)
                var got: [(String, Int, Int, Int)] = []
                var copy = text
                copy.withUTF8 { u in
                    a.analyze(UnsafeRawBufferPointer(u)) { t in got.append((String(decoding: t.bytes, as: UTF8.self), t.position, t.startOffset, t.endOffset)) }
                }
                #expect(got.map(\.0) == expected.map(\.0), "\(text)")
                #expect(got.map(\.1) == expected.map(\.1), "\(text)")
                #expect(got.map(\.2) == expected.map(\.2) && got.map(\.3) == expected.map(\.3), "\(text)")
            }
        }
    }
}

/// Over-long tokens are dropped with a position gap, in every tokenizer (Lucene's LengthFilter,
/// tantivy's RemoveLongFilter), and a schema sets the length per field.
@Suite struct TokenLengthTests {
    static let long = String(repeating: "x", count: 41)

    @Test(arguments: [AnalyzerKind.standard, .english, .alphanumeric, .whitespace, .cjk])
    func droppedLongTokensLeaveAGap(kind: AnalyzerKind) {
        let a = Analyzer(kind, stopWords: [], maxTokenLength: 40)
        let t = a.positionedTokens("alpha \(Self.long) omega")
        #expect(t.map(\.1) == [0, 2], "\(kind): \(t)")
        #expect(Analyzer(kind, stopWords: [], maxTokenLength: 41).positionedTokens("alpha \(Self.long) omega").map(\.1) == [0, 1, 2])
    }

    /// A phrase does not match across a dropped token; a slop of one does. The field's
    /// `max_token_length` (here 40) comes from the schema JSON, and queries are analyzed
    /// with it too.
    @Test func schemaMaxTokenLengthAndPhrases() throws {
        let json = #"{"fields":[{"name":"m","type":"text","analyzer":"alphanumeric","max_token_length":40}],"dynamic":"ignore"}"#
        let schema = try JSONDecoder().decode(Schema.self, from: Data(json.utf8))
        #expect(schema.fields[0].maxTokenLength == 40)
        let encoded = String(decoding: try JSONEncoder().encode(schema), as: UTF8.self)
        #expect(encoded.contains(#""max_token_length":40"#))
        let index = try SearchIndex(directory: tempPath("token-length"), schema: schema)
        let forty = String(repeating: "y", count: 40)
        try index.add(json: #"{"m":"mod \#(Self.long) jk"}"#)
        try index.add(json: #"{"m":"mod \#(forty) jk"}"#)
        try index.refresh()
        let s = index.searcher()
        #expect(try s.count(QueryParser.parse("\"mod jk\"")) == 0, "no phrase across the dropped token")
        #expect(try s.count(QueryParser.parse("\"mod jk\"~1")) == 2, "one word between, dropped or kept")
        #expect(try s.count(QueryParser.parse(forty)) == 1, "40 bytes are kept")
        #expect(try s.count(QueryParser.parse(Self.long)) == 0, "41 bytes are not, in documents or queries")
        index.close()
        for bad in [#"{"name":"k","type":"keyword","max_token_length":40}"#, #"{"name":"m","type":"text","max_token_length":0}"#] {
            #expect(throws: DecodingError.self, "\(bad)") { _ = try JSONDecoder().decode(FieldDefinition.self, from: Data(bad.utf8)) }
        }
        var other = schema
        #expect(throws: StrataError.self, "another length on an existing field needs a rebuild") {
            try other.merge(try Schema(fields: [FieldDefinition("m", .text(.alphanumeric), maxTokenLength: 255)]), directory: "x")
        }
    }
}
