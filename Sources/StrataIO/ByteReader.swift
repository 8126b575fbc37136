/// A bounds-checked cursor over borrowed bytes. Every read that would pass the end throws
/// `StrataError.corrupt` with the position (relative to the start of the buffer, plus `base`).
/// Multi-byte integers are big-endian (Kafka's byte order); varints are zigzag.
public struct ByteReader {
    public let bytes: UnsafeRawBufferPointer
    public var position: Int
    /// Added to positions in error messages (the buffer's offset in its file).
    public let base: Int64

    @inlinable
    public init(_ bytes: UnsafeRawBufferPointer, base: Int64 = 0) {
        self.bytes = bytes
        self.position = 0
        self.base = base
    }

    @inlinable public var remaining: Int { bytes.count - position }
    @inlinable public var isAtEnd: Bool { position >= bytes.count }

    @inlinable
    func fail(_ reason: String) -> StrataError {
        .corrupt(file: "", position: base + Int64(position), reason: reason)
    }

    @inlinable @inline(__always)
    public mutating func require(_ n: Int, _ what: @autoclosure () -> String) throws {
        if n < 0 || n > bytes.count - position {
            throw fail("\(what()) needs \(n) bytes but only \(bytes.count - position) remain")
        }
    }

    @inlinable @inline(__always)
    public mutating func readUInt8() throws -> UInt8 {
        try require(1, "a byte")
        let v = bytes.load(fromByteOffset: position, as: UInt8.self)
        position += 1
        return v
    }

    @inlinable @inline(__always)
    public mutating func readBE<T: FixedWidthInteger>(_: T.Type) throws -> T {
        try require(MemoryLayout<T>.size, "a \(MemoryLayout<T>.size)-byte integer")
        let v = bytes.loadUnaligned(fromByteOffset: position, as: T.self)
        position += MemoryLayout<T>.size
        return T(bigEndian: v)
    }

    /// Reads an unsigned LEB128 value of at most `maxBytes` bytes.
    @inlinable @inline(__always)
    public mutating func readUnsignedVarint(maxBytes: Int) throws -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        var i = 0
        while true {
            if position >= bytes.count { throw fail("varint runs past the end of the data") }
            let b = bytes.load(fromByteOffset: position, as: UInt8.self)
            position += 1
            result |= UInt64(b & 0x7f) << shift
            if b & 0x80 == 0 { return result }
            i += 1
            shift += 7
            if i >= maxBytes { throw fail("varint longer than \(maxBytes) bytes") }
        }
    }

    /// A zigzag varint that must fit in 32 bits (Kafka's `readVarint`).
    @inlinable @inline(__always)
    public mutating func readVarint() throws -> Int32 {
        let start = position
        let raw = try readUnsignedVarint(maxBytes: 5)
        if raw > UInt64(UInt32.max) {
            position = start
            throw fail("varint does not fit in 32 bits")
        }
        return Int32(truncatingIfNeeded: Varint.unzigzag(raw))
    }

    /// A zigzag varlong (Kafka's `readVarlong`).
    @inlinable @inline(__always)
    public mutating func readVarlong() throws -> Int64 {
        Varint.unzigzag(try readUnsignedVarint(maxBytes: 10))
    }

    /// Borrows the next `n` bytes.
    @inlinable @inline(__always)
    public mutating func readBytes(_ n: Int, _ what: @autoclosure () -> String = "bytes") throws -> UnsafeRawBufferPointer {
        try require(n, what())
        let slice = UnsafeRawBufferPointer(rebasing: bytes[position ..< position + n])
        position += n
        return slice
    }

    /// A Kafka varint length followed by that many bytes; a negative length is null (Kafka
    /// writes -1 and reads any negative length as null).
    @inlinable @inline(__always)
    public mutating func readNullableBytes(_ what: @autoclosure () -> String) throws -> UnsafeRawBufferPointer? {
        let len = try readVarint()
        if len < 0 { return nil }
        return try readBytes(Int(len), what())
    }
}
