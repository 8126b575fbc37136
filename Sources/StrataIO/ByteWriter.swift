/// A growable byte buffer for building on-disk structures without per-write allocation.
/// The storage is reused across `removeAll()` calls. Not thread-safe: one owner at a time.
public final class ByteWriter {
    public private(set) var base: UnsafeMutableRawPointer
    public private(set) var capacity: Int
    /// Bytes written so far.
    public var count: Int

    public init(capacity: Int = 4096) {
        let c = max(capacity, 64)
        base = UnsafeMutableRawPointer.allocate(byteCount: c, alignment: 16)
        self.capacity = c
        count = 0
    }

    deinit { base.deallocate() }

    /// The bytes written so far (valid until the next write or `removeAll`).
    @inlinable public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    public func removeAll() { count = 0 }

    /// Makes room for `n` more bytes and returns a pointer to where they go.
    @inline(__always)
    public func reserve(_ n: Int) -> UnsafeMutableRawPointer {
        if count + n > capacity { grow(count + n) }
        return base + count
    }

    @inline(never)
    func grow(_ needed: Int) {
        var newCapacity = capacity * 2
        while newCapacity < needed { newCapacity *= 2 }
        let p = UnsafeMutableRawPointer.allocate(byteCount: newCapacity, alignment: 16)
        p.copyMemory(from: base, byteCount: count)
        base.deallocate()
        base = p
        capacity = newCapacity
    }

    @inline(__always) public func append(_ v: UInt8) {
        reserve(1).storeBytes(of: v, as: UInt8.self)
        count += 1
    }

    @inline(__always) public func appendBE<T: FixedWidthInteger>(_ v: T) {
        reserve(MemoryLayout<T>.size).storeBytes(of: v.bigEndian, as: T.self)
        count += MemoryLayout<T>.size
    }

    @inline(__always) public func appendVarint(_ v: Int64) {
        let n = Varint.write(v, to: reserve(10))
        count += n
    }

    @inline(__always) public func append(_ bytes: UnsafeRawBufferPointer) {
        guard let src = bytes.baseAddress, bytes.count > 0 else { return }
        reserve(bytes.count).copyMemory(from: src, byteCount: bytes.count)
        count += bytes.count
    }

    public func append(_ bytes: [UInt8]) { bytes.withUnsafeBytes { append($0) } }

    /// Appends `n` zero bytes (a slot to patch later) and returns its position.
    @inline(__always) public func appendZeros(_ n: Int) -> Int {
        let at = count
        reserve(n).initializeMemory(as: UInt8.self, repeating: 0, count: n)
        count += n
        return at
    }

    @inline(__always) public func setBE<T: FixedWidthInteger>(_ v: T, at position: Int) {
        precondition(position >= 0 && position + MemoryLayout<T>.size <= count)
        (base + position).storeBytes(of: v.bigEndian, as: T.self)
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
