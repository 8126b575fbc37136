#if canImport(Glibc)
import Glibc
#endif
import Foundation
import StrataIO

/// Settings of a topic, kept in `<root>/topic-configs/<topic>.json`.
public struct TopicConfig: Sendable, Equatable, Codable {
    public var partitions: Int32
    public var log: LogConfig
    public var flushPolicy: FlushPolicy

    public init(partitions: Int32 = 1, log: LogConfig = LogConfig(), flushPolicy: FlushPolicy = .os) {
        self.partitions = partitions
        self.log = log
        self.flushPolicy = flushPolicy
    }

    /// The most partitions a topic may have: each open partition holds file descriptors and
    /// address space (its active segment's mapping), and 100,000 of them exhausted both.
    public static let maxPartitions: Int32 = 4096

    /// Throws `invalidArgument` for a partition count outside 1…`maxPartitions` or invalid log
    /// settings.
    public func validate() throws {
        if partitions < 1 || partitions > Self.maxPartitions {
            throw StrataError.invalidArgument("\(partitions) partitions (a topic has 1 to \(Self.maxPartitions))")
        }
        try log.validate()
    }

    /// What differs between this configuration and `other`, as "partitions 3, not 5; …".
    public func difference(from other: TopicConfig) -> String {
        var parts: [String] = []
        if partitions != other.partitions { parts.append("partitions \(partitions), not \(other.partitions)") }
        if flushPolicy != other.flushPolicy { parts.append("flush policy \(flushPolicy), not \(other.flushPolicy)") }
        if log != other.log { parts.append("log settings \(log), not \(other.log)") }
        return parts.joined(separator: "; ")
    }

    enum CodingKeys: String, CodingKey { case partitions, log, flushPolicy }

    /// Missing keys take their defaults.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        partitions = try c.decodeIfPresent(Int32.self, forKey: .partitions) ?? 1
        log = try c.decodeIfPresent(LogConfig.self, forKey: .log) ?? LogConfig()
        flushPolicy = try c.decodeIfPresent(FlushPolicy.self, forKey: .flushPolicy) ?? .os
    }
}

/// A topic: N partition logs and Kafka's key partitioning.
public final class Topic: @unchecked Sendable {
    public let name: String
    public let config: TopicConfig
    public let partitions: [Log]
    private let lock = Lock()
    private var nextRoundRobin: Int32 = 0

    init(name: String, config: TopicConfig, partitions: [Log]) {
        self.name = name
        self.config = config
        self.partitions = partitions
    }

    /// The partition for a record: Kafka's murmur2 for keyed records, round-robin per call for
    /// unkeyed ones.
    public func partition(forKey key: [UInt8]?) -> Int32 {
        if let key { return Murmur2.partition(forKey: key, partitions: Int32(partitions.count)) }
        return lock.withLock {
            let p = nextRoundRobin
            nextRoundRobin = (nextRoundRobin + 1) % Int32(partitions.count)
            return p
        }
    }

    public func log(_ partition: Int32) throws -> Log {
        guard partition >= 0 && Int(partition) < partitions.count else {
            throw StrataError.notFound("partition \(partition) of topic \(name) (it has \(partitions.count))")
        }
        return partitions[Int(partition)]
    }

    /// Appends records to an explicit partition.
    @discardableResult
    public func append(_ records: [Record], partition: Int32) throws -> AppendResult {
        try log(partition).append(records)
    }

    /// Appends records, each to the partition its key selects (unkeyed records share one
    /// round-robin partition per call). Returns the results per partition. Records are routed
    /// by index, never copied.
    @discardableResult
    public func append(_ records: [Record]) throws -> [Int32: AppendResult] {
        if partitions.count == 1 { return [0: try partitions[0].append(records)] }
        var picks = [[Int32]](repeating: [], count: partitions.count)
        var unkeyed: Int32?
        for (i, r) in records.enumerated() {
            let p: Int32
            if let key = r.key { p = Murmur2.partition(forKey: key, partitions: Int32(partitions.count)) } else {
                if unkeyed == nil { unkeyed = partition(forKey: nil) }
                p = unkeyed!
            }
            picks[Int(p)].append(Int32(i))
        }
        var out: [Int32: AppendResult] = [:]
        try records.withUnsafeBufferPointer { buffer in
            for (p, indices) in picks.enumerated() where !indices.isEmpty {
                out[Int32(p)] = try indices.withUnsafeBufferPointer { try partitions[p].append(buffer: buffer, selecting: $0) }
            }
        }
        return out
    }

    public func flush() throws { for p in partitions { try p.flush() } }
    public func close() throws { for p in partitions { try p.close() } }
}

