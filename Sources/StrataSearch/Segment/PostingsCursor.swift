import CStrataSupport
import StrataIO

/// Streams one term's postings from a mapped segment (Formats/search-segment.md §3–4): decodes
/// one block of 128 documents at a time into a fixed buffer, skips whole blocks through the
/// skip table without decoding them (`advance(to:)`), exposes each block's stored maximum
/// frequency and minimum length for score bounds, and reads positions only when asked.
/// Every read is checked against the term's byte range; damage gives `StrataError.corrupt`.
@_spi(Internals) public final class PostingsCursor {
    public static let exhausted = UInt32.max

    let segment: IndexSegment
    let docFreq: Int
    private let base: UnsafeRawPointer
    /// Bytes of the mapped file from `base` (the unpackers' vector loads may read past a block).
    private let size: Int
    private let end: Int            // end of the term's postings (absolute)
    private let skip: Int           // skip table (absolute)
    private let blockArea: Int
    let fullBlocks: Int
    /// Documents [0, 128), then `scanWidth` documents past the last one set to `exhausted`
    /// (`seal()`: a vector scan may read them), then frequencies from `frequenciesAt`.
    private let buffer: UnsafeMutablePointer<UInt32>
    private static let scanWidth = 16
    private static let frequenciesAt = BitPacking.blockSize + scanWidth
    /// Block now in the buffer (fullBlocks = the tail), its size, and the index in it.
    private(set) var block: Int { get { state.pointee.block } set { state.pointee.block = newValue } }
    private var count: Int { get { state.pointee.count } set { state.pointee.count = newValue } }
    private var index: Int { get { state.pointee.index } set { state.pointee.index = newValue } }
    /// The current document (`exhausted` past the end).
    public private(set) var doc: UInt32 { get { state.pointee.doc } set { state.pointee.doc = newValue } }
    // Positions (§4): where the next unread value is — a byte (varints), or a packed block's
    // width byte and an index in the block — and the posting whose positions start there.
    private let positionsRange: Range<Int>
    /// The term has full postings blocks, so its positions are packed in blocks of 128 values.
    private let packedPositions: Bool
    private var positionsAt: Int { get { state.pointee.positionsAt } set { state.pointee.positionsAt = newValue } }
    private var positionsIndex: Int { get { state.pointee.positionsIndex } set { state.pointee.positionsIndex = newValue } }
    private var positionsOrdinal: Int { get { state.pointee.positionsOrdinal } set { state.pointee.positionsOrdinal = newValue } }
    /// Where the positions of the posting last read start (to read it again).
    private var currentPositionsAt: Int { get { state.pointee.currentPositionsAt } set { state.pointee.currentPositionsAt = newValue } }
    private var currentPositionsIndex: Int { get { state.pointee.currentPositionsIndex } set { state.pointee.currentPositionsIndex = newValue } }
    private let tracksPositions: Bool
    /// Documents at or past this are treated as the end (a restricted view's run of documents).
    private var limit: UInt32 { get { state.pointee.limit } set { state.pointee.limit = newValue } }
    private var reachedLimit: Bool { get { state.pointee.reachedLimit } set { state.pointee.reachedLimit = newValue } }
    private var tailStart: Int { get { state.pointee.tailStart } set { state.pointee.tailStart = newValue } }

    /// The cursor's mutable state, behind a constant pointer: stored properties of a class are
    /// checked for exclusive access at run time on every write (`swift_beginAccess`, a
    /// thread-local lookup), which cost more than the leapfrog itself; state reached through a
    /// pointer is not.
    private struct State {
        var block = -1
        var count = 0
        var index = 0
        var doc: UInt32 = 0
        var positionsAt = 0
        var positionsIndex = 0
        var positionsOrdinal = 0
        var currentPositionsAt = 0
        var currentPositionsIndex = 0
        var limit = PostingsCursor.exhausted
        var reachedLimit = false
        var tailStart = -1
        var pendingFrequencies = -1
        var pendingWidth = 0
    }
    private let state: UnsafeMutablePointer<State>

    /// Opens a cursor on the term's first posting. `positions`: the caller will read positions
    /// (phrases); otherwise they are never touched.
    public static func open(_ segment: IndexSegment, _ info: IndexSegment.TermInfo, positions: Bool = false) throws -> PostingsCursor {
        var r = ByteReader(UnsafeRawBufferPointer(rebasing: segment.data[info.postings]), base: Int64(info.postings.lowerBound))
        let blocks = Int(clamping: try r.readUnsignedVarint(maxBytes: 5))
        // Exactly ⌊docFreq / 128⌋ (§3): fewer would leave a varint tail longer than a block,
        // which the block buffer cannot hold.
        guard blocks == info.docFreq / BitPacking.blockSize, SegmentFormat.skipEntrySize * blocks <= r.remaining else {
            throw segment.fail(info.postings.lowerBound, "\(blocks) blocks for \(info.docFreq) documents")
        }
        let c = PostingsCursor(segment, info, fullBlocks: blocks, skip: info.postings.lowerBound + r.position, positions: positions)
        try c.load(0)
        return c
    }

    private init(_ segment: IndexSegment, _ info: IndexSegment.TermInfo, fullBlocks: Int, skip: Int, positions: Bool) {
        self.segment = segment
        tracksPositions = positions
        docFreq = info.docFreq
        base = segment.data.baseAddress!
        size = segment.data.count
        end = info.postings.upperBound
        positionsRange = info.positions
        packedPositions = fullBlocks > 0
        buffer = .allocate(capacity: Self.frequenciesAt + BitPacking.blockSize)
        state = .allocate(capacity: 1)
        state.initialize(to: State())
        state.pointee.positionsAt = info.positions.lowerBound
        self.fullBlocks = fullBlocks
        self.skip = skip
        blockArea = skip + SegmentFormat.skipEntrySize * fullBlocks
    }

    deinit {
        buffer.deallocate()
        state.deallocate()
    }

    @inline(__always) private func u32(_ at: Int) -> UInt32 { base.loadUnaligned(fromByteOffset: at, as: UInt32.self).littleEndian }

    /// Last document of full block `b` (from the skip table).
    @inline(__always) func lastDoc(ofBlock b: Int) -> UInt32 { u32(skip + SegmentFormat.skipEntrySize * b) }
    /// Largest frequency and smallest length in full block `b`.
    /// The smallest document length of the block the cursor is in (0 in the tail, which stores
    /// no bounds): with `frequency`, an upper bound of the current posting's score that needs no
    /// read of the norms — a random access into a large array — for candidates it turns away.
    @inline(__always) var blockMinNorm: UInt32 { block < fullBlocks ? u16(skip + SegmentFormat.skipEntrySize * block + 10) : 0 }

    @inline(__always) private func u16(_ at: Int) -> UInt32 { UInt32(base.loadUnaligned(fromByteOffset: at, as: UInt16.self).littleEndian) }

    /// Largest frequency and smallest length in full block `b`; a saturated frequency (the
    /// true one may be larger) reads as `UInt32.max`.
    @inline(__always) func blockMax(_ b: Int) -> (maxFreq: UInt32, minNorm: UInt32) {
        let f = u16(skip + SegmentFormat.skipEntrySize * b + 8)
        return (f == SegmentFormat.saturatedFrequency ? UInt32.max : f, u16(skip + SegmentFormat.skipEntrySize * b + 10))
    }

    /// The current posting's term frequency. A full block's frequencies stay packed until a
    /// block-at-a-time loop or a positions read needs them all: intersections skim most blocks
    /// for documents only, so a single frequency is read in place — one unaligned 8-byte load
    /// and a shift (the load may reach past the block, never past the file: the postings are
    /// followed by the positions, the dictionary and the footer).
    @inline(__always) var frequency: UInt32 {
        let at = pendingFrequencies
        if at >= 0 {
            // Stored as frequency − 1 (see unpackFrequencies for a wrapped value).
            return UInt32(truncatingIfNeeded: BitPacking.value(in: base + at, width: pendingWidth, index: index)) &+ 1
        }
        return buffer[Self.frequenciesAt + index]
    }

    /// Where the buffer's block keeps its packed frequencies (and their width); −1 when unpacked.
    private var pendingFrequencies: Int { get { state.pointee.pendingFrequencies } set { state.pointee.pendingFrequencies = newValue } }
    private var pendingWidth: Int { get { state.pointee.pendingWidth } set { state.pointee.pendingWidth = newValue } }

    @inline(never) private func unpackFrequencies() {
        // Stored as frequency − 1. A wrapped value (damage that passed the CRC) reads as 0:
        // it scores 0 and has no positions — wrong for that posting, never a crash.
        let at = pendingFrequencies
        let packed = base.assumingMemoryBound(to: UInt8.self) + at
        strata_unpack128(packed, size - at, UInt32(pendingWidth), 1, buffer + Self.frequenciesAt)
        pendingFrequencies = -1
    }
    /// On the first posting of the block in the buffer.
    @inline(__always) var isAtBlockStart: Bool { index == 0 }
    /// Postings before the current one.
    @inline(__always) var ordinal: Int { block &* BitPacking.blockSize &+ index }
    /// The last document of the block in the buffer.
    @inline(__always) var blockLastDoc: UInt32 { count > 0 ? buffer[count - 1] : Self.exhausted }

    /// Decodes block `b` (b == fullBlocks: the varint tail) and positions on its first posting.
    private func load(_ b: Int) throws {
        if tracksPositions {
            // Positions of block b start where block b − 1's end (skip data), so skipped blocks
            // cost nothing.
            var startOffset = 0, startIndex = 0
            if b > 0 {
                let e = skip + SegmentFormat.skipEntrySize * (b - 1)
                startOffset = Int(u32(e + 12))
                startIndex = Int(base.load(fromByteOffset: e + 16, as: UInt8.self))
            }
            guard startOffset <= positionsRange.count, startIndex < BitPacking.blockSize else {
                throw segment.fail(skip, "positions start \(startOffset)/\(startIndex) past the term's positions")
            }
            positionsAt = positionsRange.lowerBound + startOffset
            positionsIndex = startIndex
            positionsOrdinal = b * BitPacking.blockSize
        }
        block = b
        index = 0
        let previous: Int64 = b == 0 ? -1 : Int64(lastDoc(ofBlock: b - 1))
        if b < fullBlocks {
            let o = blockArea + Int(u32(skip + SegmentFormat.skipEntrySize * b + 4))
            guard o + 2 <= end else { throw segment.fail(o, "postings block \(b) starts past the term") }
            let dw = Int(base.load(fromByteOffset: o, as: UInt8.self)), fw = Int(base.load(fromByteOffset: o + 1, as: UInt8.self))
            guard dw <= 32, fw <= 32, o + 2 + 16 * (dw + fw) <= end else { throw segment.fail(o, "postings block \(b) is damaged (widths \(dw), \(fw))") }
            // Documents are the running sums of the deltas (unpacked and summed in one pass);
            // every delta after the term's first posting must be > 0, no sum may wrap.
            let start = UInt32(previous < 0 ? 0 : previous)
            let least = strata_unpack128_running(base.assumingMemoryBound(to: UInt8.self) + o + 2, size - o - 2, UInt32(dw), start, buffer)
            pendingFrequencies = o + 2 + 16 * dw
            pendingWidth = fw
            let d = Int64(buffer[BitPacking.blockSize - 1])
            guard least > 0, previous < 0 || buffer[0] != start, d < Int64(segment.documentCount), d == Int64(lastDoc(ofBlock: b)) else {
                throw segment.fail(o, "postings block \(b) out of order or out of range")
            }
            count = BitPacking.blockSize
            if b == fullBlocks - 1 { tailStart = o + 2 + 16 * (dw + fw) }
        } else {
            let tail = docFreq - fullBlocks * BitPacking.blockSize
            if fullBlocks == 0 { tailStart = blockArea }
            if tailStart < 0 {
                // Find the tail: after the last full block.
                let o = blockArea + Int(u32(skip + SegmentFormat.skipEntrySize * (fullBlocks - 1) + 4))
                guard o + 2 <= end else { throw segment.fail(o, "postings block starts past the term") }
                let dw = Int(base.load(fromByteOffset: o, as: UInt8.self)), fw = Int(base.load(fromByteOffset: o + 1, as: UInt8.self))
                tailStart = o + 2 + 16 * (dw + fw)
            }
            guard tailStart <= end else { throw segment.fail(tailStart, "postings tail starts past the term") }
            pendingFrequencies = -1
            var r = ByteReader(UnsafeRawBufferPointer(start: base + tailStart, count: end - tailStart), base: Int64(tailStart))
            var d = previous
            for k in 0 ..< tail {
                let delta = try r.readUnsignedVarint(maxBytes: 5), freq = try r.readUnsignedVarint(maxBytes: 5)
                let next = (d < 0 ? 0 : d) + Int64(delta)
                guard delta > 0 || d < 0, next < Int64(segment.documentCount), freq > 0, freq <= UInt64(UInt32.max) else {
                    throw segment.fail(tailStart + r.position, "postings out of order or out of range")
                }
                d = next
                buffer[k] = UInt32(d)
                buffer[Self.frequenciesAt + k] = UInt32(freq)
            }
            if r.position != r.bytes.count { throw segment.fail(tailStart + r.position, "\(r.remaining) bytes after the last posting") }
            count = tail
        }
        if limit != Self.exhausted, count > 0, buffer[count - 1] >= limit {
            // Postings past the limit are cut off: the block ends early, and nothing follows.
            var n = count
            while n > 0 && buffer[n - 1] >= limit { n -= 1 }
            count = n
            reachedLimit = true
        }
        seal()
        doc = count > 0 ? buffer[0] : Self.exhausted
    }

    /// Sets the `scanWidth` entries after the block's last document to `exhausted`.
    @inline(__always) private func seal() {
        (buffer + count).update(repeating: Self.exhausted, count: Self.scanWidth)
    }

    /// Restricts the cursor to documents in `range`: moves to the first at or after its start
    /// and ends before its end.
    func restrict(to range: Range<UInt32>) throws {
        limit = range.upperBound
        if count > 0, buffer[count - 1] >= limit {
            var n = count
            while n > index && buffer[n - 1] >= limit { n -= 1 }
            count = n
            seal()
            reachedLimit = true
            if index >= count { doc = Self.exhausted }
        }
        try advance(to: range.lowerBound)
    }

    /// The postings from the current one to the end of the buffered block: documents,
    /// frequencies (unpacked unless `frequencies` is false: then not to be read) and their
    /// number. Use with `nextBlock()` for block-at-a-time loops.
    @inline(__always) func remainingInBlock(frequencies: Bool = true) -> (docs: UnsafePointer<UInt32>, freqs: UnsafePointer<UInt32>, count: Int) {
        if frequencies && pendingFrequencies >= 0 { unpackFrequencies() }
        return (UnsafePointer(buffer + index), UnsafePointer(buffer + Self.frequenciesAt + index), count - index)
    }

    /// The buffered block's documents (ascending, followed by `exhausted` sentinels), the
    /// current posting's index in it and the block's size: for merges over whole blocks.
    @inline(__always) var bufferedDocs: (docs: UnsafePointer<UInt32>, index: Int, count: Int) {
        (UnsafePointer(buffer), index, count)
    }

    /// Moves to posting `i` of the buffered block (`index` ≤ i < `count`), as `advance(to:)`
    /// to its document would.
    @inline(__always) func move(toBuffered i: Int) {
        index = i
        doc = buffer[i]
    }

    /// Moves to the first posting of the next block (or past the end).
    func nextBlock() throws {
        if block < fullBlocks && !reachedLimit { try load(block + 1) } else { doc = Self.exhausted; index = count }
    }

    /// Moves to the next posting.
    @inline(__always) public func next() throws {
        index += 1
        if index < count { doc = buffer[index]; return }
        if block < fullBlocks && !reachedLimit { try load(block + 1) } else { doc = Self.exhausted; index = count }
    }

    /// Moves to the first posting with document ≥ `target`, skipping whole blocks by their last
    /// document without decoding them. A target in the buffered block (the common case of a
    /// dense intersection) is a short scan, inlined into the caller's loop; the rest is
    /// `advance(beyondBlock:)`.
    @inline(__always) public func advance(to target: UInt32) throws {
        if doc >= target { return }
        if target > blockLastDoc || target >= limit { return try advance(beyondBlock: target) }
        // buffer[count − 1] ≥ target: the scan stops inside the block. Sixteen documents per
        // step by two vector compares, no branch per document: a dense intersection's gaps are
        // mostly shorter, so the loop's exit is predictable. Only the last step counts its
        // lanes: the loop carries nothing but `at += 16` from one step to the next.
        var at = index + 1
        let bar = SIMD8<UInt32>(repeating: target)
        while true {
            let p = UnsafeRawPointer(buffer + at)
            let low = p.loadUnaligned(as: SIMD8<UInt32>.self) .< bar
            let high = p.loadUnaligned(fromByteOffset: 32, as: SIMD8<UInt32>.self) .< bar
            if all(high) { at &+= 16; continue }   // sorted: all of `low` are below too
            let lanes = unsafeBitCast(low, to: SIMD8<Int32>.self) &+ unsafeBitCast(high, to: SIMD8<Int32>.self)
            at &+= Int(-lanes.wrappedSum())   // lanes below
            break
        }
        index = at
        doc = buffer[at]
    }

    /// The first index in [from, count) whose document is ≥ `target` (`count` when none is),
    /// by a binary search without branches in its loop.
    @inline(__always) private func lowerBound(_ target: UInt32, from: Int) -> Int {
        var at = from, n = count - from
        while n > 1 {
            let half = n >> 1
            at = buffer[at + half - 1] < target ? at + half : at
            n -= half
        }
        if n == 1 && buffer[at] < target { at += 1 }
        return at
    }

    /// `advance(to:)` past the buffered block: the skip table is searched by galloping from the
    /// next block (near targets cost a probe or two, far ones a logarithm), the new block by a
    /// branch-free binary search.
    @inline(never) private func advance(beyondBlock target: UInt32) throws {
        if target >= limit || reachedLimit {
            doc = Self.exhausted
            index = count
            return
        }
        let b = firstBlock(endingAtOrAfter: target, from: block + 1)
        if b > fullBlocks || (b == fullBlocks && docFreq == fullBlocks * BitPacking.blockSize) {
            doc = Self.exhausted
            index = count
            return
        }
        try load(b)
        index = lowerBound(target, from: 0)
        if index < count { doc = buffer[index] } else { try next() }
    }

    /// The first full block at or after `from` whose last document is ≥ `target`
    /// (`fullBlocks` when none is).
    @inline(__always) private func firstBlock(endingAtOrAfter target: UInt32, from: Int) -> Int {
        if from >= fullBlocks || lastDoc(ofBlock: from) >= target { return from }
        // Gallop: lastDoc(lo) < target; double the step until a block reaches it.
        var lo = from, step = 1
        var hi = from + 1
        while hi < fullBlocks && lastDoc(ofBlock: hi) < target {
            lo = hi
            step <<= 1
            hi = lo + step
        }
        hi = min(hi, fullBlocks)
        // Binary search in (lo, hi]: lastDoc(hi) ≥ target, or hi == fullBlocks.
        var l = lo + 1
        while l < hi {
            let m = (l + hi) >> 1
            if lastDoc(ofBlock: m) < target { l = m + 1 } else { hi = m }
        }
        return l
    }

    /// The upper bound of the block that would hold `target` (for block-max pruning): the block
    /// index, its last document and its largest frequency / smallest length; nil past the last
    /// full block (the tail has no stored bounds).
    func shallowBlock(for target: UInt32) -> (block: Int, lastDoc: UInt32, maxFreq: UInt32, minNorm: UInt32)? {
        let b = firstBlock(endingAtOrAfter: target, from: max(0, block))
        guard b < fullBlocks else { return nil }
        let m = blockMax(b)
        return (b, lastDoc(ofBlock: b), m.maxFreq, m.minNorm)
    }

    // MARK: positions

    /// Position bytes after the last one read, once the last posting's positions were read
    /// (nil before): a full walk expects 0.
    var positionsLeft: Int? {
        guard positionsOrdinal == docFreq else { return nil }
        guard packedPositions else { return positionsRange.upperBound - positionsAt }
        // The values read end inside the packed block at positionsAt (checked when read).
        let w = Int(base.load(fromByteOffset: positionsAt, as: UInt8.self))
        return positionsRange.upperBound - (positionsAt + 1 + (positionsIndex * w + 7) / 8)
    }

    /// The width byte of the packed positions block at `at`, checked (inside the term, ≤ 32).
    @inline(__always) private func packedWidth(_ at: Int) throws -> Int {
        guard at < positionsRange.upperBound else { throw segment.fail(at, "positions run past the term") }
        let w = Int(base.load(fromByteOffset: at, as: UInt8.self))
        guard w <= 32 else { throw segment.fail(at, "positions block width \(w)") }
        return w
    }

    /// Skips `n` packed values: across blocks by their width bytes (a block of width w takes
    /// 1 + 16·w bytes), then within the block by index.
    private func skipPacked(_ n: Int) throws {
        var i = positionsIndex + n
        var at = positionsAt
        while i >= BitPacking.blockSize {
            at += 1 + 16 * (try packedWidth(at))
            i -= BitPacking.blockSize
        }
        positionsAt = at
        positionsIndex = i
    }

    /// Skips `n` varints: eight bytes at a time while whole words fit (a varint ends at each
    /// byte below 0x80), then byte by byte.
    private func skipVarints(_ n: Int) throws {
        var left = n
        var at = positionsAt
        let stop = positionsRange.upperBound
        while left > 8 && at + 8 <= stop {
            let w = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: at, as: UInt64.self))
            let ends = (~w & 0x8080_8080_8080_8080).nonzeroBitCount
            if ends > left { break }
            left -= ends
            at += 8
        }
        while left > 0 {
            guard at < stop else { throw segment.fail(at, "positions run past the term") }
            if base.load(fromByteOffset: at, as: UInt8.self) < 0x80 { left -= 1 }
            at += 1
        }
        positionsAt = at
    }

    /// The positions of the current posting, into `out` (replacing its contents).
    public func positions(into out: inout [UInt32]) throws {
        _ = try positions(into: &out, upTo: UInt32.max)
    }

    /// The positions of the current posting up to `limit` (inclusive), into `out` (replacing its
    /// contents); true when that is all of them. Stopping early leaves the cursor at the
    /// posting's first position, so a later call (a higher limit, or a later posting) still works.
    public func positions(into out: inout [UInt32], upTo limit: UInt32) throws -> Bool {
        let n = Int(frequency)
        if out.count < n { out.append(contentsOf: repeatElement(0, count: n - out.count)) }
        let (decoded, complete) = try out.withUnsafeMutableBufferPointer { try positions(to: $0.baseAddress!, upTo: limit) }
        out.removeLast(out.count - decoded)
        return complete
    }

    /// `positions(into:upTo:)` into raw memory with room for `frequency` positions: how many
    /// were written, and whether that is all of them (the phrase matcher's allocation-free path).
    func positions(to dst: UnsafeMutablePointer<UInt32>, upTo limit: UInt32) throws -> (count: Int, complete: Bool) {
        precondition(tracksPositions, "cursor opened without positions")
        if pendingFrequencies >= 0 { unpackFrequencies() }
        let target = ordinal
        if positionsOrdinal == target &+ 1 {
            // The current posting again (read whole before): back to its first position.
            positionsAt = currentPositionsAt
            positionsIndex = currentPositionsIndex
            positionsOrdinal = target
        }
        if positionsOrdinal < target {
            // The positions of postings [from, to) of the block are skipped: Σ f over them, a
            // sum of at most one block of frequencies (vectorized). Candidates are sparse, so
            // this costs less than keeping a block of running sums per block decoded. A
            // wrapped sum is damage: the skip it leads to stays checked against the term.
            let bufferStart = block &* BitPacking.blockSize
            let from = positionsOrdinal &- bufferStart, to = target &- bufferStart
            let skipCount = Int(Self.sum(buffer + Self.frequenciesAt + from, to &- from))
            positionsOrdinal = target
            if packedPositions { try skipPacked(skipCount) } else { try skipVarints(skipCount) }
        }
        currentPositionsIndex = positionsIndex
        currentPositionsAt = positionsAt
        let n = Int(frequency)
        if packedPositions { return try packedPositions(n, to: dst, upTo: limit) }
        var at = positionsAt
        let stop = positionsRange.upperBound
        let base = self.base
        var p: UInt64 = 0
        for k in 0 ..< n {
            // One-byte deltas (most) take the short path.
            guard at < stop else { throw segment.fail(at, "positions run past the term") }
            var d = UInt64(base.load(fromByteOffset: at, as: UInt8.self))
            at += 1
            if d >= 0x80 {
                d &= 0x7F
                var shift: UInt64 = 7
                while true {
                    guard at < stop, shift < 35 else { throw segment.fail(at, "bad position varint") }
                    let b = UInt64(base.load(fromByteOffset: at, as: UInt8.self))
                    at += 1
                    d |= (b & 0x7F) << shift
                    if b < 0x80 { break }
                    shift += 7
                }
            }
            p = k == 0 ? d : p + d
            if p > UInt64(UInt32.max) { throw segment.fail(at, "position out of range") }
            if p > UInt64(limit) { return (k, false) }
            dst[k] = UInt32(truncatingIfNeeded: p)
        }
        positionsAt = at
        positionsOrdinal = target + 1
        return (n, true)
    }

    /// Σ of `n` frequencies, wrapping (a loop the compiler vectorizes).
    @inline(__always) private static func sum(_ p: UnsafeMutablePointer<UInt32>, _ n: Int) -> UInt32 {
        var s: UInt32 = 0
        for k in 0 ..< n { s &+= p[k] }
        return s
    }

    /// Reads `n` packed values from (positionsAt, positionsIndex) as positions (§4): each is one
    /// unaligned 8-byte load and a shift — the load may reach past the term's bytes but never
    /// past the file, which ends with the dictionary and a 72-byte footer after the positions.
    /// A posting's positions usually lie in one block: their bounds are checked once, and a
    /// position's range only when it passes `limit` (which one past `UInt32.max` always does).
    @inline(__always) private func packedPositions(_ n: Int, to dst: UnsafeMutablePointer<UInt32>, upTo limit: UInt32) throws -> (count: Int, complete: Bool) {
        let at = positionsAt, i = positionsIndex
        let w = try packedWidth(at)
        guard i &+ n <= BitPacking.blockSize else { return try packedPositionsAcrossBlocks(n, to: dst, upTo: limit) }
        guard at &+ 1 &+ ((i &+ n) &* w &+ 7) >> 3 <= positionsRange.upperBound else { throw segment.fail(at, "positions run past the term") }
        let block = base + at + 1
        let bound = UInt64(limit)
        var p: UInt64 = 0
        for k in 0 ..< n {
            p &+= BitPacking.value(in: block, width: w, index: i &+ k)
            if p > bound {
                if p > UInt64(UInt32.max) { throw segment.fail(at, "position out of range") }
                return (k, false)
            }
            dst[k] = UInt32(truncatingIfNeeded: p)
        }
        positionsIndex = i &+ n
        positionsOrdinal = ordinal &+ 1
        return (n, true)
    }

    /// `packedPositions` for a posting whose positions cross into later blocks.
    private func packedPositionsAcrossBlocks(_ n: Int, to dst: UnsafeMutablePointer<UInt32>, upTo limit: UInt32) throws -> (count: Int, complete: Bool) {
        var at = positionsAt, i = positionsIndex
        let stop = positionsRange.upperBound
        var w = try packedWidth(at)
        var p: UInt64 = 0
        for k in 0 ..< n {
            if i == BitPacking.blockSize {
                at += 1 + 16 * w
                i = 0
                w = try packedWidth(at)
            }
            guard at + 1 + (i &* w + w + 7) >> 3 <= stop else { throw segment.fail(at, "positions run past the term") }
            p &+= BitPacking.value(in: base + at + 1, width: w, index: i)
            if p > UInt64(limit) {
                if p > UInt64(UInt32.max) { throw segment.fail(at, "position out of range") }
                return (k, false)
            }
            dst[k] = UInt32(truncatingIfNeeded: p)
            i += 1
        }
        positionsAt = at
        positionsIndex = i
        positionsOrdinal = ordinal &+ 1
        return (n, true)
    }
}
