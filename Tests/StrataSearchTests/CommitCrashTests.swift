import Foundation
import Testing
import StrataIO
@_spi(Testing) @testable import StrataSearch

/// strata-torture, built beside the test bundle (`swift build --build-tests` builds it).
private func tortureBinary() -> String? {
    let bundle = CommandLine.arguments[0]
    var dir = FileSystem.parent(of: bundle)
    for _ in 0 ..< 3 {
        if FileSystem.exists(dir + "/strata-torture") { return dir + "/strata-torture" }
        dir = FileSystem.parent(of: dir)
    }
    return nil
}

private func runChild(_ binary: String, _ args: [String], killAfterMicroseconds: UInt32? = nil) throws -> (Int32, String) {
    let child = Process()
    child.executableURL = URL(fileURLWithPath: binary)
    child.arguments = args
    let out = Pipe()
    child.standardOutput = out
    try child.run()
    if let delay = killAfterMicroseconds {
        usleep(delay)
        kill(child.processIdentifier, SIGKILL)
    }
    child.waitUntilExit()
    return (child.terminationStatus, String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
}

/// The index state a reopen sees: committed user data, live ids.
private func liveIDs(_ dir: String) throws -> ([String: String], Set<Int64>) {
    let index = try SearchIndex(directory: dir)
    defer { index.close() }
    let s = index.searcher()
    // A child killed before its first commit leaves an index without the fields (or a parent's
    // open created it empty): no documents.
    if s.schema.field("id") == nil { return (index.committedUserData, []) }
    let hits = try s.search(.matchAll, limit: 1_000_000, sort: .field("id", descending: false))
    return (index.committedUserData, Set(hits.map { s.integerValue("id", of: $0)! }))
}

@Suite(.serialized) struct CommitCrashTests {
    /// The process dies (exit at the hook, no cleanup) at every step of a commit: before the
    /// manifest is renamed the reopened index is the previous commit exactly; after, the new one.
    /// Either way no file of the other state is left behind and the index takes new commits.
    @Test(arguments: ["flushed", "deletes-written", "manifest-written", "cleaned"])
    func crashAtEachCommitStepLeavesOneCommit(step: String) throws {
        let binary = try #require(tortureBinary(), "build strata-torture first: swift build --build-tests")
        let dir = tempDirectory("crash-\(step)")
        let (status, out) = try runChild(binary, ["index-crash", dir, step])
        #expect(status == 9 && out.contains("committed 10"), "\(status) \(out)")
        let (userData, ids) = try liveIDs(dir)
        let newCommit = step == "manifest-written" || step == "cleaned"
        if newCommit {
            #expect(userData["next"] == "20")
            #expect(ids == Set((0 ..< 20).filter { $0 % 7 != 3 }))
        } else {
            #expect(userData["next"] == "10")
            #expect(ids == Set(0 ..< 10))
        }
        let files = try FileSystem.list(dir)
        #expect(files.filter { $0.hasPrefix("manifest-") }.count == 1, "\(files)")
        #expect(!files.contains { $0.hasSuffix(".tmp") }, "\(files)")
        // Still writable.
        let index = try SearchIndex(directory: dir)
        try index.add(json: #"{"id":99,"group":"9","body":"after"}"#)
        try index.commit()
        index.close()
        #expect(try liveIDs(dir).1.contains(99))
    }

    /// Disk full (a file-size limit standing in for ENOSPC) while flushing, merging or
    /// committing: the failing call reports the error, the last commit stays intact and
    /// readable, and commits resume once space returns.
    @Test func diskFullWhileIndexing() throws {
        let binary = try #require(tortureBinary(), "build strata-torture first: swift build --build-tests")
        let dir = tempDirectory("full")
        let (status, out) = try runChild(binary, ["index-fill", dir, "150000"])
        #expect(status == 0 && out.contains("File too large"), "\(out)")
        let numbers = out.split(separator: "\n").last!.split(separator: " ")
        #expect(numbers.first == "ok", "\(out)")
        let committed = Int(numbers[1])!, total = Int(numbers[2])!
        #expect(committed > 0 && total == committed + 10)
        let (userData, ids) = try liveIDs(dir)
        #expect(userData["next"] == String(total) && ids == Set((0 ..< total).map(Int64.init)))
    }

    /// The same steps in-process: a commit that fails part way (here the hook throws, as a full
    /// disk would) leaves the writer's previous commit on disk and a reopen sees it.
    @Test func failedCommitLeavesThePreviousCommit() throws {
        let dir = tempDirectory("failcommit")
        let index = try SearchIndex(directory: dir, schema: try Schema(fields: [FieldDefinition("id", .i64)]))
        try index.add(json: #"{"id":1}"#)
        try index.commit(userData: ["n": "1"])
        try index.add(json: #"{"id":2}"#)
        index.commitHook = { if $0 == "deletes-written" { throw StrataError.io(operation: "write", path: dir, errno: ENOSPC) } }
        #expect(throws: StrataError.self) { try index.commit(userData: ["n": "2"]) }
        index.close()
        let (userData, ids) = try liveIDs(dir)
        #expect(userData == ["n": "1"] && ids == [1])
    }

    /// kill -9 at random moments while a child adds, deletes, commits and merges: every reopen
    /// sees exactly the last commit the child completed or a later one, with every document of
    /// that commit and none of the deleted ones. STRATA_KILL_ROUNDS sets the round count.
    @Test func killNineDuringIndexingKeepsTheLastCommit() throws {
        let binary = try #require(tortureBinary(), "build strata-torture first: swift build --build-tests")
        let rounds = max(5, (Int(ProcessInfo.processInfo.environment["STRATA_KILL_ROUNDS"] ?? "") ?? 200) / 4)
        let dir = tempDirectory("kill")
        var lastAcked = 0
        var rng = SystemRandomNumberGenerator()
        for round in 0 ..< rounds {
            let (_, out) = try runChild(binary, ["index", dir], killAfterMicroseconds: UInt32.random(in: 20_000 ... 120_000, using: &rng))
            if out.contains("error") { Issue.record("round \(round): child failed: \(out.suffix(300))"); break }
            if let last = out.split(separator: "\n").last(where: { $0.hasPrefix("ack ") }) {
                lastAcked = Int(last.split(separator: " ")[1])!
            }
            let (userData, ids) = try liveIDs(dir)
            let next = Int(userData["next"] ?? "0")!, deletedBelow = Int(userData["deletedBelow"] ?? "0")!
            #expect(next >= lastAcked, "round \(round): commit \(next) is older than the acknowledged \(lastAcked)")
            let expected = Set((0 ..< next).filter { !($0 % 7 == 3 && $0 < deletedBelow) }.map(Int64.init))
            #expect(ids == expected, "round \(round): \(ids.count) live documents, expected \(expected.count)")
            if ids != expected { break }
            lastAcked = next
        }
        #expect(lastAcked > 0, "the child committed something")
    }
}

@Suite struct IndexCorruptionTests {
    /// A flipped byte or a truncation anywhere in a manifest, doc-value, deletes or inverted
    /// file makes opening the index fail with `StrataError.corrupt` naming the file — never a
    /// crash, never a silently different index.
    @Test func damagedFilesGiveTypedErrors() throws {
        let dir = tempDirectory("corrupt")
        let index = try SearchIndex(directory: dir, schema: Corpus.schema())
        let corpus = Corpus(count: 300)
        for d in corpus.docs { try index.add(json: corpus.json(d)) }
        try index.commit()
        try index.delete(.term(field: "body", text: "kafka"))
        try index.commit()
        index.close()
        let files = try FileSystem.list(dir).filter { $0 != SearchIndexFiles.lock }
        #expect(files.contains { $0.hasSuffix(".del") } && files.contains { $0.hasSuffix(".dv") } && files.contains { $0.hasSuffix(".inv") })
        var rng = SystemRandomNumberGenerator()
        for name in files {
            let path = dir + "/" + name
            let original = try FileSystem.readFile(path)
            var damaged: [[UInt8]] = [Array(original.prefix(original.count / 2)), []]
            for _ in 0 ..< 6 {
                var b = original
                b[Int.random(in: 0 ..< b.count, using: &rng)] ^= UInt8.random(in: 1 ... 255, using: &rng)
                damaged.append(b)
            }
            for bytes in damaged {
                try FileSystem.writeAtomically(bytes, to: path)
                do {
                    _ = try SearchIndex(directory: dir).close()
                    Issue.record("\(name): a damaged file opened")
                } catch let StrataError.corrupt(file, _, _) {
                    #expect(file.hasSuffix(name), "\(file) named for damage in \(name)")
                } catch {
                    Issue.record("\(name): \(error) is not StrataError.corrupt")
                }
            }
            try FileSystem.writeAtomically(original, to: path)
        }
        #expect(try SearchIndex(directory: dir).searcher().documentCount == corpus.docs.filter { !$0.body.contains("kafka") }.count)
    }
}

/// Opening reads footers, not whole large files: damage inside a large segment file opens
/// (its structure is intact), and `checkIntegrity()` and merges find it by its CRC, naming the
/// file, before anything is copied from it.
@Suite struct LargeFileIntegrityTests {
    @Test func largeFilesAreChecksummedByMergesAndCheckIntegrity() throws {
        let dir = tempDirectory("integrity-large")
        let corpus = Corpus(count: 60_000, seed: 3)
        do {
            let index = try SearchIndex(directory: dir, schema: Corpus.schema(), options: .init(bufferBytes: 1 << 30))
            for d in corpus.docs.prefix(50_000) { try index.add(json: corpus.json(d)) }
            try index.commit()
            for d in corpus.docs.suffix(10_000) { try index.add(json: corpus.json(d)) }
            try index.commit()
            #expect(index.segmentCount == 2)
            try index.checkIntegrity()
            index.close()
        }
        let large = try FileSystem.list(dir).filter { $0.hasSuffix(".inv") }.max { (FileSystem.fileSize(dir + "/" + $0) ?? 0) < (FileSystem.fileSize(dir + "/" + $1) ?? 0) }!
        let path = dir + "/" + large
        var bytes = try FileSystem.readFile(path)
        try #require(bytes.count > 256 << 10, "a file larger than what opening checksums (\(bytes.count) bytes)")
        bytes[bytes.count / 2] ^= 0x40
        try FileSystem.writeAtomically(bytes, to: path)
        let index = try SearchIndex(directory: dir)
        defer { index.close() }
        func namesTheFile(_ body: () throws -> Void) {
            do { try body(); Issue.record("damage in \(large) went unnoticed") } catch let StrataError.corrupt(file, _, reason) {
                #expect(file == path && reason.contains("CRC mismatch"), "\(file): \(reason)")
            } catch { Issue.record("\(error)") }
        }
        namesTheFile { try index.checkIntegrity() }
        namesTheFile { try index.forceMerge() }
        #expect(index.segmentCount == 2, "nothing was merged from the damaged file")
    }
}
