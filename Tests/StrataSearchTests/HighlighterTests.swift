import Testing
@testable import StrataSearch

/// Expected fragments are written out by hand (offsets counted in the comments).
@Suite struct HighlighterTests {
    func schema(_ fields: [FieldDefinition], defaultFields: [String] = []) throws -> Schema {
        try Schema(fields: fields, dynamic: .ignore, defaultFields: defaultFields)
    }

    func highlighter(_ query: String, _ fields: [FieldDefinition]) throws -> QueryHighlighter {
        QueryHighlighter(query: try QueryParser.parse(query), schema: try schema(fields))
    }

    func json(_ h: QueryHighlighter, _ text: String, _ options: HighlightOptions = HighlightOptions()) -> [String: [String]] {
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBytes { h.fragments(json: $0, options: options) }
    }

    // MARK: what matches

    @Test func termMatchesStemmedForms() throws {
        let h = try highlighter("running", [FieldDefinition("body", .text(.english))])
        #expect(h.highlights(field: "body"))
        #expect(h.fragments(field: "body", text: "She runs daily. Running is fun; the runner ran.")
            == ["She <em>runs</em> daily. <em>Running</em> is fun; the runner ran."])
        #expect(h.fragments(field: "body", text: "Nothing relevant here.") == [])
    }

    @Test func phraseHighlightsOnlyWhereItIsAPhrase() throws {
        let fields = [FieldDefinition("body", .text(.standard))]
        let text = "The quick brown fox saw a quick fox."
        #expect(try highlighter("\"quick fox\"", fields).fragments(field: "body", text: text)
            == ["The quick brown fox saw a <em>quick fox</em>."])
        // Slop 1: "quick brown fox" fits too, wrapped as one span.
        #expect(try highlighter("\"quick fox\"~1", fields).fragments(field: "body", text: text)
            == ["The <em>quick brown fox</em> saw a <em>quick fox</em>."])
        // Words in the wrong order are no phrase.
        #expect(try highlighter("\"fox quick\"", fields).fragments(field: "body", text: text) == [])
        // A term that analyzes to two tokens runs as a phrase.
        #expect(try highlighter("wi-fi", fields).fragments(field: "body", text: "Free wi-fi here, wi and fi apart")
            == ["Free <em>wi-fi</em> here, wi and fi apart"])
        // Phrase prefix: the last word by prefix, right after the first.
        #expect(try highlighter("\"quick br*\"", fields).fragments(field: "body", text: "quick brown fox, quick red, quick bright")
            == ["<em>quick brown</em> fox, quick red, <em>quick bright</em>"])
    }

    @Test func prefixAndFuzzy() throws {
        let fields = [FieldDefinition("body", .text(.standard))]
        #expect(try highlighter("conn*", fields).fragments(field: "body", text: "Connection reset; reconnect and connect again")
            == ["<em>Connection</em> reset; reconnect and <em>connect</em> again"])
        // hadoop is one edit from hadop; hadoops two; hdfs more.
        #expect(try highlighter("hadop~1", fields).fragments(field: "body", text: "Hadoop and hadoops and hdfs")
            == ["<em>Hadoop</em> and hadoops and hdfs"])
        #expect(try highlighter("hadop~2", fields).fragments(field: "body", text: "Hadoop and hadoops and hdfs")
            == ["<em>Hadoop</em> and <em>hadoops</em> and hdfs"])
    }

    @Test func mustNotAndNonTextClausesDoNotHighlight() throws {
        let fields = [FieldDefinition("body", .text(.standard)), FieldDefinition("size", .i64)]
        #expect(try highlighter("error -timeout", fields).fragments(field: "body", text: "error after timeout")
            == ["<em>error</em> after timeout"])
        #expect(try highlighter("error AND NOT timeout", fields).fragments(field: "body", text: "timeout then error")
            == ["timeout then <em>error</em>"])
        let negative = try highlighter("NOT timeout", fields)
        #expect(!negative.highlights(field: "body"))
        #expect(negative.fragments(field: "body", text: "timeout") == [])
        let other = try highlighter("size:[1 TO 5] OR _exists_:body OR *:* OR size:3 OR nosuch:error", fields)
        #expect(!other.highlights(field: "body") && !other.highlights(field: "size") && !other.highlights(field: "nosuch"))
        #expect(other.fragments(field: "body", text: "error") == [])
        #expect(other.fragments(field: "nosuch", text: "error") == [])
        #expect(json(other, #"{"body": "error", "size": 3}"#) == [:])
    }

    @Test func qualifiedClauseOnlyHighlightsItsField() throws {
        let h = try highlighter("title:alpha beta", [FieldDefinition("title", .text(.standard)), FieldDefinition("body", .text(.standard))])
        #expect(h.highlights(field: "title") && h.highlights(field: "body"))
        #expect(json(h, #"{"title": "alpha beta", "body": "alpha beta gamma"}"#)
            == ["title": ["<em>alpha</em> <em>beta</em>"], "body": ["alpha <em>beta</em> gamma"]])
        // Default fields limit unqualified terms.
        let limited = QueryHighlighter(query: try QueryParser.parse("alpha"),
                                       schema: try schema([FieldDefinition("title", .text(.standard)), FieldDefinition("body", .text(.standard))], defaultFields: ["body"]))
        #expect(json(limited, #"{"title": "alpha", "body": "alpha"}"#) == ["body": ["<em>alpha</em>"]])
    }

    @Test func jsonNestedPathsAndArrays() throws {
        let h = try highlighter("math OR ada", [FieldDefinition("user.name", .text(.standard)), FieldDefinition("tags", .text(.standard))])
        let doc = #"{"user": {"name": "Ada Lovelace", "age": 36}, "tags": ["math", "poetry", "math engines"], "other": "math", "n": null}"#
        #expect(json(h, doc) == ["user.name": ["<em>Ada</em> Lovelace"], "tags": ["<em>math</em>", "<em>math</em> engines"]])
        // Escapes are unescaped before matching.
        #expect(json(h, #"{"tags": "\"math\"\u0021"}"#) == ["tags": ["\"<em>math</em>\"!"]])
        #expect(json(h, #"{"tags": "math""#) == [:])
        #expect(json(h, "not json") == [:])
        #expect(json(h, "") == [:])
    }

    /// A multi-field (`service.keyword`, sourced from `service`) highlights the source's value.
    @Test func multiFieldHighlightsItsSourceValue() throws {
        let fields = [FieldDefinition("service", .text(.standard)), FieldDefinition.keywordSubfield(of: "service")]
        let h = try highlighter("service.keyword:\"billing api\" OR service:api", fields)
        #expect(json(h, #"{"service":"billing api"}"#) == ["service.keyword": ["<em>billing api</em>"], "service": ["billing <em>api</em>"]])
        #expect(json(h, #"{"other":"billing api"}"#) == [:])
    }

    @Test func keywordFieldMatchesTheWholeValueExactly() throws {
        let fields = [FieldDefinition("status", .keyword), FieldDefinition("body", .text(.standard))]
        let h = try highlighter("status:Active", fields)
        #expect(h.fragments(field: "status", text: "Active") == ["<em>Active</em>"])
        #expect(h.fragments(field: "status", text: "Active user") == [])
        #expect(h.fragments(field: "status", text: "active") == [])
        #expect(!h.highlights(field: "body"))
        #expect(try highlighter("status:\"Not Found\"", fields).fragments(field: "status", text: "Not Found") == ["<em>Not Found</em>"])
        // A prefix on a keyword field is raw (case kept).
        let prefix = try highlighter("status:Act*", fields)
        #expect(prefix.fragments(field: "status", text: "Active user") == ["<em>Active user</em>"])
        #expect(prefix.fragments(field: "status", text: "active user") == [])
        #expect(json(prefix, #"{"status": ["Actor", "Idle"], "body": "Active"}"#) == ["status": ["<em>Actor</em>"]])
    }

    // MARK: fragments

    /// 20 words of 4 letters, word k at offset 5k (99 characters).
    let letters = "aaaa bbbb cccc dddd eeee ffff gggg hhhh iiii jjjj kkkk llll mmmm nnnn oooo pppp qqqq rrrr ssss tttt"

    @Test func longTextGivesFragmentsInTextOrderBestFirst() throws {
        let h = try highlighter("cccc OR jjjj OR kkkk OR ssss", [FieldDefinition("body", .text(.standard))])
        // Windows of 20 starting 5 before the first uncovered match: [5, 25), [40, 60), [85, 99).
        var options = HighlightOptions(fragmentSize: 20)
        #expect(h.fragments(field: "body", text: letters, options: options)
            == ["bbbb <em>cccc</em> dddd eeee", "iiii <em>jjjj</em> <em>kkkk</em> llll", "rrrr <em>ssss</em> tttt"])
        // Two: the one with two terms, then the earlier of the two with one; in text order.
        options.numberOfFragments = 2
        #expect(h.fragments(field: "body", text: letters, options: options)
            == ["bbbb <em>cccc</em> dddd eeee", "iiii <em>jjjj</em> <em>kkkk</em> llll"])
        options.numberOfFragments = 1
        #expect(h.fragments(field: "body", text: letters, options: options) == ["iiii <em>jjjj</em> <em>kkkk</em> llll"])
        // Distinct terms outrank repeats: "ssss ssss ssss" (one term, three matches) loses to "cccc … jjjj".
        let repeats = "cccc jjjj xxxx xxxx xxxx xxxx xxxx xxxx xxxx xxxx xxxx xxxx ssss ssss ssss xxxx"
        #expect(h.fragments(field: "body", text: repeats, options: options) == ["<em>cccc</em> <em>jjjj</em> xxxx xxxx"])
        // Whole value when it fits.
        #expect(h.fragments(field: "body", text: letters)
            == ["aaaa bbbb <em>cccc</em> dddd eeee ffff gggg hhhh iiii <em>jjjj</em> <em>kkkk</em> llll mmmm nnnn oooo pppp qqqq rrrr <em>ssss</em> tttt"])
    }

    @Test func fragmentEndsSnapToWordBoundaries() throws {
        let h = try highlighter("iota", [FieldDefinition("body", .text(.standard))])
        let text = "Alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma tau upsilon"
        // iota at 46: the start (41, inside "theta") moves back to 40; the end (60, inside
        // "lambda") moves on to 63.
        #expect(h.fragments(field: "body", text: text, options: HighlightOptions(fragmentSize: 20)) == ["theta <em>iota</em> kappa lambda"])
    }

    @Test func zeroFragmentsHighlightsTheWholeValue() throws {
        let h = try highlighter("bbbb OR tttt", [FieldDefinition("body", .text(.standard))])
        let whole = "aaaa <em>bbbb</em> cccc dddd eeee ffff gggg hhhh iiii jjjj kkkk llll mmmm nnnn oooo pppp qqqq rrrr ssss <em>tttt</em>"
        #expect(h.fragments(field: "body", text: letters, options: HighlightOptions(fragmentSize: 20, numberOfFragments: 0)) == [whole])
        #expect(h.fragments(field: "body", text: letters, options: HighlightOptions(fragmentSize: 0)) == [whole])
        #expect(h.fragments(field: "body", text: "  bbbb  \n", options: HighlightOptions(numberOfFragments: 0)) == ["<em>bbbb</em>"])
    }

    @Test func htmlEncoderEscapesTextNotTags() throws {
        let h = try highlighter("b", [FieldDefinition("body", .text(.standard))])
        let text = #"a < b & "c" 'd' > e"#
        #expect(h.fragments(field: "body", text: text, options: HighlightOptions(encoder: .html))
            == [#"a &lt; <em>b</em> &amp; &quot;c&quot; &#x27;d&#x27; &gt; e"#])
        #expect(h.fragments(field: "body", text: text, options: HighlightOptions(preTag: #"<b class="hl">"#, postTag: "</b>", encoder: .html))
            == [#"a &lt; <b class="hl">b</b> &amp; &quot;c&quot; &#x27;d&#x27; &gt; e"#])
        #expect(h.fragments(field: "body", text: text) == [#"a < <em>b</em> & "c" 'd' > e"#])
    }

    @Test func cjkMatchInTheMiddleOfALongText() throws {
        let fields = [FieldDefinition("body", .text(.cjk))]
        // 50 あ, 東京, 60 い (112 characters): the window starts 5 characters before the match
        // and spans 20, cut between characters (no word boundaries).
        let japanese = String(repeating: "あ", count: 50) + "東京" + String(repeating: "い", count: 60)
        let h = try highlighter("東京", fields)
        #expect(h.fragments(field: "body", text: japanese, options: HighlightOptions(fragmentSize: 20))
            == ["あああああ<em>東京</em>いいいいいいいいいいいいい"])
        // Chinese: 3 × 15 characters, 北京大学, 4 × 13 characters (101); 北京 is characters 45–46.
        let chinese = String(repeating: "天气很好我们去公园散步然后吃饭", count: 3) + "北京大学" + String(repeating: "图书馆非常大而且有很多书籍", count: 4)
        #expect(try highlighter("北京", fields).fragments(field: "body", text: chinese, options: HighlightOptions(fragmentSize: 20))
            == ["步然后吃饭<em>北京</em>大学图书馆非常大而且有很多"])
        // Overlapping bigram matches (東京, 京都) merge into one span; a three-character term is a phrase.
        #expect(try highlighter("東京 京都", fields).fragments(field: "body", text: "私は東京都に住む") == ["私は<em>東京都</em>に住む"])
        #expect(try highlighter("東京都", fields).fragments(field: "body", text: "東京と京都と東京都") == ["東京と京都と<em>東京都</em>"])
    }

    @Test func invalidUTF8DoesNotCrash() throws {
        let h = try highlighter("error OR \"more error\" OR err* OR erorr~1", [FieldDefinition("body", .text(.standard))])
        let bytes: [UInt8] = [0xFF, 0xFE] + Array("error".utf8) + [0xC3] + Array(" more".utf8) + [0x80, 0x80]
        let out = bytes.withUnsafeBytes { h.fragments(field: "body", utf8: $0) }
        #expect(out == ["\u{FFFD}\u{FFFD}<em>error</em>\u{FFFD} more\u{FFFD}\u{FFFD}"])
        // Random bytes with words among them, at several sizes: no crash, well-formed output.
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func random() -> UInt64 { state ^= state << 13; state ^= state >> 7; state ^= state << 17; return state }
        for size in [1, 2, 7, 20, 100] {
            var noise: [UInt8] = []
            for _ in 0 ..< 5000 {
                let r = random()
                if r % 7 == 0 { noise.append(contentsOf: " more error ".utf8) } else { noise.append(UInt8(truncatingIfNeeded: r >> 8)) }
            }
            for fragments in [3, 0] {
                let options = HighlightOptions(fragmentSize: size, numberOfFragments: fragments)
                let out = noise.withUnsafeBytes { h.fragments(field: "body", utf8: $0, options: options) }
                #expect(!out.isEmpty && out.count <= max(fragments, 1))
                #expect(out.allSatisfy { $0.contains("<em>") })
            }
        }
        // Only continuation bytes, and a stray one before a word.
        let odd: [UInt8] = [0x80, 0x80, 0x80] + Array("error".utf8) + [0xBF]
        let oddOut = odd.withUnsafeBytes { h.fragments(field: "body", utf8: $0, options: HighlightOptions(fragmentSize: 2)) }
        #expect(oddOut.count == 1 && oddOut[0].contains("<em>error</em>"))
        #expect([UInt8]().withUnsafeBytes { h.fragments(field: "body", utf8: $0) } == [])
        #expect(h.fragments(field: "body", text: "") == [])
    }

    @Test func manyMatches() throws {
        let h = try highlighter("a", [FieldDefinition("body", .text(.standard))])
        let text = String(repeating: "a b ", count: 50_000)
        let out = h.fragments(field: "body", text: text, options: HighlightOptions(fragmentSize: 10, numberOfFragments: 3))
        // Windows of 10 alternate "a b a b a" (three matches, at 0, 20, 40) and "b a b a b" (two,
        // at 10, 30): one term each, so the first three with three matches win.
        let three = "<em>a</em> b <em>a</em> b <em>a</em>"
        #expect(out == [three, three, three])
        let whole = h.fragments(field: "body", text: text, options: HighlightOptions(numberOfFragments: 0))
        #expect(whole.count == 1 && whole[0].hasPrefix("<em>a</em> b <em>a</em>") && whole[0].hasSuffix("<em>a</em> b"))
    }
}
