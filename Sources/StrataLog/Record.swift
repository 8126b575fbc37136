import StrataIO

/// A record header: a UTF-8 key and an optional byte value (Kafka's `Header`).
public struct RecordHeader: Sendable, Hashable {
    public var key: String
    public var value: [UInt8]?

    public init(key: String, value: [UInt8]?) {
        self.key = key
        self.value = value
    }
}

/// An owned record to append. `timestamp` is milliseconds since the epoch; nil means "now".
public struct Record: Sendable, Hashable {
    public var key: [UInt8]?
    public var value: [UInt8]?
    public var headers: [RecordHeader]
    public var timestamp: Int64?

    public init(key: [UInt8]? = nil, value: [UInt8]?, headers: [RecordHeader] = [], timestamp: Int64? = nil) {
        self.key = key
        self.value = value
        self.headers = headers
        self.timestamp = timestamp
    }

    /// A record whose value is the UTF-8 bytes of `text`.
    public init(key: String? = nil, text: String, timestamp: Int64? = nil) {
        self.init(key: key.map { Array($0.utf8) }, value: Array(text.utf8), timestamp: timestamp)
    }
}

/// A record read from the log, borrowed from mapped or decompressed memory. The buffers are
/// valid until the cursor that produced it moves on; call `owned()` to keep a copy.
public struct RecordView {
    public let offset: Int64
    public let timestamp: Int64
    public let key: UnsafeRawBufferPointer?
    public let value: UnsafeRawBufferPointer?
    public let headerCount: Int
    /// The encoded headers (already validated while reading).
    public let headerBytes: UnsafeRawBufferPointer

    /// Decodes the headers.
    public func headers() -> [RecordHeader] {
        var reader = ByteReader(headerBytes)
        var out: [RecordHeader] = []
        out.reserveCapacity(headerCount)
        for _ in 0 ..< headerCount {
            // Validated when the record was read, so these reads cannot fail.
            do {
                let k = try reader.readNullableBytes("header key")
                let v = try reader.readNullableBytes("header value")
                out.append(RecordHeader(key: k.map { String(decoding: $0, as: UTF8.self) } ?? "", value: v.map { [UInt8]($0) }))
            } catch {
                break
            }
        }
        return out
    }

    /// An owned copy.
    public func owned() -> Record {
        Record(key: key.map { [UInt8]($0) }, value: value.map { [UInt8]($0) }, headers: headers(), timestamp: timestamp)
    }
}
