import StrataIO
import StrataLog

extension Store {
    /// Checks every segment of `topic` (nil: every topic) — batch structure, CRCs, records,
    /// offsets, index entries — changing nothing; one report per partition.
    public func verify(topic: String? = nil, records: Bool = true) throws -> [VerifyReport] {
        let names = try topic.map { [$0] } ?? topicNames()
        var out: [VerifyReport] = []
        for name in names {
            let t = try self.topic(name)
            for p in t.partitions.indices {
                out.append(try LogVerifier.verify(partition: log.topicsDirectory + "/" + TopicName.directoryName(topic: name, partition: Int32(p)), records: records))
            }
        }
        return out
    }

    /// What opening repaired in each partition of the topics opened so far (open with
    /// `StoreOptions.forceFullRecovery` to validate every batch, as `strata recover` does).
    public func recoveryReports() throws -> [(partition: String, report: RecoveryReport)] {
        var out: [(String, RecoveryReport)] = []
        for name in try topicNames() {
            let t = try topic(name)
            for (p, l) in t.partitions.enumerated() { out.append(("\(name)-\(p)", l.recoveryReport)) }
        }
        return out
    }

    /// Commits consumer group `group`'s next offset for a partition (durable, atomic). The
    /// topic and partition must exist and the offset lie within the log (`offsetOutOfRange`
    /// otherwise), so a typo never records a position a consumer would skip to.
    public func commitGroupOffset(group: String, topic: String, partition: Int32, offset: Int64, metadata: String = "") throws {
        try checkWritable()
        try groups.commit(group: group, topic: topic, partition: partition, offset: offset, metadata: metadata)
    }

    /// The committed offset of consumer group `group` for a partition, if any.
    public func groupOffset(group: String, topic: String, partition: Int32) throws -> Int64? {
        _ = try self.topic(topic).log(partition)
        return try groups.committed(group: group, topic: topic, partition: partition)?.offset
    }
}
