/// A growable run of 32-bit words behind one pointer, for the segment encoder's per-posting
/// work: an append checks capacity only (no copy-on-write check, no exclusivity check), as
/// `ByteWriter` does for bytes. One owner at a time.
final class WordBuffer {
    struct State {
        var base: UnsafeMutablePointer<UInt32>
        var count: Int
        var capacity: Int
    }

    let state: UnsafeMutablePointer<State>

    init(capacity: Int = 256) {
        let c = max(capacity, 16)
        state = .allocate(capacity: 1)
        state.initialize(to: State(base: .allocate(capacity: c), count: 0, capacity: c))
    }

    deinit {
        state.pointee.base.deallocate()
        state.deallocate()
    }

    var count: Int { @inline(__always) get { state.pointee.count } }
    var isEmpty: Bool { @inline(__always) get { state.pointee.count == 0 } }

    /// The words so far (valid until the next append or removal).
    var words: UnsafeBufferPointer<UInt32> {
        @inline(__always) get { UnsafeBufferPointer(start: state.pointee.base, count: state.pointee.count) }
    }

    @inline(__always) func append(_ v: UInt32) { Self.append(v, to: state) }

    /// Appends through the state pointer alone (a loop that holds no reference to the buffer).
    @inline(__always) static func append(_ v: UInt32, to s: UnsafeMutablePointer<State>) {
        if s.pointee.count == s.pointee.capacity { grow(s) }
        s.pointee.base[s.pointee.count] = v
        s.pointee.count &+= 1
    }

    @inline(__always) func removeAll() { state.pointee.count = 0 }

    /// Drops the first `n` words, moving the rest to the front.
    func removeFirst(_ n: Int) {
        precondition(n >= 0 && n <= count)
        let s = state
        (s.pointee.base).update(from: s.pointee.base + n, count: s.pointee.count - n)
        s.pointee.count -= n
    }

    @inline(never) private static func grow(_ s: UnsafeMutablePointer<State>) {
        let c = s.pointee.capacity * 2
        let p = UnsafeMutablePointer<UInt32>.allocate(capacity: c)
        p.moveInitialize(from: s.pointee.base, count: s.pointee.count)
        s.pointee.base.deallocate()
        s.pointee.base = p
        s.pointee.capacity = c
    }
}
