#if canImport(Glibc)
import Glibc
#endif
import StrataIO

/// A full-text index in one directory (Formats/search-index.md): a schema, immutable segments,
/// per-segment deletes, and manifests naming the committed state. One writer process at a time
/// (`write.lock`); searchers are snapshots and run concurrently with the writer.
///
/// Documents go to a memory buffer that is flushed as a segment when it reaches
/// `Options.bufferBytes`, on `refresh()` (visible to new searchers, not yet durable) and on
/// `commit()` (durable: a crash at any point leaves the last commit readable). Merges follow
/// `Options.mergePolicy` after each commit, or run on demand with `forceMerge`.
public final class SearchIndex: @unchecked Sendable {
    public struct Options: Sendable {
        /// Flush the memory buffer as a segment when its estimated size reaches this.
        public var bufferBytes: Int = 64 << 20
        /// When to merge segments after a commit.
        public var mergePolicy = TieredMergePolicy()
        public init(bufferBytes: Int = 64 << 20, mergePolicy: TieredMergePolicy = TieredMergePolicy()) {
            self.bufferBytes = bufferBytes
            self.mergePolicy = mergePolicy
        }
    }

    /// One segment as the writer tracks it.
    struct Live {
        var entry: Manifest.SegmentEntry
        let reader: SegmentReader
        /// What searchers see: the committed (mapped) deletes, or a copy of `pending` taken when
        /// a searcher is next opened after a change.
        private var forReaders: DeletedDocuments?
        private var forReadersStale = false
        /// The writer's own bitmap once it deletes in this segment (changed in place).
        private(set) var pending: DocSet?
        var deletesDirty = false

        init(entry: Manifest.SegmentEntry, reader: SegmentReader, deletes: DeletedDocuments? = nil) {
            self.entry = entry
            self.reader = reader
            forReaders = deletes
        }

        /// Marks `docs` deleted; returns how many were not already.
        @discardableResult
        mutating func markDeleted(_ docs: DocSet) -> Int {
            if pending == nil { pending = forReaders?.docSet ?? DocSet(capacity: reader.documentCount) }
            let before = entry.deletedCount
            pending!.formUnion(docs)
            let after = pending!.count
            if after > before {
                forReadersStale = true
                deletesDirty = true
                entry.deletedCount = after
            }
            return after - before
        }

        /// The deletes a searcher opened now sees.
        mutating func deletes() -> DeletedDocuments? {
            if forReadersStale, let pending {
                forReaders = DeletedDocuments(pending)
                forReadersStale = false
            }
            return forReaders
        }
    }

    /// A searcher over the writer's segments as they are now. Caller holds the lock.
    private func snapshotLocked() -> IndexSearcher {
        IndexSearcher(schema: schema, segments: segments.indices.map { (segments[$0].reader, segments[$0].deletes()) })
    }

    public let directory: String
    public let options: Options
    private let lock = Lock()
    private var writerLock: DirectoryLock?
    private(set) var committed: Manifest
    public private(set) var schema: Schema
    private var segments: [Live] = []
    private var buffer = IndexBuffer()
    private var nextSegment: UInt32
    private var parsed = JSONDocument()
    private var scratch: [UInt8] = []
    private var pending: [(field: Int, type: FieldType, entry: Int)] = []

    /// Test hook: called at each step of a commit with the step's name ("flushed",
    /// "deletes-written", "manifest-written", "cleaned"); crash tests exit the process there.
    public var commitHook: ((String) throws -> Void)? {
        get { lock.withLock { hook } }
        set { lock.withLock { hook = newValue } }
    }
    private var hook: ((String) throws -> Void)?

    /// Opens (or creates) the index in `directory`. A new index starts with `schema` (default:
    /// empty, dynamic); an existing one keeps its stored schema, and fields of `schema` it lacks
    /// are added (a field whose type differs is an error). Files no commit references — a
    /// segment flushed after the last commit before a crash, temp files — are removed.
    public init(directory: String, schema: Schema? = nil, options: Options = Options()) throws {
        self.directory = directory
        self.options = options
        try FileSystem.createDirectory(directory)
        writerLock = try DirectoryLock(path: directory + "/" + SearchIndexFiles.lock, what: "index")
        if let latest = try Self.latestManifest(directory) {
            committed = latest
        } else {
            committed = Manifest(generation: 0, nextSegmentNumber: 1, schema: try schema ?? Schema(), segments: [], userData: [:])
            try FileSystem.writeAtomically(committed.encode(), to: directory + "/" + Manifest.fileName(0))
        }
        var merged = committed.schema
        if let schema {
            for f in schema.fields {
                if let existing = merged.field(f.name) {
                    if existing.type != f.type {
                        throw StrataError.invalidArgument("field '\(f.name)' is \(existing.type.typeName) in the index at \(directory), not \(f.type.typeName); rebuild the index to change a type")
                    }
                } else {
                    try merged.add(f)
                }
            }
            merged.dynamic = schema.dynamic
            merged.defaultFields = schema.defaultFields
        }
        self.schema = merged
        nextSegment = committed.nextSegmentNumber
        segments = try Self.openSegments(committed, directory: directory)
        try removeUnreferencedFiles()
    }

    deinit { writerLock?.release() }

    /// Releases the write lock; uncommitted changes are dropped.
    public func close() {
        lock.withLock {
            writerLock?.release()
            writerLock = nil
        }
    }

    /// A searcher over the last commit of the index in `directory`, without taking the write
    /// lock (a writer may be running in another process). A commit that removes files while
    /// they are being opened is retried.
    public static func openSearcher(directory: String) throws -> IndexSearcher {
        var attempt = 0
        while true {
            do {
                guard FileSystem.isDirectory(directory), let m = try latestManifest(directory) else {
                    throw StrataError.notFound("search index in \(directory) (no manifest; build it first, e.g. with `strata index`)")
                }
                var live = try openSegments(m, directory: directory)
                return IndexSearcher(schema: m.schema, segments: live.indices.map { i in (live[i].reader, live[i].deletes()) })
            } catch let StrataError.io(_, _, code) where code == ENOENT && attempt < 5 {
                attempt += 1 // a newer commit replaced the manifest or its files meanwhile: read again
            }
        }
    }

    static func latestManifest(_ directory: String) throws -> Manifest? {
        let names = try FileSystem.list(directory)
        guard let best = names.compactMap({ n in Manifest.generation(ofFile: n).map { (n, $0) } }).max(by: { $0.1 < $1.1 }) else { return nil }
        let path = directory + "/" + best.0
        let m = try Manifest.decode(try FileSystem.readFile(path), path: path)
        guard m.generation == best.1 else {
            throw StrataError.corrupt(file: path, position: 8, reason: "manifest: generation \(m.generation) inside a file named for \(best.1)")
        }
        return m
    }

    static func openSegments(_ m: Manifest, directory: String) throws -> [Live] {
        try m.segments.map { e in
            let reader = try SegmentReader(directory: directory, number: e.number, documentCount: e.documentCount, invertedFields: e.invertedFields)
            var deletes: DeletedDocuments?
            if e.deleteGeneration != 0 {
                deletes = try DeletesFile.read(path: directory + "/" + SearchIndexFiles.deletes(e.name, generation: e.deleteGeneration), documents: e.documentCount, deleted: e.deletedCount)
            }
            return Live(entry: e, reader: reader, deletes: deletes)
        }
    }

    /// The user data of the last commit (e.g. consumed log offsets).
    public var committedUserData: [String: String] { lock.withLock { committed.userData } }

    /// The buffer's estimated and measured heap bytes (calibration).
    var bufferBytes: (estimated: Int, measured: Int) { lock.withLock { (buffer.estimatedBytes, buffer.measuredBytes()) } }

    /// Documents added since the last flush.
    public var bufferedDocuments: Int { lock.withLock { buffer.documentCount } }

    private func checkOpen() throws {
        if writerLock == nil { throw StrataError.closed("search index at \(directory)") }
    }

    // MARK: adding documents

    /// Adds a document given as a JSON object (UTF-8 bytes). Fields map through the schema
    /// (dynamic mapping may add fields); a value that does not fit its field's type rejects the
    /// whole document with `invalidArgument`, leaving the index unchanged.
    public func add(json: UnsafeRawBufferPointer) throws {
        try lock.withLock {
            try checkOpen()
            try parsed.parse(json)
            try addParsed()
        }
        try flushIfFull()
    }

    /// Adds a JSON object with more values appended (e.g. a log record's offset beside the
    /// fields of its JSON value).
    public func add(json: UnsafeRawBufferPointer, extra: Document) throws {
        try lock.withLock {
            try checkOpen()
            try parsed.parse(json)
            parsed.append(extra)
            try addParsed()
        }
        try flushIfFull()
    }

    public func add(json: String) throws {
        var copy = json
        try copy.withUTF8 { try add(json: UnsafeRawBufferPointer($0)) }
    }

    /// Adds a document given as field values.
    public func add(_ document: Document) throws {
        try lock.withLock {
            try checkOpen()
            parsed.load(document)
            try addParsed()
        }
        try flushIfFull()
    }

    private func addParsed() throws {
        // Map every value first, so a rejected document changes nothing.
        var newSchema = schema
        pending.removeAll(keepingCapacity: true)
        for (k, e) in parsed.entries.enumerated() {
            let (fieldNumber, type) = try parsed.withBytes(e) { path, value -> (Int?, FieldType?) in
                let name = String(decoding: path, as: UTF8.self)
                if let n = newSchema.number(of: name) { return (n, newSchema.fields[n].type) }
                switch newSchema.dynamic {
                case .ignore: return (nil, nil)
                case .strict: throw StrataError.invalidArgument("field '\(name)' is not in the schema and dynamic mapping is strict")
                case .add:
                    let t: FieldType
                    switch e.kind {
                    case .string: t = Timestamp.parse(value) != nil ? .timestamp : .text(.standard)
                    case .integer: t = .i64
                    case .float: t = .f64
                    case .bool: t = .keyword
                    }
                    try newSchema.add(FieldDefinition(name, t))
                    return (newSchema.fields.count - 1, t)
                }
            }
            guard let fieldNumber, let type else { continue }
            try checkValue(e, type: type, field: newSchema.fields[fieldNumber].name)
            pending.append((fieldNumber, type, k))
        }
        schema = newSchema
        for (f, type, k) in pending {
            let e = parsed.entries[k]
            switch type {
            case .text, .keyword:
                parsed.withBytes(e) { _, v in buffer.addTerms(f, type, v) }
            case .i64, .f64, .timestamp:
                buffer.setNumber(f, type, numericBits(e, type))
            }
        }
        buffer.endDocument()
    }

    private func checkValue(_ e: JSONDocument.Entry, type: FieldType, field: String) throws {
        switch type {
        case .text, .keyword: return
        case .i64, .f64, .timestamp:
            if e.kind == .bool || numericBitsOrNil(e, type) == nil {
                let shown = parsed.withBytes(e) { _, v in String(decoding: v.prefix(60), as: UTF8.self) }
                throw StrataError.invalidArgument("field '\(field)' is \(type.typeName); the value \"\(shown)\" is not one")
            }
        }
    }

    private func numericBits(_ e: JSONDocument.Entry, _ type: FieldType) -> Int64 { numericBitsOrNil(e, type) ?? 0 }

    private func numericBitsOrNil(_ e: JSONDocument.Entry, _ type: FieldType) -> Int64? {
        switch (type, e.kind) {
        case (.i64, .integer), (.timestamp, .integer): return e.integer
        case (.i64, .float), (.timestamp, .float):
            return e.double.rounded() == e.double && abs(e.double) < 9.2e18 ? Int64(e.double) : nil
        case (.f64, .integer): return Int64(bitPattern: Double(e.integer).bitPattern)
        case (.f64, .float): return e.double.isFinite ? Int64(bitPattern: e.double.bitPattern) : nil // NaN/∞: rejected, as Elasticsearch does
        case (.i64, .string): return parsed.withBytes(e) { _, v in Int64(String(decoding: v, as: UTF8.self)) }
        case (.f64, .string): return parsed.withBytes(e) { _, v in Double(String(decoding: v, as: UTF8.self)).flatMap { $0.isFinite ? Int64(bitPattern: $0.bitPattern) : nil } }
        case (.timestamp, .string): return parsed.withBytes(e) { _, v in Timestamp.parse(v) }
        default: return nil
        }
    }

    private func flushIfFull() throws {
        try lock.withLock {
            if buffer.estimatedBytes >= options.bufferBytes { try flushBuffer() }
        }
    }

    /// Writes the buffer as a new (uncommitted) segment. Caller holds the lock.
    private func flushBuffer() throws {
        guard buffer.documentCount > 0 else { pendingTermDeletes.removeAll(); return }
        let number = nextSegment
        let name = Manifest.segmentName(number)
        let fields = try buffer.flush(directory: directory, name: name)
        let reader = try SegmentReader(directory: directory, number: number, documentCount: buffer.documentCount, invertedFields: fields)
        var live = Live(entry: Manifest.SegmentEntry(number: number, documentCount: buffer.documentCount, deletedCount: 0, deleteGeneration: 0, invertedFields: fields), reader: reader)
        // Buffered term deletes reach the documents added before them.
        if !pendingTermDeletes.isEmpty {
            var deletes = DocSet(capacity: reader.documentCount)
            for d in pendingTermDeletes {
                guard let inv = reader.invertedField(d.field), let info = try d.term.withUnsafeBytes({ try inv.lookup($0) }) else { continue }
                let c = try PostingsCursor.open(inv, info)
                while c.doc < UInt32(d.before) { deletes.insert(c.doc); try c.next() }
            }
            live.markDeleted(deletes)
            pendingTermDeletes.removeAll()
        }
        segments.append(live)
        nextSegment += 1
        buffer = IndexBuffer()
    }

    /// Term deletes waiting for the buffer's flush: the field, the exact term, and how many
    /// buffered documents existed when the delete was asked (later ones are not deleted).
    private var pendingTermDeletes: [(field: Int, term: [UInt8], before: Int)] = []

    /// Deletes the documents whose `field` holds exactly `value` (a keyword, or a single term of
    /// a text field after analysis), without flushing the buffer: buffered documents added
    /// before this call are deleted when the buffer is flushed. Add after deleting to replace a
    /// document (`update`). Visible to searchers opened after the next refresh.
    public func delete(field name: String, value: String) throws {
        try lock.withLock {
            try checkOpen()
            guard let f = schema.number(of: name), schema.fields[f].type.isInverted else {
                throw StrataError.invalidArgument("delete by term needs a text or keyword field; '\(name)' is not one")
            }
            var terms: [[UInt8]] = []
            var copy = value
            copy.withUTF8 { u in Analyzer(schema.fields[f].type.analyzerKind).analyze(UnsafeRawBufferPointer(u)) { terms.append(Array($0.bytes)) } }
            guard terms.count == 1, let term = terms.first else {
                throw StrataError.invalidArgument("'\(value)' is \(terms.count) terms in field '\(name)'; delete by term needs exactly one")
            }
            for i in segments.indices {
                guard let inv = segments[i].reader.invertedField(f), let info = try term.withUnsafeBytes({ try inv.lookup($0) }) else { continue }
                var docs = DocSet(capacity: segments[i].reader.documentCount)
                let c = try PostingsCursor.open(inv, info)
                while c.doc != PostingsCursor.exhausted { docs.insert(c.doc); try c.next() }
                segments[i].markDeleted(docs)
            }
            if buffer.documentCount > 0 { pendingTermDeletes.append((f, term, buffer.documentCount)) }
        }
    }

    /// Replaces every document whose `field` holds `value` by `document` (delete by term, then
    /// add), without flushing: Elasticsearch's index-by-id, Lucene's updateDocument.
    public func update(field: String, value: String, with document: Document) throws {
        try delete(field: field, value: value)
        try add(document)
    }

    // MARK: deletes, refresh, commit

    /// Deletes every document matching `query` (buffered documents included); returns how many
    /// were deleted. Visible to searchers opened afterwards; durable at the next commit.
    @discardableResult
    public func delete(_ query: Query) throws -> Int {
        try lock.withLock {
            try checkOpen()
            try flushBuffer()
            let snapshot = snapshotLocked()
            var total = 0
            for (i, s) in snapshot.segments.enumerated() {
                let matched = try snapshot.matches(query, in: s)
                if matched.count == 0 { continue }
                total += segments[i].markDeleted(matched)
            }
            return total
        }
    }

    /// Makes buffered documents visible to searchers opened afterwards (not durable).
    public func refresh() throws {
        try lock.withLock {
            try checkOpen()
            try flushBuffer()
        }
    }

    /// A point-in-time searcher over every refreshed or committed segment (buffered documents
    /// are not included; call `refresh()` first).
    public func searcher() -> IndexSearcher {
        lock.withLock { snapshotLocked() }
    }

    /// Makes everything added and deleted so far durable, with `userData` stored in the
    /// manifest (replacing the previous commit's). Steps: flush the buffer (segment files are
    /// written to temp names, fsync'd, renamed); write changed deletes under a new generation;
    /// write `manifest-<generation+1>` the same way and fsync the directory — the commit point;
    /// then remove files no longer referenced. Then merges run if the policy asks for them; a
    /// merge failure after the commit point is in the returned report, not thrown.
    @discardableResult
    public func commit(userData: [String: String]? = nil) throws -> CommitReport {
        let generation = try lock.withLock {
            try checkOpen()
            try commitLocked(userData: userData ?? committed.userData)
            return committed.generation
        }
        // The commit is durable: a merge failing now (e.g. a full disk) is reported, not thrown —
        // the caller must not take the commit for failed. The merge is retried next time.
        var report = CommitReport(generation: generation, mergedSegments: 0, mergeError: nil)
        do { report.mergedSegments = try maybeMerge() } catch let e as StrataError { report.mergeError = e }
        return report
    }

    /// What `commit` did: the manifest generation it wrote, how many segments the merge policy
    /// then merged (and committed), and the error that stopped a merge, if any.
    public struct CommitReport: Sendable {
        public var generation: UInt64
        public var mergedSegments: Int
        public var mergeError: StrataError?
    }

    /// Runs the merge policy now (merges commit themselves); returns how many segments merged.
    @discardableResult
    public func merge() throws -> Int {
        try lock.withLock { try checkOpen() }
        return try maybeMerge()
    }

    private func commitLocked(userData: [String: String]) throws {
        try flushBuffer()
        try hook?("flushed")
        let generation = committed.generation + 1
        for i in segments.indices where segments[i].deletesDirty {
            let gen = UInt32(truncatingIfNeeded: generation)
            try FileSystem.writeAtomically(DeletesFile.encode(segments[i].pending!), to: directory + "/" + SearchIndexFiles.deletes(segments[i].entry.name, generation: gen))
            segments[i].entry.deleteGeneration = gen
        }
        try hook?("deletes-written")
        let next = Manifest(generation: generation, nextSegmentNumber: nextSegment, schema: schema, segments: segments.map(\.entry), userData: userData)
        try FileSystem.writeAtomically(next.encode(), to: directory + "/" + Manifest.fileName(generation))
        try hook?("manifest-written")
        committed = next
        for i in segments.indices { segments[i].deletesDirty = false }
        try removeUnreferencedFiles()
        try hook?("cleaned")
    }

    /// Removes files the current commit and the writer's segments do not use. Caller holds the
    /// lock (or is the initializer).
    private func removeUnreferencedFiles() throws {
        var keep: Set<String> = [SearchIndexFiles.lock, Manifest.fileName(committed.generation)]
        for s in segments {
            keep.insert(SearchIndexFiles.docValues(s.entry.name))
            for f in s.entry.invertedFields { keep.insert(SearchIndexFiles.inverted(s.entry.name, field: f)) }
            if s.entry.deleteGeneration != 0 && !s.deletesDirty {
                keep.insert(SearchIndexFiles.deletes(s.entry.name, generation: s.entry.deleteGeneration))
            }
        }
        // Deletes files of the committed state stay until a newer manifest replaces it.
        for s in committed.segments where s.deleteGeneration != 0 {
            keep.insert(SearchIndexFiles.deletes(s.name, generation: s.deleteGeneration))
        }
        for name in try FileSystem.list(directory) where !keep.contains(name) && !name.hasPrefix(".") {
            try FileSystem.remove(directory + "/" + name)
        }
    }

    // MARK: merging

    /// Merges until at most `maxSegments` remain, dropping deleted documents, and commits.
    public func forceMerge(maxSegments: Int = 1) throws {
        try lock.withLock {
            try checkOpen()
            try commitLocked(userData: committed.userData)
            let limit = max(1, maxSegments)
            if segments.count > limit {
                // Merge the smallest segments into one, leaving `limit`.
                let order = segments.indices.sorted { segments[$0].entry.documentCount < segments[$1].entry.documentCount }
                try mergeLocked(Array(order.prefix(segments.count - limit + 1)))
            }
            // Expunge deletes from the others.
            while let i = segments.firstIndex(where: { $0.entry.deletedCount > 0 }) { try mergeLocked([i]) }
            try commitLocked(userData: committed.userData)
        }
    }

    private func maybeMerge() throws -> Int {
        try lock.withLock {
            guard writerLock != nil else { return 0 }
            var merged = 0
            while let pick = options.mergePolicy.pick(segments.map { ($0.entry.documentCount - $0.entry.deletedCount, $0.entry.deletedCount) }) {
                try mergeLocked(pick)
                merged += pick.count
            }
            if merged > 0 { try commitLocked(userData: committed.userData) }
            return merged
        }
    }

    /// Replaces segments `indices` by one merged segment (uncommitted). Caller holds the lock.
    private func mergeLocked(_ indices: [Int]) throws {
        let chosen = indices.sorted()
        let number = nextSegment
        nextSegment += 1
        let inputs = chosen.map { (segments[$0].reader, segments[$0].deletes()) }
        let (docs, fields) = try SegmentMerger.merge(inputs, schema: schema, directory: directory, name: Manifest.segmentName(number))
        var kept = segments.enumerated().filter { !chosen.contains($0.offset) }.map(\.element)
        if docs > 0 {
            let reader = try SegmentReader(directory: directory, number: number, documentCount: docs, invertedFields: fields)
            kept.insert(Live(entry: Manifest.SegmentEntry(number: number, documentCount: docs, deletedCount: 0, deleteGeneration: 0, invertedFields: fields), reader: reader), at: chosen[0])
        }
        segments = kept
    }

    /// Segment count and total files size (tests, tools, benchmarks).
    public var segmentCount: Int { lock.withLock { segments.count } }
    public func sizeOnDisk() -> Int64 {
        lock.withLock { segments.reduce(0) { $0 + $1.reader.sizeOnDisk(directory: directory) } }
    }
}
