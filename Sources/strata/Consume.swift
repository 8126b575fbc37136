import ArgumentParser
import Foundation
import Strata

struct Consume: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print records of a partition (like kafka-console-consumer). Opens the store read-only, so it works while a writer appends.")

    @OptionGroup var store: StoreArguments

    @Option(help: "The partition.")
    var partition: Int32 = 0

    @Option(help: "Start at this offset.")
    var offset: Int64?

    @Option(help: "Start at the first record with timestamp ≥ this (ms since the epoch).")
    var timestamp: Int64?

    @Flag(help: "Start at the end (only records appended from now on; use with --follow).")
    var latest = false

    @Option(help: "Start at this consumer group's committed offset (the beginning when it has none).")
    var group: String?

    @Flag(help: "Keep waiting for new records.")
    var follow = false

    @Option(help: "Stop after this many records.")
    var maxRecords: Int?

    @Flag(help: "One JSON object per line.")
    var json = false

    func run() throws {
        try reportingErrors {
            let s = try LogStore(root: store.dir, readOnly: true)
            let log = try s.topic(store.topic).log(partition)
            let start: StartPosition = if let offset { .offset(offset) } else if let timestamp { .timestamp(timestamp) } else if latest { .latest } else { .earliest }
            let cursor = try s.cursor(topic: store.topic, partition: partition,
                                      from: group.map { .committed(group: $0, otherwise: start) } ?? .position(start))
            var printed = 0
            var out = ""
            // What was read before an error is printed before the error is reported.
            defer { if !out.isEmpty { try? writeStandardOutput(out) } }
            while maxRecords.map({ printed < $0 }) ?? true {
                guard let r = try cursor.next() else {
                    if !follow { break }
                    if !out.isEmpty { try writeStandardOutput(out); out = "" }
                    if try !log.refresh() { usleep(100_000) }
                    continue
                }
                if json {
                    let headers = r.headers().map { "{\"key\":\(jsonQuoted($0.key)),\"value\":\($0.value.map { v in v.withUnsafeBytes { jsonBytes($0) } } ?? "null")}" }
                    out += "{\"partition\":\(partition),\"offset\":\(r.offset),\"timestamp\":\(r.timestamp),\"key\":\(jsonBytes(r.key)),\"value\":\(jsonBytes(r.value)),\"headers\":[\(headers.joined(separator: ","))]}\n"
                } else {
                    let key = r.key.map { displayBytes($0) + "\t" } ?? ""
                    out += "\(r.offset)\t\(r.timestamp)\t\(key)\(displayBytes(r.value))\n"
                }
                printed += 1
                if out.utf8.count > 1 << 16 { try writeStandardOutput(out); out = "" }
            }
            try writeStandardOutput(out)
            out = ""
        }
    }
}
