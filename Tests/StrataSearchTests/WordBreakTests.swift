import Foundation
import Testing
@testable import StrataSearch

let searchPackageRoot: String = {
    var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
    parts.removeLast(3)
    return parts.joined(separator: "/")
}()

@Suite struct WordBreakTests {
    /// Every case of Unicode's WordBreakTest.txt (Debian's unicode-data package). In CI
    /// (STRATA_REQUIRE_UNICODE_DATA=1) a missing file is a failure.
    @Test func unicodeWordBreakTestPasses() throws {
        let path = "/usr/share/unicode/auxiliary/WordBreakTest.txt"
        guard FileManager.default.fileExists(atPath: path) else {
            if ProcessInfo.processInfo.environment["STRATA_REQUIRE_UNICODE_DATA"] == "1" { Issue.record("\(path) missing: apt-get install unicode-data") }
            print("skip: \(path) is absent (apt-get install unicode-data)")
            return
        }
        let segmenter = WordSegmenter()
        var cases = 0, failures = 0
        for line in try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n") {
            let body = line.split(separator: "#", maxSplits: 1).first.map(String.init) ?? ""
            if body.trimmingCharacters(in: .whitespaces).isEmpty { continue }
            var scalars: [UInt32] = []
            var breaks: [Bool] = [] // breaks[i]: boundary before scalar i (i ≥ 1)
            for token in body.split(whereSeparator: { $0 == " " || $0 == "\t" }) {
                if token == "÷" { breaks.append(true) } else if token == "×" { breaks.append(false) } else if let v = UInt32(token, radix: 16) { scalars.append(v) }
            }
            segmenter.load(scalars: scalars)
            var got: [Bool] = []
            for i in stride(from: 1, to: scalars.count, by: 1) { got.append(segmenter.isBoundary(i)) }
            let expected = Array(breaks.dropFirst().dropLast())
            cases += 1
            if got != expected {
                failures += 1
                if failures <= 5 { Issue.record("WordBreakTest: \(line.prefix(120)) → got \(got)") }
            }
        }
        #expect(cases > 1800 && failures == 0, "\(failures) of \(cases) cases failed")
    }

    @Test func invalidUTF8BecomesReplacementCharacters() {
        let segmenter = WordSegmenter()
        let bytes: [UInt8] = [0x61, 0xFF, 0x62, 0xE2, 0x82, 0x63, 0xF0, 0x9F, 0x98, 0x80]
        bytes.withUnsafeBytes { segmenter.load($0) }
        #expect(segmenter.count == 7)
        #expect(segmenter.scalars[1].scalar == 0xFFFD && segmenter.scalars[6].scalar == 0x1F600)
    }
}
