import Foundation
import Testing
@_spi(Internals) @testable import StrataSearch

@Suite struct PhraseMatcherTests {
    /// Exact phrases (two words, the pair path; a repeated word and three words, the general
    /// path; a stop word's gap between two words) counted and searched against a brute-force
    /// scan of the words indexed. Documents repeat a few words many times, so a word's
    /// positions in one document run past a packed block and either word can be the rarer.
    @Test func phrasesAgreeWithABruteForceScan() throws {
        let words = ["kafka", "disk", "log", "error", "the"]
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func random(_ n: Int) -> Int {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return Int((z ^ (z >> 31)) % UInt64(n))
        }
        let docs: [[String]] = (0 ..< 2500).map { _ in
            let length = random(10) == 0 ? 100 + random(300) : 1 + random(12)
            // Skewed: some documents are mostly one word, so frequencies differ per document.
            let favourite = random(words.count)
            return (0 ..< length).map { _ in words[random(3) == 0 ? favourite : random(words.count)] }
        }
        let schema = try Schema(fields: [FieldDefinition("body", .text(.english))], dynamic: .strict)
        let index = try SearchIndex(directory: tempDirectory("phrase-brute"), schema: schema, options: .init(bufferBytes: 200_000))
        for d in docs { try index.add(json: "{\"body\": \"\(d.joined(separator: " "))\"}") }
        try index.commit()
        #expect(index.segmentCount >= 2)
        let searcher = index.searcher()
        /// Documents where `phrase`'s words (nil: any word, a stop word's gap) occur in a row.
        func expected(_ phrase: [String?]) -> Int {
            docs.filter { d in
                d.count >= phrase.count && (0 ... d.count - phrase.count).contains { i in
                    phrase.indices.allSatisfy { k in phrase[k] == nil || d[i + k] == phrase[k] }
                }
            }.count
        }
        let content = words.filter { $0 != "the" }
        var phrases: [[String?]] = []
        for a in content { for b in content { phrases.append([a, b]); phrases.append([a, nil, b]) } }
        for a in content { for b in content where b != a { for c in content where c != b { phrases.append([a, b, c]) } } }
        for p in phrases {
            let text = "\"" + p.map { $0 ?? "the" }.joined(separator: " ") + "\""
            let query = try QueryParser.parse(text)
            let n = expected(p)
            #expect(try searcher.count(query) == n, "count of \(text)")
            #expect(try searcher.search(query, limit: 3000).count == n, "hits of \(text)")
        }
    }
}
