/// A token produced by analysis: its text as UTF-8 bytes (owned by the analyzer's buffer,
/// valid until the next token) and its position in the token stream.
public struct TokenRef {
    /// The token's bytes after filtering.
    public var bytes: UnsafeRawBufferPointer
    /// Position (0, 1, 2, …) used by phrase queries; stop words leave gaps.
    public var position: Int
    /// Byte range of the token in the original text.
    public var startOffset: Int
    public var endOffset: Int
}
