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
    func grow(_ needed: Int) { Self.grow(state, needed) }

    @usableFromInline @inline(never)
    static func grow(_ state: UnsafeMutablePointer<State>, _ needed: Int) {
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

    /// Appends `v` in this machine's byte order: scratch words that are read back in memory as
    /// `T` (see `elements(as:)`), never bytes for a file.
    @inlinable @inline(__always) public func appendNative<T: FixedWidthInteger>(_ v: T) { handle.appendNative(v) }

    /// A handle that writes through the writer's state alone, for a loop that should hold no
    /// reference (and so retain nothing) per write. Valid only while the writer is alive.
    @inlinable public var handle: Handle { Handle(state: state) }

    /// See `ByteWriter.handle`.
    public struct Handle {
        @usableFromInline let state: UnsafeMutablePointer<State>
        @usableFromInline init(state: UnsafeMutablePointer<State>) { self.state = state }

        /// Bytes written so far.
        @inlinable public var count: Int { @inline(__always) get { state.pointee.count } }

        /// As `ByteWriter.appendNative`.
        @inlinable @inline(__always) public func appendNative<T: FixedWidthInteger>(_ v: T) {
            let s = state, n = MemoryLayout<T>.size
            if s.pointee.count + n > s.pointee.capacity { ByteWriter.grow(s, s.pointee.count + n) }
            (s.pointee.base + s.pointee.count).storeBytes(of: v, as: T.self)
            s.pointee.count += n
        }
    }

    /// The bytes so far as values of `T`, written by `appendNative` (valid until the next write or
    /// removal). The buffer is 16-byte aligned, so any integer type can be read in place.
    @inlinable public func elements<T: FixedWidthInteger>(as: T.Type) -> UnsafeBufferPointer<T> {
        UnsafeBufferPointer(start: state.pointee.base.assumingMemoryBound(to: T.self), count: state.pointee.count / MemoryLayout<T>.size)
    }

    /// Drops the first `n` bytes, moving the rest to the front.
    public func removeFirst(_ n: Int) {
        precondition(n >= 0 && n <= state.pointee.count)
        let s = state
        s.pointee.base.copyMemory(from: s.pointee.base + n, byteCount: s.pointee.count - n)
        s.pointee.count -= n
    }

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
