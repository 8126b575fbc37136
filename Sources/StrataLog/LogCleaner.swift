import StrataIO

extension Log {
    /// Compacts when the policy is `compact` and enough of the closed segments is dirty.
    public func compactIfDirty(now: Int64 = currentTimeMillis()) throws {
        // Filled in with compaction.
    }
}
