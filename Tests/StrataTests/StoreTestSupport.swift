import Foundation
import Testing
@testable import Strata

func storeDirectory(_ tag: String) -> String {
    let dir = NSTemporaryDirectory() + "strata-store-\(tag)-\(getpid())-\(UInt32.random(in: 0 ... .max))"
    try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

/// Options for tests: quick refreshes and commits, a small buffer.
func testOptions(readOnly: Bool = false, indexing: Bool = true) -> StoreOptions {
    var o = StoreOptions(readOnly: readOnly)
    o.indexing = indexing
    o.refreshIntervalMs = 20
    o.minimumRefreshGapMs = 2
    o.commitIntervalMs = 200
    o.indexBufferBytes = 4 << 20
    return o
}
