import Foundation
import Testing
import StrataIO
@testable import StrataSearch

@Suite struct BufferAccountingTests {
    /// The buffer's running estimate (what triggers flushes) stays within 10% of the heap its
    /// arrays really hold, so a 64 MiB buffer is about 64 MiB.
    @Test func estimateTracksMeasuredBytes() throws {
        let index = try SearchIndex(directory: tempDirectory("acct"), schema: Corpus.schema(), options: .init(bufferBytes: 1 << 40))
        let corpus = Corpus(count: 20000, seed: 3)
        for (i, d) in corpus.docs.enumerated() {
            try index.add(json: corpus.json(d))
            if i % 5000 == 4999 {
                let (estimated, measured) = index.bufferBytes
                print("accounting after \(i + 1) docs: estimated \(estimated), measured \(measured)")
                #expect(Double(estimated) > 0.9 * Double(measured) && Double(estimated) < 1.1 * Double(measured), "estimated \(estimated), measured \(measured)")
            }
        }
    }
}
