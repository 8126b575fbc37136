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
/// `commit()` (durable: a crash at any point leaves the last commit readable). Segment files
/// are written without fsync and synced by the commit that first names them. Merges follow
/// `Options.mergePolicy`: after each commit on the committing thread, or on a background
/// thread (`Options.backgroundMerges`); `forceMerge` runs on demand.
public final class SearchIndex: @unchecked Sendable {
    public struct Options: Sendable {
        /// Flush the memory buffer as a segment when its estimated size reaches this.
        public var bufferBytes: Int = 64 << 20
        /// When to merge segments.
        public var mergePolicy = TieredMergePolicy()
        /// Run the merge policy on a background thread after refreshes and commits instead of
        /// on the committing thread. A merge's result is committed by the next commit (or at
        /// once when nothing else changed since the last one).
        public var backgroundMerges = false
        /// Publish every `refresh` as a refresh point (`refresh-G`, not durable) that searchers
        /// of other processes (`openSearcher`, `IndexReader`) open, so they see refreshed
        /// documents before the next commit.
        public var publishRefreshes = false
        /// Integer or timestamp fields whose order (ascending, missing values first) numbers
        /// the documents of every segment written (index sorting); empty: the order added.
        public var indexSort: [String] = []
        /// Build the memory buffer on a second thread: the adding thread parses and analyzes
        /// documents, the other looks their terms up and writes their postings, so indexing
        /// uses two cores. The documents, their order and every byte written are the same
        /// either way. The thread starts with the first batch of added documents (256).
        public var pipelinedIndexing = true
        public init(bufferBytes: Int = 64 << 20, mergePolicy: TieredMergePolicy = TieredMergePolicy(),
                    backgroundMerges: Bool = false, publishRefreshes: Bool = false, indexSort: [String] = [],
                    pipelinedIndexing: Bool = true) {
            self.bufferBytes = bufferBytes
            self.mergePolicy = mergePolicy
            self.backgroundMerges = backgroundMerges
            self.publishRefreshes = publishRefreshes
            self.indexSort = indexSort
            self.pipelinedIndexing = pipelinedIndexing
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
        /// The deletes differ from the last commit's (`entry.deleteGeneration`).
        var deletesDirty = false
        /// The deletes differ from the last refresh point's (`publishedDeleteGeneration`).
        var deletesUnpublished = false
        /// The deletes file the latest refresh point names (0: none).
        var publishedDeleteGeneration: UInt32

        init(entry: Manifest.SegmentEntry, reader: SegmentReader, deletes: DeletedDocuments? = nil) {
            self.entry = entry
            self.reader = reader
            forReaders = deletes
            publishedDeleteGeneration = entry.deleteGeneration
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
                deletesUnpublished = true
                entry.deletedCount = after
            }
            return after - before
        }

        /// Whether document `d` is deleted now.
        func isDeleted(_ d: UInt32) -> Bool {
            if let pending { return pending.contains(d) }
            return forReaders?.contains(d) ?? false
        }

        /// The deletes a searcher opened now sees.
        mutating func deletes() -> DeletedDocuments? {
            if forReadersStale, let pending {
                forReaders = DeletedDocuments(pending)
                forReadersStale = false
            }
            return forReaders
        }

        /// The file names this segment's state refers to (with deletes generation `g`).
        func files(deleteGeneration g: UInt32) -> [String] {
            var out = entry.invertedFields.map { SearchIndexFiles.inverted(entry.name, field: $0) }
            out.append(SearchIndexFiles.docValues(entry.name))
            if g != 0 { out.append(SearchIndexFiles.deletes(entry.name, generation: g)) }
            return out
        }
    }

    /// A searcher over the writer's segments as they are now. Caller holds the lock.
    private func snapshotLocked() -> IndexSearcher {
        IndexSearcher(schema: schema, segments: segments.indices.map { (segments[$0].reader, segments[$0].deletes()) })
    }

    public let directory: String
    public let options: Options
    let lock = Lock()
    private var writerLock: DirectoryLock?
    /// The last durable commit.
    private(set) var committed: Manifest
    /// The latest refresh point written (nil: none since the last commit).
    private var published: Manifest?
    /// The highest generation used by a commit or refresh point (the next one is above it).
    private var lastGeneration: UInt64
    public private(set) var schema: Schema
    var segments: [Live] = []
    private var ownBuffer = IndexBuffer()
    /// Inverts documents into its buffers on a second thread (`Options.pipelinedIndexing`).
    private var pipeline: InversionPipeline?
    /// The buffer being filled (with a pipeline: its buffer, read or replaced here only after
    /// `drainPipeline()`).
    private var buffer: IndexBuffer {
        get { pipeline?.buffer ?? ownBuffer }
        set { if let pipeline { pipeline.buffer = newValue } else { ownBuffer = newValue } }
    }
    /// A batch was handed to the pipeline since the last check of the buffer's size.
    private var handedOver = false
    var nextSegment: UInt32
    private var parsed = JSONDocument()
    private var scratch: [UInt8] = []
    private var pending: [(field: Int, type: FieldType, entry: Int)] = []
    /// Path → field answers of the schema (no String per value).
    private var lookup = FieldLookup()
    /// The order of documents in the segments this writer writes (`Options.indexSort`).
    var indexSort: IndexSort? {
        options.indexSort.isEmpty ? nil : IndexSort(fields: options.indexSort.compactMap { schema.number(of: $0) })
    }
    /// Files written without fsync that no commit has synced yet.
    private var unsynced = Set<String>()
    /// Documents or deletes changed since the last commit.
    private(set) var uncommittedChanges = false
    /// Background merging (nil unless `options.backgroundMerges`).
    var merger: BackgroundMerger?
    /// Removes unreferenced files off the writer's path (with `options.backgroundMerges`).
    private var janitor: FileJanitor?
    /// Names queued for removal.
    private var removing = Set<String>()
    /// The number of the segment a background merge is writing (its files are kept).
    var mergeOutput: UInt32?
    /// Segments a background merge reads (not offered to the merge policy again).
    var merging = Set<UInt32>()

    /// Test hook: called at each step of a commit with the step's name ("flushed",
    /// "deletes-written", "manifest-written", "cleaned"); crash tests exit the process there.
    @_spi(Testing) public var commitHook: ((String) throws -> Void)? {
        get { lock.withLock { hook } }
        set { lock.withLock { hook = newValue } }
    }
    private var hook: ((String) throws -> Void)?

    /// Opens (or creates) the index in `directory`. A new index starts with `schema` (default:
    /// empty, dynamic); an existing one keeps its stored schema, and fields of `schema` it lacks
    /// are added (a field whose type differs is an error). Files no commit references — a
    /// segment flushed after the last commit before a crash, refresh points, temp files — are
    /// removed.
    public init(directory: String, schema: Schema? = nil, options: Options = Options()) throws {
        self.directory = directory
        self.options = options
        try FileSystem.createDirectory(directory)
        writerLock = try DirectoryLock(path: directory + "/" + SearchIndexFiles.lock, what: "index")
        let names = try FileSystem.list(directory)
        if let latest = try Self.latestManifest(directory, names: names) {
            committed = latest
        } else {
            committed = Manifest(generation: 0, nextSegmentNumber: 1, schema: try schema ?? Schema(), segments: [], userData: [:])
            try FileSystem.writeAtomically(committed.encode(), to: directory + "/" + Manifest.fileName(0))
        }
        // Refresh points of an earlier writer are not durable and name uncommitted segments;
        // their numbers are never reused, so a reader never mistakes a new file for an old one.
        lastGeneration = names.compactMap { Manifest.generation(ofFile: $0) ?? Manifest.generation(ofRefreshFile: $0) }.max() ?? 0
        lastGeneration = max(lastGeneration, committed.generation)
        var merged = committed.schema
        if let schema {
            try merged.merge(schema, directory: directory)
        }
        self.schema = merged
        nextSegment = committed.nextSegmentNumber
        segments = try Self.openSegments(committed, directory: directory)
        try removeUnreferencedFiles()
        if options.pipelinedIndexing { pipeline = InversionPipeline(flushBytes: options.bufferBytes) }
        if options.backgroundMerges {
            merger = BackgroundMerger(self)
            janitor = FileJanitor()
            // Segments a previous writer left unmerged (it closed mid-way) merge now, not at
            // the first refresh.
            merger?.wake()
        }
    }

    deinit {
        pipeline?.stop()
        merger?.stop()
        janitor?.stop()
        writerLock?.release()
    }

    /// Stops background merging (waiting for a merge in progress) and releases the write lock;
    /// uncommitted changes are dropped. Later calls on the index throw `StrataError.closed`.
    public func close() {
        merger?.stop()
        janitor?.stop()
        lock.withLock {
            pipeline?.discardFilling()
            pipeline?.stop()
            writerLock?.release()
            writerLock = nil
        }
    }

    /// Whether `close()` was called.
    public var isClosed: Bool { lock.withLock { writerLock == nil } }
    var isClosedLocked: Bool { writerLock == nil }

    /// A searcher over the newest state of the index in `directory` — its last refresh point or
    /// commit, whichever is newer — without taking the write lock (a writer may be running in
    /// another process). A commit that removes files while they are being opened is retried.
    public static func openSearcher(directory: String) throws -> IndexSearcher {
        try IndexReader(directory: directory).searcher()
    }

    static func latestManifest(_ directory: String, names: [String]? = nil) throws -> Manifest? {
        let names = try names ?? FileSystem.list(directory)
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

    /// Adds the fields of `other` the schema lacks (documents added from now on get them) and
    /// takes its dynamic mapping and default fields; a field whose definition differs is
    /// refused with a message saying to rebuild. Durable at the next commit.
    public func extendSchema(_ other: Schema) throws {
        try lock.withLock {
            try checkOpen()
            var merged = schema
            try merged.merge(other, directory: directory)
            if merged != schema {
                schema = merged
                lookup.removeAll()
                uncommittedChanges = true
            }
        }
    }

    /// The user data of the last commit (e.g. consumed log offsets).
    public var committedUserData: [String: String] { lock.withLock { committed.userData } }

    /// The buffer's estimated and measured heap bytes (calibration).
    var bufferBytes: (estimated: Int, measured: Int) { lock.withLock { drainPipeline(); return (buffer.estimatedBytes, buffer.measuredBytes()) } }

    /// Documents added since the last flush.
    public var bufferedDocuments: Int {
        lock.withLock {
            drainPipeline()
            return pipeline?.bufferedDocuments ?? buffer.documentCount
        }
    }

    /// Waits until the pipeline has written every document added into its buffers (caller
    /// holds the lock).
    private func drainPipeline() {
        pipeline?.drain(fields: schema.fields)
    }

    /// Writes the buffers the pipeline sealed (each full where one thread would have flushed
    /// it) as segments, oldest first. Caller holds the lock.
    @discardableResult
    private func writeSealedBuffers() throws -> Bool {
        guard let pipeline else { return false }
        var sealed = pipeline.takeSealed()
        if sealed.isEmpty { return false }
        while let b = sealed.first {
            do { _ = try write(b) } catch {
                pipeline.restoreSealed(sealed)
                throw error
            }
            sealed.removeFirst()
        }
        return true
    }

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

    /// Adds a document built by `fill` straight into the parse arena (the store's path for log
    /// records: a record's JSON value plus its partition, offset, timestamp and key without
    /// building a `Document`). `fill` parses or appends entries; a thrown error rejects the
    /// document and leaves the index unchanged.
    @_spi(Store) public func add(building fill: (inout JSONDocument) throws -> Void) throws {
        try lock.withLock {
            try checkOpen()
            parsed.removeAll()
            try fill(&parsed)
            try addParsed()
        }
        try flushIfFull()
    }

    private func addParsed() throws {
        // Map every value first, so a rejected document changes nothing.
        var newSchema = schema
        var schemaChanged = false
        pending.removeAll(keepingCapacity: true)
        for (k, e) in parsed.entries.enumerated() {
            // The common case: a path seen before, answered from the cache without a String.
            let cached: Int? = parsed.withBytes(e) { path, _ in lookup.find(path, hash: FieldLookup.hash(path)) }
            if let cached {
                let entry = lookup.entries[cached]
                if entry.field >= 0 {
                    let type = newSchema.fields[Int(entry.field)].type
                    if type.isNumeric { try checkValue(e, type: type, field: newSchema.fields[Int(entry.field)].name) }
                    pending.append((Int(entry.field), type, k))
                }
                for d in entry.derived { try addDerived(d, e, k, newSchema) }
                continue
            }
            let (fieldNumber, type, name) = try parsed.withBytes(e) { path, value -> (Int?, FieldType?, String) in
                let name = String(decoding: path, as: UTF8.self)
                if let n = newSchema.number(of: name) { return (n, newSchema.fields[n].type, name) }
                switch newSchema.dynamic {
                case .ignore: return (nil, nil, name)
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
                    schemaChanged = true
                    let n = newSchema.fields.count - 1
                    // A new string field is searchable as text and exact (terms aggregations,
                    // filters) through its keyword sub-field, as Elasticsearch maps it.
                    if case .text = t, newSchema.number(of: name + ".keyword") == nil {
                        try newSchema.add(FieldDefinition.keywordSubfield(of: name))
                    }
                    return (n, t, name)
                }
            }
            if let fieldNumber, let type {
                try checkValue(e, type: type, field: newSchema.fields[fieldNumber].name)
                pending.append((fieldNumber, type, k))
            }
            // Multi-fields fed from this path (`name.keyword`).
            let derived = newSchema.hasDerivedFields ? newSchema.derivedFields(of: name) : []
            for d in derived { try addDerived(d, e, k, newSchema) }
            // Remember the answer unless it rests on a schema change this document may still
            // roll back (its fields are cached by the next document that uses them).
            if !schemaChanged {
                parsed.withBytes(e) { path, _ in lookup.insert(path, hash: FieldLookup.hash(path), field: Int32(fieldNumber ?? -1), derived: derived) }
            }
        }
        schema = newSchema
        uncommittedChanges = true
        if let pipeline {
            for (f, type, k) in pending {
                let e = parsed.entries[k]
                switch type {
                case .text: parsed.withBytes(e) { _, v in pipeline.addText(f, schema.fields[f], v) }
                case .keyword: parsed.withBytes(e) { _, v in pipeline.addValue(f, v) }
                case .i64, .f64, .timestamp: pipeline.setNumber(f, numericBits(e, type))
                }
            }
            if pipeline.endDocument(fields: schema.fields) { handedOver = true }
            return
        }
        for (f, type, k) in pending {
            let e = parsed.entries[k]
            switch type {
            case .text, .keyword:
                parsed.withBytes(e) { _, v in buffer.addTerms(f, schema.fields[f], v) }
            case .i64, .f64, .timestamp:
                buffer.setNumber(f, type, numericBits(e, type))
            }
        }
        buffer.endDocument()
    }

    /// Queues the value of entry `k` for multi-field `d` (checks its type and `ignore_above`).
    @inline(__always) private func addDerived(_ d: Int, _ e: JSONDocument.Entry, _ k: Int, _ schema: Schema) throws {
        let t = schema.fields[d].type
        if e.kind == .bool && t.isNumeric { return }
        try checkValue(e, type: t, field: schema.fields[d].name)
        if let limit = schema.fields[d].ignoreAbove, parsed.withBytes(e, { $1.count }) > limit { return }
        pending.append((d, t, k))
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
        let flushed = try lock.withLock { () -> Bool in
            if pipeline != nil {
                // Sealed buffers are looked for after a hand-over only (once per batch).
                guard handedOver else { return false }
                handedOver = false
                return try writeSealedBuffers()
            }
            guard buffer.estimatedBytes >= options.bufferBytes else { return false }
            try flushBuffer()
            return true
        }
        // A new segment may complete a tier: background merging starts while adding goes on.
        if flushed { merger?.wake() }
    }

    /// Writes every buffered document as segments: the pipeline's sealed buffers first, then
    /// the current one. Caller holds the lock.
    private func flushBuffer() throws {
        drainPipeline()
        try writeSealedBuffers()
        if try write(buffer) { buffer = IndexBuffer() }
    }

    /// Writes `buffer` as a new (uncommitted, not fsync'd) segment, with the buffered term
    /// deletes; false when it holds no document. Caller holds the lock.
    private func write(_ buffer: IndexBuffer) throws -> Bool {
        guard buffer.documentCount > 0 else { pendingTermDeletes.removeAll(); return false }
        let number = nextSegment
        let name = Manifest.segmentName(number)
        let fields: [Int], newOf: [Int32]?
        do { (fields, newOf) = try buffer.flush(directory: directory, name: name, sort: indexSort) } catch {
            // Leave no partial segment behind (the buffer is kept: a later flush retries).
            for f in (try? FileSystem.list(directory)) ?? [] where f.hasPrefix(name + ".") { try? FileSystem.remove(directory + "/" + f) }
            throw error
        }
        nextSegment += 1
        let reader = try SegmentReader(directory: directory, number: number, documentCount: buffer.documentCount, invertedFields: fields)
        var live = Live(entry: Manifest.SegmentEntry(number: number, documentCount: buffer.documentCount, deletedCount: 0, deleteGeneration: 0, invertedFields: fields), reader: reader)
        unsynced.formUnion(live.files(deleteGeneration: 0))
        // Buffered term deletes reach the documents added before them (found in the buffer's
        // numbering, then renumbered as the segment sorted them).
        if !pendingTermDeletes.isEmpty {
            var deletes = DocSet(capacity: reader.documentCount)
            for d in pendingTermDeletes {
                guard let docs = d.term.withUnsafeBytes({ buffer.documents(field: d.field, term: $0) }) else { continue }
                for doc in docs where doc < UInt32(d.before) { deletes.insert(newOf.map { UInt32($0[Int(doc)]) } ?? doc) }
            }
            live.markDeleted(deletes)
            pendingTermDeletes.removeAll()
        }
        segments.append(live)
        uncommittedChanges = true
        return true
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
            copy.withUTF8 { u in schema.fields[f].makeAnalyzer().analyze(UnsafeRawBufferPointer(u)) { terms.append(Array($0.bytes)) } }
            guard terms.count == 1, let term = terms.first else {
                throw StrataError.invalidArgument("'\(value)' is \(terms.count) terms in field '\(name)'; delete by term needs exactly one")
            }
            // Documents in buffers the pipeline sealed are segments for this delete, as they
            // would be without the pipeline; the rest are buffered.
            drainPipeline()
            _ = try writeSealedBuffers()
            for i in segments.indices {
                guard let inv = segments[i].reader.invertedField(f), let info = try term.withUnsafeBytes({ try inv.lookup($0) }) else { continue }
                var docs = DocSet(capacity: segments[i].reader.documentCount)
                let c = try PostingsCursor.open(inv, info)
                while c.doc != PostingsCursor.exhausted { docs.insert(c.doc); try c.next() }
                if segments[i].markDeleted(docs) > 0 { uncommittedChanges = true }
            }
            if buffer.documentCount > 0 {
                pendingTermDeletes.append((f, term, buffer.documentCount))
                uncommittedChanges = true
            }
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
            if total > 0 { uncommittedChanges = true }
            return total
        }
    }

    /// Makes buffered documents visible to searchers opened afterwards (not durable). With
    /// `Options.publishRefreshes`, also writes a refresh point carrying `userData` (default:
    /// the last commit's), so other processes' searchers see the same state.
    public func refresh(userData: [String: String]? = nil) throws {
        try lock.withLock {
            try checkOpen()
            try flushBuffer()
            if options.publishRefreshes { try publishLocked(userData: userData ?? committed.userData) }
        }
        merger?.wake()
    }

    /// Writes a refresh point of the writer's current segments (not fsync'd). Caller holds the lock.
    private func publishLocked(userData: [String: String]) throws {
        let stateChanged = published.map { p in p.segments.map(\.number) != segments.map(\.entry.number) || p.userData != userData }
            ?? (segments.map(\.entry.number) != committed.segments.map(\.number) || userData != committed.userData)
        if !stateChanged && !segments.contains(where: \.deletesUnpublished) { return }
        let generation = lastGeneration + 1
        let gen = UInt32(truncatingIfNeeded: generation)
        for i in segments.indices where segments[i].deletesUnpublished {
            let name = SearchIndexFiles.deletes(segments[i].entry.name, generation: gen)
            try FileSystem.writeAtomically(DeletesFile.encode(segments[i].pending!), to: directory + "/" + name, durable: false)
            unsynced.insert(name)
            segments[i].publishedDeleteGeneration = gen
            segments[i].deletesUnpublished = false
        }
        var entries = segments.map(\.entry)
        for i in entries.indices { entries[i].deleteGeneration = segments[i].publishedDeleteGeneration }
        let point = Manifest(generation: generation, nextSegmentNumber: nextSegment, schema: schema, segments: entries, userData: userData)
        try FileSystem.writeAtomically(point.encode(), to: directory + "/" + Manifest.refreshFileName(generation), durable: false)
        lastGeneration = generation
        published = point
        try removeUnreferencedFiles()
    }

    /// A point-in-time searcher over every refreshed or committed segment (buffered documents
    /// are not included; call `refresh()` first).
    public func searcher() -> IndexSearcher {
        lock.withLock { snapshotLocked() }
    }

    /// Makes everything added and deleted so far durable, with `userData` stored in the
    /// manifest (replacing the previous commit's). Steps: flush the buffer; write changed
    /// deletes under a new generation; fsync every file the new manifest names that is not yet
    /// synced, then the directory; write `manifest-<generation>` (temp file, fsync, rename,
    /// directory fsync) — the commit point; then remove files no longer referenced. Then
    /// merges run if the policy asks for them (in the background with
    /// `Options.backgroundMerges`); a merge failure after the commit point is in the returned
    /// report, not thrown.
    @discardableResult
    public func commit(userData: [String: String]? = nil) throws -> CommitReport {
        let generation = try lock.withLock {
            try checkOpen()
            try commitLocked(userData: userData ?? committed.userData)
            return committed.generation
        }
        var report = CommitReport(generation: generation, mergedSegments: 0, mergeError: nil)
        if let merger {
            merger.wake()
            return report
        }
        // The commit is durable: a merge failing now (e.g. a full disk) is reported, not thrown —
        // the caller must not take the commit for failed. The merge is retried next time.
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

    /// Waits until background merging has nothing left to do: no merge running and none the
    /// policy would pick (tantivy's `wait_merging_threads`, Lucene's `waitForMerges`). Merges
    /// finished since the last commit are committed by the next `commit()`. Returns at once
    /// without `Options.backgroundMerges`.
    public func waitForMerges() {
        merger?.waitUntilIdle()
    }

    /// Runs the merge policy now on the calling thread (merges commit themselves); returns how
    /// many segments merged. Waits for a background merge in progress first.
    @discardableResult
    public func merge() throws -> Int {
        try lock.withLock { try checkOpen() }
        merger?.pause()
        defer { merger?.resume() }
        return try maybeMerge()
    }

    func commitLocked(userData: [String: String]) throws {
        try flushBuffer()
        try hook?("flushed")
        let generation = lastGeneration + 1
        let gen = UInt32(truncatingIfNeeded: generation)
        for i in segments.indices where segments[i].deletesDirty {
            try FileSystem.writeAtomically(DeletesFile.encode(segments[i].pending!), to: directory + "/" + SearchIndexFiles.deletes(segments[i].entry.name, generation: gen))
            segments[i].entry.deleteGeneration = gen
        }
        // Segment files were written without fsync: sync those this commit names first.
        var synced = false
        for s in segments {
            for name in s.files(deleteGeneration: 0) where unsynced.contains(name) {
                try FileSystem.syncFile(directory + "/" + name)
                unsynced.remove(name)
                synced = true
            }
        }
        if synced { try FileSystem.syncDirectory(directory) }
        try hook?("deletes-written")
        let next = Manifest(generation: generation, nextSegmentNumber: nextSegment, schema: schema, segments: segments.map(\.entry), userData: userData)
        try FileSystem.writeAtomically(next.encode(), to: directory + "/" + Manifest.fileName(generation))
        try hook?("manifest-written")
        lastGeneration = generation
        committed = next
        published = nil
        for i in segments.indices {
            segments[i].deletesDirty = false
            segments[i].deletesUnpublished = false
            segments[i].publishedDeleteGeneration = segments[i].entry.deleteGeneration
        }
        uncommittedChanges = false
        try removeUnreferencedFiles()
        try hook?("cleaned")
    }

    /// Removes files that neither the last commit, the latest refresh point, the writer's
    /// segments nor a merge in progress use. Caller holds the lock (or is the initializer).
    private func removeUnreferencedFiles() throws {
        var keep: Set<String> = [SearchIndexFiles.lock, Manifest.fileName(committed.generation)]
        for s in segments {
            for f in s.files(deleteGeneration: s.entry.deleteGeneration) { keep.insert(f) }
            if s.publishedDeleteGeneration != 0 { keep.insert(SearchIndexFiles.deletes(s.entry.name, generation: s.publishedDeleteGeneration)) }
        }
        for m in [committed, published].compactMap({ $0 }) {
            for e in m.segments {
                for f in e.invertedFields { keep.insert(SearchIndexFiles.inverted(e.name, field: f)) }
                keep.insert(SearchIndexFiles.docValues(e.name))
                if e.deleteGeneration != 0 { keep.insert(SearchIndexFiles.deletes(e.name, generation: e.deleteGeneration)) }
            }
        }
        if let published { keep.insert(Manifest.refreshFileName(published.generation)) }
        let inFlight = mergeOutput.map { Manifest.segmentName($0) + "." }
        for name in try FileSystem.list(directory) where !keep.contains(name) && !name.hasPrefix(".") {
            if let inFlight, name.hasPrefix(inFlight) { continue }
            if removing.contains(name) { continue }
            if let janitor {
                removing.insert(name)
                janitor.remove(directory + "/" + name)
            } else {
                try FileSystem.remove(directory + "/" + name)
            }
            unsynced.remove(name)
        }
        if removing.count > 4096 { removing.removeAll() } // a name that is still listed is queued again
    }

    // MARK: merging

    /// Merges until at most `maxSegments` remain, dropping deleted documents, and commits.
    /// Waits for a background merge in progress first.
    public func forceMerge(maxSegments: Int = 1) throws {
        try lock.withLock { try checkOpen() }
        merger?.pause()
        defer { merger?.resume() }
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
        let (docs, fields, _) = try SegmentMerger.merge(inputs, schema: schema, directory: directory, name: Manifest.segmentName(number), sort: indexSort)
        var kept = segments.enumerated().filter { !chosen.contains($0.offset) }.map(\.element)
        if docs > 0 {
            let reader = try SegmentReader(directory: directory, number: number, documentCount: docs, invertedFields: fields)
            let live = Live(entry: Manifest.SegmentEntry(number: number, documentCount: docs, deletedCount: 0, deleteGeneration: 0, invertedFields: fields), reader: reader)
            unsynced.formUnion(live.files(deleteGeneration: 0))
            kept.insert(live, at: chosen[0])
        }
        segments = kept
    }

    /// Records the files of a segment a background merge wrote (not yet synced). Caller holds the lock.
    func noteUnsynced(_ live: Live) { unsynced.formUnion(live.files(deleteGeneration: 0)) }

    /// Segment count and total files size (tests, tools, benchmarks).
    public var segmentCount: Int { lock.withLock { segments.count } }

    /// Checks the whole-file CRC of every segment file the index reads (opening checks only
    /// files up to 256 KiB in full, and the structure of the rest; merges check their inputs):
    /// `StrataError.corrupt` naming the damaged file. Reads every page of the index.
    public func checkIntegrity() throws {
        let readers = try lock.withLock {
            try checkOpen()
            return segments.map(\.reader)
        }
        for r in readers { try r.verifyIntegrity() }
    }
    public func sizeOnDisk() -> Int64 {
        lock.withLock { segments.reduce(0) { $0 + $1.reader.sizeOnDisk(directory: directory) } }
    }
}
