import ArgumentParser
import Foundation
import Logging
import Strata

@main
struct StrataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "strata",
        abstract: "Strata: Kafka-format topics and the full-text indexes that follow them, in one directory.",
        subcommands: [Demo.self, Ingest.self, SearchCommand.self, Status.self, IndexCommand.self, Produce.self, Consume.self, Dump.self,
                      Verify.self, Recover.self, Groups.self, Retention.self, IRRun.self, IREval.self])

    static func main() {
        // Operational messages go to standard error, not into the command's output.
        LoggingSystem.bootstrap { label in
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = .info
            return h
        }
        // Past a file-size limit a write fails with EFBIG (a typed error) instead of killing the process.
        signal(SIGXFSZ, SIG_IGN)
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            exit(withError: error)
        }
    }
}

/// A logger that prints each message on standard output with `prefix` (commands that report
/// what the store did).
func printingLogger(prefix: String) -> Logger {
    Logger(label: "strata") { _ in PrintingLogHandler(prefix: prefix) }
}


struct PrintingLogHandler: LogHandler {
    let prefix: String
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .info
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }
    func log(event: LogEvent) { print(prefix + event.message.description) }
}

/// Options naming a store and a topic.
struct StoreArguments: ParsableArguments {
    @Option(name: .shortAndLong, help: "The data directory.")
    var dir: String = "strata-data"

    @Option(name: .shortAndLong, help: "The topic.")
    var topic: String
}

/// Runs `body`, turning Strata errors into a message on stderr and exit code 1.
func reportingErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as StrataError {
        writeStandardError("error: \(error)\n")
        throw ExitCode(1)
    }
}

/// Bytes as JSON: a string when valid UTF-8, else {"base64": ...}; null for nil.
func jsonBytes(_ b: UnsafeRawBufferPointer?) -> String {
    guard let b else { return "null" }
    if let s = String(validating: b, as: UTF8.self) { return jsonQuoted(s) }
    return "{\"base64\":\"\(Data(b).base64EncodedString())\"}"
}

/// Bytes for humans: UTF-8 text (control characters escaped as \n, \t, \xNN), or hex when binary.
func displayBytes(_ b: UnsafeRawBufferPointer?) -> String {
    guard let b else { return "null" }
    // Control characters escaped: a value cannot forge output lines or send terminal escapes.
    if let s = String(validating: b, as: UTF8.self) { return displayText(s) }
    return "0x" + b.map { String(format: "%02x", $0) }.joined()
}

extension TimestampType {
    var kafkaName: String { self == .createTime ? "CreateTime" : "LogAppendTime" }
}
