/// A growable byte buffer for building on-disk structures without per-write allocation.
/// The storage is reused across `removeAll()` calls. Not thread-safe: one owner at a time.
///
/// The cursor state lives behind a pointer rather than in stored properties, so hot loops pay
/// no dynamic exclusivity checks on every byte appended.
public final class ByteWriter {
    @usableFromInline
    struct State {
        @usableFromInline var base: UnsafeMutableRawPointer
        @usableFromInline var count: Int
        @usableFromInline var capacity: Int
        @usableFromInline init(base: UnsafeMutableRawPointer, count: Int, capacity: Int) {
            self.base = base
            self.count = count
            self.capacity = capacity
        }
    }

    @usableFromInline let state: UnsafeMutablePointer<State>

    public init(capacity: Int = 4096) {
        let c = max(capacity, 64)
        state = .allocate(capacity: 1)
        state.initialize(to: State(base: .allocate(byteCount: c, alignment: 16), count: 0, capacity: c))
    }

    deinit {
        state.pointee.base.deallocate()
        state.deallocate()
    }

    /// Start of the buffer (moves when the buffer grows).
    @inlinable public var base: UnsafeMutableRawPointer { state.pointee.base }
    @inlinable public var capacity: Int { state.pointee.capacity }

    /// Bytes written so far.
    @inlinable public var count: Int {
        get { state.pointee.count }
        set { state.pointee.count = newValue }
    }

    /// The bytes written so far (valid until the next write or `removeAll`).
    @inlinable public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: state.pointee.base, count: state.pointee.count) }

    @inlinable public func removeAll() { state.pointee.count = 0 }

    /// Makes room for `n` more bytes and returns a pointer to where they go.
    @inlinable @inline(__always)
    public func reserve(_ n: Int) -> UnsafeMutableRawPointer {
        let s = state
        if s.pointee.count + n > s.pointee.capacity { grow(s.pointee.count + n) }
        return s.pointee.base + s.pointee.count
    }

    @usableFromInline @inline(never)
    func grow(_ needed: Int) {
        var newCapacity = state.pointee.capacity * 2
        while newCapacity < needed { newCapacity *= 2 }
        let p = UnsafeMutableRawPointer.allocate(byteCount: newCapacity, alignment: 16)
        p.copyMemory(from: state.pointee.base, byteCount: state.pointee.count)
        state.pointee.base.deallocate()
        state.pointee.base = p
        state.pointee.capacity = newCapacity
    }

    @inlinable @inline(__always) public func append(_ v: UInt8) {
        reserve(1).storeBytes(of: v, as: UInt8.self)
        state.pointee.count += 1
    }

    @inlinable @inline(__always) public func appendBE<T: FixedWidthInteger>(_ v: T) {
        reserve(MemoryLayout<T>.size).storeBytes(of: v.bigEndian, as: T.self)
        state.pointee.count += MemoryLayout<T>.size
    }

    @inlinable @inline(__always) public func appendVarint(_ v: Int64) {
        let n = Varint.write(v, to: reserve(10))
        state.pointee.count += n
    }

    @inlinable @inline(__always) public func append(_ bytes: UnsafeRawBufferPointer) {
        guard let src = bytes.baseAddress, bytes.count > 0 else { return }
        reserve(bytes.count).copyMemory(from: src, byteCount: bytes.count)
        state.pointee.count += bytes.count
    }

    public func append(_ bytes: [UInt8]) { bytes.withUnsafeBytes { append($0) } }

    /// Appends `n` zero bytes (a slot to patch later) and returns its position.
    @inlinable @inline(__always) public func appendZeros(_ n: Int) -> Int {
        let at = state.pointee.count
        reserve(n).initializeMemory(as: UInt8.self, repeating: 0, count: n)
        state.pointee.count += n
        return at
    }

    @inlinable @inline(__always) public func setBE<T: FixedWidthInteger>(_ v: T, at position: Int) {
        precondition(position >= 0 && position + MemoryLayout<T>.size <= state.pointee.count)
        (state.pointee.base + position).storeBytes(of: v.bigEndian, as: T.self)
    }

    /// A copy of the bytes (for tests and tools, not hot paths).
    public func toArray() -> [UInt8] { Array(bytes) }
}

/// Big-endian loads from raw memory without alignment requirements.
extension UnsafeRawPointer {
    @inlinable @inline(__always)
    public func loadBE<T: FixedWidthInteger>(at offset: Int, as: T.Type) -> T {
        T(bigEndian: loadUnaligned(fromByteOffset: offset, as: T.self))
    }
}

extension UnsafeMutableRawPointer {
    @inlinable @inline(__always)
    public func storeBE<T: FixedWidthInteger>(_ v: T, at offset: Int) {
        storeBytes(of: v.bigEndian, toByteOffset: offset, as: T.self)
    }
}
