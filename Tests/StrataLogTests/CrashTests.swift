import Foundation
import Testing
import StrataIO
@testable import StrataLog

/// A helper executable built next to the test bundle.
func builtExecutable(_ name: String) -> String? {
    let dir = FileSystem.parent(of: CommandLine.arguments[0].hasSuffix(".xctest") ? CommandLine.arguments[0] : Bundle.main.bundlePath)
    for candidate in [dir + "/" + name, FileSystem.parent(of: dir) + "/" + name, packageRoot + "/.build/debug/" + name] where FileSystem.exists(candidate) {
        return candidate
    }
    return nil
}

/// The content strata-torture writes at offset `o` (same function as Tests/StrataTorture).
func torturePayload(_ o: Int64) -> [UInt8] {
    let head = Array("record \(o) ".utf8)
    let length = o % 97 == 0 ? 70_000 : 20 + Int(o % 300)
    var out = head
    var x = UInt64(bitPattern: o) &* 0x9E37_79B9_7F4A_7C15 | 1
    while out.count < length {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17
        out.append(UInt8(97 + x % 26))
    }
    return out
}

@Suite(.serialized) struct CrashTests {
    /// kill -9 at random moments while a child appends with `everyBatch`: after every kill the
    /// store reopens (unclean), every acknowledged record is present and intact, nothing is
    /// half-visible, and the log takes appends again. STRATA_KILL_ROUNDS sets the round count.
    @Test func killNineNeverLosesAcknowledgedRecords() throws {
        let binary = try #require(builtExecutable("strata-torture"), "build strata-torture first: swift build --build-tests")
        let rounds = Int(ProcessInfo.processInfo.environment["STRATA_KILL_ROUNDS"] ?? "") ?? 200
        let dir = TempDir()
        var rng = SystemRandomNumberGenerator()
        var verifiedUpTo: Int64 = 0 // offsets below this were checked in an earlier round
        var totalAcked: Int64 = -1
        var truncations = 0
        for round in 0 ..< rounds {
            let child = Process()
            child.executableURL = URL(fileURLWithPath: binary)
            child.arguments = ["append", dir.path]
            let out = Pipe()
            child.standardOutput = out
            try child.run()
            usleep(UInt32.random(in: 5_000 ... 60_000, using: &rng))
            kill(child.processIdentifier, SIGKILL)
            child.waitUntilExit()
            let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            if text.contains("error") { Issue.record("round \(round): child failed: \(text.suffix(300))"); break }
            let acked = text.split(separator: "\n").last.flatMap { $0.hasPrefix("ack ") ? Int64($0.dropFirst(4)) : nil }
            if let acked { totalAcked = max(totalAcked, acked) }

            let store = try LogStore(root: dir.path, logger: .silent, backgroundIntervalMs: 0)
            // A child killed before it opened the store leaves the previous clean marker.
            if acked != nil { #expect(!store.openedAfterCleanShutdown, "round \(round): a killed writer looks clean") }
            var config = TopicConfig(partitions: 1) // as strata-torture creates it (if it got that far)
            config.log.compression = .lz4
            config.log.segmentBytes = 256 << 10
            config.log.maxIndexBytes = 64 << 10
            config.flushPolicy = .everyBatch
            let log = try store.topic("torture", create: config).log(0)
            if log.recoveryReport.truncatedBytes > 0 { truncations += 1 }
            let end = log.highWatermark
            #expect(end > totalAcked, "round \(round): acknowledged offset \(totalAcked) lost (log ends at \(end))")
            // Every record from where the last round stopped checking: intact, in order.
            let c = try log.cursor(from: .offset(min(verifiedUpTo, end)))
            var expected = min(verifiedUpTo, end)
            while let r = try c.next() {
                if r.offset != expected || r.value.map(Array.init) != torturePayload(r.offset) {
                    Issue.record("round \(round): record \(r.offset) (expected \(expected)) is damaged")
                    break
                }
                expected += 1
            }
            #expect(expected == end, "round \(round): read \(expected) of \(end)")
            verifiedUpTo = end
            let next = try log.append(Record(value: torturePayload(end), timestamp: end))
            #expect(next == end)
            totalAcked = max(totalAcked, next)
            verifiedUpTo = end + 1
            try store.close()
            if round % 50 == 49 {
                print("kill -9: \(round + 1) rounds, log end \(end), \(truncations) rounds recovered a torn tail")
            }
        }
        #expect(totalAcked > 0, "the child never acknowledged anything")
    }

    /// Disk full (a file-size limit standing in for ENOSPC): the failing append reports the
    /// error, the partial bytes are cut back, the log stays readable, and appends work once
    /// space returns; the store then reopens cleanly with everything.
    @Test func diskFullMidAppend() throws {
        let binary = try #require(builtExecutable("strata-torture"), "build strata-torture first: swift build --build-tests")
        let dir = TempDir()
        let (status, out, err) = try run([binary, "fill", dir.path, "1000000"])
        #expect(status == 0, "\(out) \(err)")
        #expect(out.contains("File too large"))
        let numbers = out.split(separator: "\n").last!.split(separator: " ")
        #expect(numbers.first == "ok")
        let total = Int64(numbers.last!)!
        let store = try LogStore(root: dir.path, backgroundIntervalMs: 0)
        #expect(store.openedAfterCleanShutdown)
        let log = try store.topic("torture").log(0)
        #expect(log.highWatermark == total)
        let c = try log.cursor()
        var n: Int64 = 0
        while let r = try c.next() {
            #expect(r.value.map(Array.init) == torturePayload(r.offset))
            n += 1
        }
        #expect(n == total)
        try store.close()
    }

    /// A really full filesystem (a 1 MiB tmpfs, mounted here; skipped where mounting is not
    /// allowed): index files are preallocated sparse and written through a mapping, so an index
    /// page the filesystem cannot back used to kill the writer with SIGBUS. Blocks are now
    /// reserved before the log is written: every append that does not fit fails with ENOSPC,
    /// nothing acknowledged is lost — as the disk is freed one block at a time, 64 times.
    @Test func fullFilesystemNeverSignals() throws {
        let binary = try #require(builtExecutable("strata-torture"), "build strata-torture first: swift build --build-tests")
        let mountPoint = TempDir()
        guard (try? run(["/bin/mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", mountPoint.path]))?.0 == 0 else {
            print("skipped fullFilesystemNeverSignals: cannot mount a tmpfs here (needs root / CAP_SYS_ADMIN)")
            return
        }
        defer { _ = try? run(["/bin/umount", "-l", mountPoint.path]) }
        let fillers = mountPoint.path + "/fillers"
        try FileSystem.createDirectory(fillers)
        for i in 0 ..< 64 {
            try FileSystem.writeAtomically([UInt8](repeating: 0x66, count: 4096), to: fillers + "/f\(i < 10 ? "0" : "")\(i)", durable: false)
        }
        let (status, out, err) = try run([binary, "diskfull", mountPoint.path + "/store", fillers])
        #expect(status == 0, "exit \(status) (killed by a signal: its number; SIGBUS is 7): \(out) \(err)")
        let fields = out.split(separator: "\n").last?.split(separator: " ") ?? []
        #expect(fields.first == "ok" && fields.count == 3 && (Int(fields[1]) ?? 0) > 1000, "records were appended before the disk filled: \(out)")
    }

    /// A second writer in another process is refused with the holder's pid; a reader in another
    /// process is not.
    @Test func secondWriterInAnotherProcessIsRefused() throws {
        let dir = TempDir()
        let store = try LogStore(root: dir.path, backgroundIntervalMs: 0)
        let topic = try store.topic("t", create: TopicConfig())
        try topic.append([Record(text: "held")])
        var (status, _, err) = try strata(["produce", "--dir", dir.path, "--topic", "t"], input: "x\n")
        #expect(status == 1 && err.contains("already open for writing by pid \(getpid())"), "\(err)")
        var out: String
        (status, out, err) = try strata(["consume", "--dir", dir.path, "--topic", "t"])
        #expect(status == 0 && out.contains("held"), "\(err)")
        try store.close()
        (status, _, err) = try strata(["produce", "--dir", dir.path, "--topic", "t"], input: "x\n")
        #expect(status == 0, "\(err)")
    }
}
