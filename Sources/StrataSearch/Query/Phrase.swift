/// The phrase rule both query paths use.
enum Phrase {
    /// Whether the terms occur in order at their relative positions (`offsets[k]` after the
    /// first; stop-word gaps kept) with at most `slop` extra positions in total. For each start
    /// position (ascending) every term's earliest fitting position only moves forward, so one
    /// cursor per list suffices: linear in the positions.
    static func occurs<C: RandomAccessCollection>(_ lists: [C], _ offsets: [Int], slop: Int) -> Bool where C.Element == UInt32, C.Index == Int {
        var cursor = lists.map(\.startIndex)
        for p0 in lists[0] {
            var budget = slop
            var prev = Int(p0)
            var ok = true
            for k in 1 ..< lists.count {
                let want = Int(p0) + offsets[k]
                let list = lists[k]
                var j = cursor[k]
                while j < list.endIndex && (Int(list[j]) <= prev || Int(list[j]) < want) { j += 1 }
                cursor[k] = j
                guard j < list.endIndex else { return false }
                budget -= Int(list[j]) - want
                if budget < 0 { ok = false; break }
                prev = Int(list[j])
            }
            if ok { return true }
        }
        return false
    }
}
