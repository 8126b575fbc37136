import ArgumentParser
import Foundation
import StrataIO
import StrataLog

@main
struct StrataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "strata",
        abstract: "Strata: an embedded Kafka-format log (and, soon, full-text index) in one directory.",
        subcommands: [Demo.self, Produce.self, Consume.self, Dump.self, Verify.self, Recover.self, Groups.self, Retention.self, IndexCommand.self, SearchCommand.self, IRRun.self, IREval.self])
}

/// Options naming a store and a topic.
struct StoreOptions: ParsableArguments {
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
        FileHandle.standardError.write(Data("error: \(error)\n".utf8))
        throw ExitCode(1)
    }
}

/// Minimal JSON string escaping for machine output.
func jsonString(_ s: String) -> String {
    var out = "\""
    for u in s.unicodeScalars {
        switch u {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default:
            if u.value < 0x20 { out += String(format: "\\u%04x", u.value) } else { out.unicodeScalars.append(u) }
        }
    }
    return out + "\""
}

/// Bytes as JSON: a string when valid UTF-8, else {"base64": ...}; null for nil.
func jsonBytes(_ b: UnsafeRawBufferPointer?) -> String {
    guard let b else { return "null" }
    if let s = String(validating: b, as: UTF8.self) { return jsonString(s) }
    return "{\"base64\":\"\(Data(b).base64EncodedString())\"}"
}

/// Bytes for humans: UTF-8 text, or hex when binary.
func displayBytes(_ b: UnsafeRawBufferPointer?) -> String {
    guard let b else { return "null" }
    if let s = String(validating: b, as: UTF8.self) { return s }
    return "0x" + b.map { String(format: "%02x", $0) }.joined()
}

extension TimestampType {
    var kafkaName: String { self == .createTime ? "CreateTime" : "LogAppendTime" }
}
