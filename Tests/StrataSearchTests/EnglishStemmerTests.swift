import Foundation
import Testing
@testable import StrataSearch

@Suite struct EnglishStemmerTests {
    /// `../shared/data/snowball-english/` relative to the package root.
    static var dataDirectory: URL {
        URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent()  // StrataSearchTests
            .deletingLastPathComponent()  // Tests
            .deletingLastPathComponent()  // package root
            .appendingPathComponent("../shared/data/snowball-english", isDirectory: true)
            .standardizedFileURL
    }

    /// Lines of a text file, without a trailing empty line.
    static func lines(_ url: URL) throws -> [Substring] {
        let text = try String(contentsOf: url, encoding: .utf8)
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        if lines.last == "" { lines.removeLast() }
        return lines
    }

    @Test func snowballVocabulary() throws {
        let dir = Self.dataDirectory
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            print("skip: ../shared/data is absent")
            return
        }
        let words = try Self.lines(dir.appendingPathComponent("voc.txt"))
        let expected = try Self.lines(dir.appendingPathComponent("output.txt"))
        #expect(words.count == 42_649)
        #expect(words.count == expected.count)

        let stemmer = EnglishStemmer()
        var mismatches: [String] = []
        var mismatchCount = 0
        for (word, want) in zip(words, expected) {
            var w = String(word)
            let got = w.withUTF8 { utf8 in
                String(decoding: stemmer.stem(UnsafeRawBufferPointer(utf8)), as: UTF8.self)
            }
            if got != want {
                mismatchCount += 1
                if mismatches.count < 20 {
                    mismatches.append("\(word) → expected \(want), got \(got)")
                }
            }
        }
        if mismatchCount > 0 {
            let message = "\(mismatchCount) of \(words.count) words stem differently; first ones:\n"
                + mismatches.joined(separator: "\n")
            Issue.record(Comment(rawValue: message))
        }
    }

    @Test(arguments: [
        ("consigned", "consign"),
        ("consignment", "consign"),
        ("generously", "generous"),
        ("generate", "generat"),
        ("knightly", "knight"),
        ("running", "run"),
        ("hoping", "hope"),
        ("hopped", "hop"),
        ("added", "add"),
        ("cats", "cat"),
        ("caresses", "caress"),
        ("ties", "tie"),
        ("cries", "cri"),
        ("gas", "gas"),
        ("sprinkled", "sprinkl"),
        ("luxuriating", "luxuri"),
        ("crying", "cri"),
        ("say", "say"),
        ("eying", "eye"),
        ("international", "internat"),
        ("universal", "universal"),
        ("universe", "univers"),
        ("pasted", "paste"),
        ("past", "past"),
        ("geologists", "geolog"),
        ("archaeology", "archaeolog"),
        ("hopelessly", "hopeless"),
        ("fully", "fulli"),
        ("there's", "there"),
        ("there's'", "there"),
    ])
    func handPicked(word: String, stem: String) {
        #expect(EnglishStemmer().stem(word) == stem)
    }

    @Test(arguments: [
        ("skies", "sky"), ("skis", "ski"), ("sky", "sky"),
        ("dying", "die"), ("lying", "lie"), ("tying", "tie"), ("vying", "vie"),
        ("idly", "idl"), ("gently", "gentl"), ("ugly", "ugli"), ("early", "earli"),
        ("only", "onli"), ("singly", "singl"),
        ("news", "news"), ("howe", "howe"), ("atlas", "atlas"), ("cosmos", "cosmos"),
        ("bias", "bias"), ("andes", "andes"),
        ("inning", "inning"), ("innings", "inning"), ("outing", "outing"), ("canning", "canning"),
        ("herring", "herring"), ("earring", "earring"), ("evening", "evening"),
        ("proceed", "proceed"), ("proceeds", "proceed"), ("exceed", "exceed"), ("succeed", "succeed"),
    ])
    func exceptionalForms(word: String, stem: String) {
        #expect(EnglishStemmer().stem(word) == stem)
    }

    @Test func shortWordsAndApostrophes() {
        let stemmer = EnglishStemmer()
        #expect(stemmer.stem("") == "")
        #expect(stemmer.stem("y") == "y")
        #expect(stemmer.stem("as") == "as")
        #expect(stemmer.stem("yes") == "yes")
        #expect(stemmer.stem("'s") == "'s")
        #expect(stemmer.stem("'s'") == "s")
        #expect(stemmer.stem("'") == "'")
        #expect(stemmer.stem("'''") == "'")
        #expect(stemmer.stem("'a'") == "a")
        #expect(stemmer.stem("a''") == "a'")
        // Not in the vocabulary, but "cause" → "caus" is, and an initial apostrophe is dropped.
        #expect(stemmer.stem("'cause") == "caus")
        #expect(stemmer.stem("'as'") == "as")
        #expect(stemmer.stem("youth") == "youth")
        #expect(stemmer.stem("enjoying") == "enjoy")
    }

    @Test func nonASCIIWordsAreUnchanged() {
        let stemmer = EnglishStemmer()
        #expect(stemmer.stem("cafés") == "cafés")
        #expect(stemmer.stem("naïvely") == "naïvely")
    }

    @Test func bufferIsReusedAcrossCalls() {
        let stemmer = EnglishStemmer()
        let long = String(repeating: "ab", count: 300) + "ness"
        #expect(stemmer.stem(long) == String(repeating: "ab", count: 300))
        #expect(stemmer.stem("running") == "run")
        var word = Array("connections".utf8)
        let stem = word.withUnsafeMutableBytes { bytes in
            Array(stemmer.stem(UnsafeRawBufferPointer(bytes)))
        }
        #expect(String(decoding: stem, as: UTF8.self) == "connect")
    }
}
