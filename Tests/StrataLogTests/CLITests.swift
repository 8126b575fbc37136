import Foundation
import Testing
import StrataIO
@testable import StrataLog

/// The `strata` executable, built next to the test bundle (`swift build --build-tests`
/// builds it; scripts/test.sh does that first).
let strataBinary: String? = {
    let dir = FileSystem.parent(of: CommandLine.arguments[0].hasSuffix(".xctest") ? CommandLine.arguments[0] : Bundle.main.bundlePath)
    for candidate in [dir + "/strata", FileSystem.parent(of: dir) + "/strata", packageRoot + "/.build/debug/strata"] where FileSystem.exists(candidate) {
        return candidate
    }
    return nil
}()

/// Runs the CLI with `input` on stdin; returns (status, stdout, stderr).
func strata(_ args: [String], input: String = "") throws -> (Int32, String, String) {
    let binary = try #require(strataBinary, "build the strata executable first: swift build --build-tests")
    let p = Process()
    p.executableURL = URL(fileURLWithPath: binary)
    p.arguments = args
    let inPipe = Pipe(), out = Pipe(), err = Pipe()
    p.standardInput = inPipe
    p.standardOutput = out
    p.standardError = err
    try p.run()
    inPipe.fileHandleForWriting.write(Data(input.utf8))
    try inPipe.fileHandleForWriting.close()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
}

@Suite(.serialized) struct CLITests {
    @Test func produceConsumeDump() throws {
        let dir = TempDir()
        var (status, out, err) = try strata(["produce", "--dir", dir.path, "--topic", "logs", "--compression", "lz4", "--key-separator", "|"],
                                            input: "first line\nhost-1|second line\nthird line\n")
        #expect(status == 0, "\(err)")
        #expect(out.contains("logs-0: offsets 0...2") && out.contains("appended 3 records"))

        (status, out, err) = try strata(["consume", "--dir", dir.path, "--topic", "logs", "--json"])
        #expect(status == 0, "\(err)")
        let lines = out.split(separator: "\n")
        #expect(lines.count == 3)
        #expect(lines[1].contains("\"offset\":1") && lines[1].contains("\"key\":\"host-1\"") && lines[1].contains("\"value\":\"second line\""))
        #expect(lines[0].contains("\"key\":null"))

        (status, out, _) = try strata(["consume", "--dir", dir.path, "--topic", "logs", "--offset", "2"])
        #expect(out.split(separator: "\n").count == 1 && out.contains("third line"))
        (status, out, _) = try strata(["consume", "--dir", dir.path, "--topic", "logs", "--timestamp", "\(Int64.max)"])
        #expect(status == 0 && out.isEmpty)
        (status, _, err) = try strata(["consume", "--dir", dir.path, "--topic", "logs", "--offset", "7"])
        #expect(status == 1 && err.contains("out of range") && err.contains("earliest available offset 0"))

        let partition = dir.path + "/topics/logs-0"
        (status, out, err) = try strata(["dump", partition, "--records"])
        #expect(status == 0, "\(err)")
        #expect(out.contains("baseOffset: 0 lastOffset: 2 count: 3") && out.contains("compresscodec: lz4") && out.contains("isvalid: true"))
        #expect(out.contains("| offset: 1 CreateTime:") && out.contains("payload: second line"))
        (status, out, _) = try strata(["dump", partition + "/00000000000000000000.log", "--json"])
        #expect(status == 0 && out.hasPrefix("{\"baseOffset\":0,\"lastOffset\":2"))
    }

    /// `strata ingest` appends JSON or text lines through the store and waits until they are
    /// searchable; `strata search` searches every partition (time ranges, highlights, JSON
    /// output with a paging token, aggregations, positioned errors); `strata status` shows
    /// the index's lag; `strata index rebuild` re-derives it.
    @Test func ingestSearchStatusRebuild() throws {
        let dir = TempDir()
        let lines = (0 ..< 30).map { i in #"{"host":"node-\#(i % 3)","level":"\#(i % 5 == 0 ? "error" : "info")","msg":"disk \#(i % 5 == 0 ? "failure" : "ok") on node-\#(i % 3)"}"# }
        var (status, out, err) = try strata(["ingest", "--dir", dir.path, "--topic", "app", "--partitions", "3", "--key-field", "host"], input: lines.joined(separator: "\n") + "\n")
        #expect(status == 0 && out.contains("appended 30 records") && out.contains("searchable after") && out.contains("30 documents"), "\(out) \(err)")
        (status, out, err) = try strata(["ingest", "--dir", dir.path, "--topic", "app", "--format", "text"], input: "kernel: disk failure\u{1B}[31m on sda\n")
        #expect(status == 0 && out.contains("appended 1 records"), "\(out) \(err)")
        (status, out, err) = try strata(["search", "--dir", dir.path, "--topic", "app", "failure", "--highlight", "--agg", "terms:host.keyword"])
        #expect(status == 0, "\(err)")
        #expect(out.contains("7 hits") && out.contains("[failure]") && !out.contains("\u{1B}"), "\(out)")
        #expect(out.contains("\\x1b[31m"), "control characters of records are escaped: \(out)")
        #expect(out.contains("host.keyword:") && out.contains("node-0  ") && out.contains("  2"), "\(out)")
        (status, out, err) = try strata(["search", "--dir", dir.path, "--topic", "app", "level:error", "--json", "--limit", "2", "--since", "1h"])
        #expect(status == 0 && out.contains("\"search_after\":\"v1:") && out.contains("{\"total\":6,"), "\(out) \(err)")
        let token = try #require(out.split(separator: "\n").first.flatMap { l in l.range(of: "\"search_after\":\"").map { String(l[$0.upperBound...].prefix { $0 != "\"" }) } })
        (status, out, err) = try strata(["search", "--dir", dir.path, "--topic", "app", "level:error", "--json", "--after", token])
        #expect(status == 0 && out.split(separator: "\n").count == 6, "five more hits and the summary: \(out) \(err)")
        (status, out, _) = try strata(["search", "--dir", dir.path, "--topic", "app", "*", "--until", "2000-01-01T00:00:00Z"])
        #expect(out.contains("0 hits"), "\(out)")
        (status, out, err) = try strata(["status", "--dir", dir.path])
        #expect(status == 0 && out.contains("topic app: 3 partitions, 31 records") && out.contains("index app (topic app, generation 1): 31 documents") && out.contains("lag 0"), "\(out) \(err)")
        (status, out, err) = try strata(["index", "rebuild", "--dir", dir.path, "--topic", "app"])
        #expect(status == 0 && out.contains("rebuilt index app (generation 2): 31 documents"), "\(out) \(err)")
        (status, _, err) = try strata(["search", "--dir", dir.path, "--topic", "app", "disk AND ("])
        #expect(status == 1 && err.contains("query syntax error at position 10"), "\(err)")
        (status, _, err) = try strata(["search", "--dir", dir.path, "--topic", "app", "nofield:[1 TO 2]"])
        #expect(status == 1 && err.contains("unknown field 'nofield'"), "\(err)")
        (status, _, err) = try strata(["search", "--dir", dir.path, "--topic", "other", "x"])
        #expect(status == 1 && err.contains("not found: index other"), "\(err)")
    }

    @Test func dumpReportsDamageAndBadInputFailsCleanly() throws {
        let dir = TempDir()
        _ = try strata(["produce", "--dir", dir.path, "--topic", "t"], input: (0 ..< 200).map { "line \($0)" }.joined(separator: "\n"))
        let logPath = dir.path + "/topics/t-0/00000000000000000000.log"
        var bytes = try DataFile(path: logPath, flags: O_RDONLY).readAll()
        bytes[bytes.count - 3] ^= 0xff
        try FileSystem.writeAtomically(bytes, to: logPath)
        var (status, out, _) = try strata(["dump", logPath])
        #expect(status == 1 && out.contains("isvalid: false"))
        (status, out, _) = try strata(["dump", logPath, "--json"])
        #expect(status == 1 && out.contains("\"isvalid\":false"))
        try FileSystem.writeAtomically(Array(bytes.prefix(bytes.count - 10)), to: logPath)
        (status, out, _) = try strata(["dump", logPath])
        #expect(status == 1 && out.contains("truncated batch at position 0"))
        var err: String
        (status, _, err) = try strata(["produce", "--dir", dir.path, "--topic", "bad/name"], input: "x\n")
        #expect(status == 1 && err.contains("invalid topic name"))
        (status, _, err) = try strata(["consume", "--dir", dir.path + "/nowhere", "--topic", "t"])
        #expect(status == 1 && err.contains("not found"))
    }

    /// `consume --follow` sees records another process appends while it waits.
    @Test func followSeesLaterAppends() throws {
        let dir = TempDir()
        _ = try strata(["produce", "--dir", dir.path, "--topic", "f"], input: "one\ntwo\n")
        let binary = try #require(strataBinary)
        let follower = Process()
        follower.executableURL = URL(fileURLWithPath: binary)
        follower.arguments = ["consume", "--dir", dir.path, "--topic", "f", "--follow", "--max-records", "4"]
        let out = Pipe()
        follower.standardOutput = out
        try follower.run()
        usleep(300_000)
        let (status, _, err) = try strata(["produce", "--dir", dir.path, "--topic", "f"], input: "three\nfour\n")
        #expect(status == 0, "\(err)")
        let deadline = Date().addingTimeInterval(10)
        while follower.isRunning && Date() < deadline { usleep(50_000) }
        if follower.isRunning { follower.terminate(); Issue.record("follower did not see the new records") }
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(text.split(separator: "\n").map { $0.split(separator: "\t").last.map(String.init) ?? "" } == ["one", "two", "three", "four"])
    }
}

@Suite(.serialized) struct CLIMaintenanceTests {
    @Test func verifyFindsDamageAndRecoverRepairsIt() throws {
        let dir = TempDir()
        _ = try strata(["produce", "--dir", dir.path, "--topic", "v", "--batch", "10"], input: (0 ..< 300).map { "line \($0)" }.joined(separator: "\n"))
        var (status, out, err) = try strata(["verify", "--dir", dir.path])
        #expect(status == 0 && out.contains("v-0: ok") && out.contains("300 records"), "\(out) \(err)")
        let logPath = dir.path + "/topics/v-0/00000000000000000000.log"
        var bytes = try FileSystem.readFile(logPath)
        bytes[bytes.count / 2] ^= 0x20
        try FileSystem.writeAtomically(bytes, to: logPath)
        (status, out, _) = try strata(["verify", "--dir", dir.path, "--topic", "v"])
        #expect(status == 1 && out.contains("DAMAGED") && out.contains("CRC mismatch"))
        // The damaged batch (10 records) is taken out into a quarantine file; the 29 batches
        // around it stay, and their offsets.
        (status, out, err) = try strata(["recover", "--dir", dir.path])
        #expect(status == 0 && out.contains("took 1 invalid batch out of segment 0") && out.contains(".quarantine-"), "\(out) \(err)")
        (status, out, _) = try strata(["verify", "--dir", dir.path])
        #expect(status == 0 && out.contains("v-0: ok") && out.contains("290 records"), "\(out)")
        (status, out, _) = try strata(["consume", "--dir", dir.path, "--topic", "v"])
        #expect(status == 0 && out.split(separator: "\n").count == 290 && out.contains("line 299"))
        let kept = try #require(try FileSystem.list(dir.path + "/topics/v-0").first { $0.contains(".quarantine-") })
        (status, out, _) = try strata(["dump", dir.path + "/topics/v-0/" + kept])
        #expect(status == 1 && out.contains("baseOffset: 150") && out.contains("isvalid: false"), "the quarantined batch, still damaged: \(out)")
        (status, _, err) = try strata(["verify", "--dir", dir.path, "--topic", "nope"])
        #expect(status == 1 && err.contains("not found"))
    }

    @Test func groupsDescribeLagAndReset() throws {
        let dir = TempDir()
        _ = try strata(["produce", "--dir", dir.path, "--topic", "g", "--partitions", "2"], input: (0 ..< 100).map { "k\($0)|v\($0)" }.joined(separator: "\n"))
        do {
            let store = try LogStore(root: dir.path, backgroundIntervalMs: 0)
            try store.groups.commit(group: "app", topic: "g", partition: 0, offset: 3, metadata: "m")
            try store.close()
        }
        var (status, out, err) = try strata(["groups", "list", "--dir", dir.path])
        #expect(status == 0 && out == "app\n", "\(err)")
        (status, out, err) = try strata(["groups", "describe", "app", "--dir", dir.path, "--json"])
        #expect(status == 0 && out.contains("\"committed\":3") && out.contains("\"lag\":"), "\(err)")
        (status, out, err) = try strata(["groups", "reset", "app", "--dir", dir.path, "--topic", "g", "--to-latest"])
        #expect(status == 0 && out.contains("g 1 →"), "\(err)")
        (status, out, _) = try strata(["groups", "describe", "app", "--dir", dir.path])
        #expect(out.split(separator: "\n").dropFirst().allSatisfy { $0.split(separator: " ")[4] == "0" }, "lag 0 after reset to latest: \(out)")
        (status, out, _) = try strata(["consume", "--dir", dir.path, "--topic", "g", "--group", "app"])
        #expect(status == 0 && out.isEmpty)
        (status, _, err) = try strata(["groups", "reset", "app", "--dir", dir.path, "--topic", "g"])
        #expect(status == 1 && err.contains("exactly one"))
    }

    @Test func retentionSettingsAndApply() throws {
        let dir = TempDir()
        do {
            let store = try LogStore(root: dir.path, backgroundIntervalMs: 0)
            var config = TopicConfig()
            config.log = smallConfig { $0.segmentBytes = 4096 }
            let t = try store.topic("r", create: config)
            try t.append(makeRecords(500), partition: 0)
            try store.close()
        }
        var (status, out, err) = try strata(["retention", "--dir", dir.path, "--topic", "r"])
        #expect(status == 0 && out.contains("retention.bytes unlimited"), "\(err)")
        (status, out, err) = try strata(["retention", "--dir", dir.path, "--topic", "r", "--bytes", "10000", "--apply"])
        #expect(status == 0 && out.contains("retention.bytes 10000") && out.contains("log start offset"), "\(out) \(err)")
        let store = try LogStore(root: dir.path, readOnly: true)
        #expect(try store.topic("r").log(0).logStartOffset > 0)
        (status, _, err) = try strata(["retention", "--dir", dir.path, "--topic", "r", "--policy", "shred"])
        #expect(status == 1 && err.contains("delete or compact"))
    }
}

@Suite struct CLIRelevanceTests {
    /// ir-run writes a TREC run for a SMART collection; ir-eval scores it.
    @Test func irRunAndEval() throws {
        let dir = TempDir()
        let docs = ".I 1\n.T\nKafka log segments\n.W\nSegments hold record batches.\n.I 2\n.T\nGardening\n.W\nTomatoes need sun.\n.I 3\n.W\nIndexes of log segments map offsets.\n"
        try FileSystem.writeAtomically(Array(docs.utf8), to: dir.path + "/docs")
        try FileSystem.writeAtomically(Array(".I 1\n.W\nlog segment index\n.I 2\n.W\ntomato\n".utf8), to: dir.path + "/queries")
        try FileSystem.writeAtomically(Array("1 3 0 0.0\n1 1 0 0.0\n2 2 0 0.0\n".utf8), to: dir.path + "/qrels")
        var (status, out, err) = try strata(["ir-run", "--format", "smart", "--docs", dir.path + "/docs", "--queries", dir.path + "/queries",
                                             "--analyzer", "english", "--out", dir.path + "/run"])
        #expect(status == 0, "\(err)")
        let run = String(decoding: try FileSystem.readFile(dir.path + "/run"), as: UTF8.self)
        #expect(run.hasPrefix("1 Q0 3 1 ") && run.contains("\n1 Q0 1 2 ") && run.contains("2 Q0 2 1 "), "\(run)")
        (status, out, err) = try strata(["ir-eval", "--format", "smart", "--qrels", dir.path + "/qrels", "--run", dir.path + "/run"])
        #expect(status == 0 && out.contains("MAP 1.0000  nDCG@10 1.0000  (2 judged queries)"), "\(out) \(err)")
        (status, _, err) = try strata(["ir-run", "--format", "trec", "--docs", "x", "--queries", "y", "--out", "z"])
        #expect(status == 1 && err.contains("smart or npl"))
    }

    /// Under a file-size limit smaller than the 10 MiB index preallocation (`ulimit -f`), a
    /// tiny log still works: the indexes are preallocated only as far as the limit allows.
    @Test func produceUnderAFileSizeLimit() throws {
        let binary = try #require(strataBinary)
        let dir = TempDir()
        let (status, out, err) = try run(["sh", "-c", "ulimit -f 2000 && seq 1 20000 | \(binary) produce --dir \(dir.path) --topic t"])
        #expect(status == 0 && out.contains("appended 20000 records"), "\(out) \(err)")
        let store = try LogStore(root: dir.path, readOnly: true)
        #expect(try store.topic("t").log(0).highWatermark == 20000)
    }

    /// Values are bytes, stored as given (issue 12: invalid UTF-8 became U+FFFD), and a
    /// consume whose output cannot be written fails instead of exiting 0.
    @Test func binaryLinesRoundTripAndFailedOutputIsAnError() throws {
        let binary = try #require(strataBinary)
        let dir = TempDir()
        var input: [UInt8] = []
        var x: UInt64 = 0x2545_F491_4F6C_DD1D
        for _ in 0 ..< 20_000 {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17
            input.append(UInt8(truncatingIfNeeded: x))
        }
        let file = dir.path + "/input.bin"
        try FileSystem.writeAtomically(input, to: file)
        var (status, out, err) = try run(["sh", "-c", "\(binary) produce --dir \(dir.path) --topic b < \(file)"])
        #expect(status == 0, "\(out) \(err)")
        // The records are the input's lines (LF-separated, a CR before the LF dropped), byte for byte.
        var expected: [[UInt8]] = input.split(separator: 0x0A, omittingEmptySubsequences: false).map { Array($0.last == 0x0D ? $0.dropLast() : $0[...]) }
        if expected.last == [] { expected.removeLast() }
        let store = try LogStore(root: dir.path, readOnly: true)
        let c = try store.topic("b").log(0).cursor()
        var got: [[UInt8]] = []
        while let r = try c.next() { got.append(r.value.map(Array.init) ?? []) }
        #expect(got == expected)
        (status, out, err) = try run(["sh", "-c", "\(binary) consume --dir \(dir.path) --topic b > /dev/full"])
        #expect(status == 1 && err.contains("standard output"), "\(status) \(err)")
    }

    /// Plain-text consume escapes control characters (issue 12): a value cannot forge output
    /// lines or send terminal escape sequences; --json keeps the exact bytes.
    @Test func plainTextOutputEscapesControlCharacters() throws {
        let dir = TempDir()
        let store = try LogStore(root: dir.path, backgroundIntervalMs: 0)
        try store.topic("t", create: TopicConfig()).log(0).append([Record(value: Array("a\nforged line\t\u{1B}[31mred".utf8))])
        try store.close()
        var (status, out, err) = try strata(["consume", "--dir", dir.path, "--topic", "t"])
        #expect(status == 0 && out.split(separator: "\n").count == 1, "\(out) \(err)")
        #expect(out.contains("a\\nforged line\\t\\x1b[31mred"), "\(out)")
        (status, out, err) = try strata(["consume", "--dir", dir.path, "--topic", "t", "--json"])
        #expect(status == 0 && out.contains(#""value":"a\nforged line\t\u001b[31mred""#), "\(out)")
    }
}

/// Runs the CLI as user `nobody` (through `setpriv`), or returns nil when this cannot be done
/// here: not root, no setpriv, or the binary not reachable by that user.
func strataAsNobody(_ args: [String]) throws -> (Int32, String, String)? {
    guard getuid() == 0, FileSystem.exists("/usr/bin/setpriv"), let binary = strataBinary else { return nil }
    let drop = ["--reuid=65534", "--regid=65534", "--clear-groups", binary]
    guard (try? run(["/usr/bin/setpriv"] + drop + ["--help"]))?.0 == 0 else { return nil }
    return try run(["/usr/bin/setpriv"] + drop + args)
}

@Suite(.serialized) struct PermissionTests {
    /// A directory of the store the user may not enter is reported as permission denied with
    /// what to check, not as a missing topic or store, and never read as empty.
    @Test func permissionDeniedSaysSo() throws {
        let dir = TempDir()
        chmod(dir.path, 0o755)
        _ = try strata(["produce", "--dir", dir.path, "--topic", "t"], input: "k|v\n")
        do {
            let store = try LogStore(root: dir.path, backgroundIntervalMs: 0)
            try store.groups.commit(group: "g", topic: "t", partition: 0, offset: 1)
            try store.close()
        }
        guard try strataAsNobody(["status", "--dir", dir.path]) != nil else {
            print("note: permission tests skip (they need root, /usr/bin/setpriv and a strata binary user nobody can run)")
            return
        }
        let cases: [(locked: String, args: [String])] = [
            ("topics", ["consume", "--dir", dir.path, "--topic", "t"]),
            ("topics", ["status", "--dir", dir.path]),
            ("topics", ["verify", "--dir", dir.path]),
            ("topic-configs", ["consume", "--dir", dir.path, "--topic", "t"]),
            ("groups", ["groups", "list", "--dir", dir.path]),
            ("groups", ["groups", "describe", "--dir", dir.path, "g"]),
        ]
        for (locked, args) in cases {
            chmod(dir.path + "/" + locked, 0o700)
            defer { chmod(dir.path + "/" + locked, 0o755) }
            let (status, _, err) = try #require(try strataAsNobody(args))
            #expect(status != 0, "\(args) with \(locked)/ locked: exit \(status)")
            #expect(err.contains("Permission denied") && err.contains("check the permissions"), "\(args) with \(locked)/ locked: \(err)")
            #expect(!err.contains("not found"), "\(args): \(err)")
        }
    }
}
