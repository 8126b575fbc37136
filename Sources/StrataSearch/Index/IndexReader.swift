#if canImport(Glibc)
import Glibc
#endif
import StrataIO

/// Reads an index directory without its write lock — beside a writer in another process — and
/// follows it: `refresh()` opens the newest refresh point or commit when one appeared since,
/// reusing the segments it has open (segment files never change once written). Thread-safe;
/// each `searcher()` is a snapshot for one thread.
public final class IndexReader: @unchecked Sendable {
    public let directory: String
    private let lock = Lock()
    private var current: Manifest?
    private var readers: [UInt32: SegmentReader] = [:]
    private var deletes: [String: DeletedDocuments] = [:]
    private var snapshot: IndexSearcher.State?
    private var seenChange: timespec?

    /// Opens the newest state of the index in `directory`; throws `notFound` when it holds none.
    public init(directory: String) throws {
        self.directory = directory
        try lock.withLock { _ = try reloadLocked(force: true) }
    }

    /// The user data of the state opened (a log-fed index's offsets).
    public var userData: [String: String] { lock.withLock { current?.userData ?? [:] } }

    /// The generation of the state opened (commit or refresh point).
    public var generation: UInt64 { lock.withLock { current?.generation ?? 0 } }

    /// The schema of the state opened.
    public var schema: Schema? { lock.withLock { current?.schema } }

    /// Opens a newer refresh point or commit if the writer published one; returns whether the
    /// view changed. Costs one `stat` of the directory when nothing changed.
    @discardableResult
    public func refresh() throws -> Bool {
        try lock.withLock { try reloadLocked(force: false) }
    }

    /// A searcher over the state last opened.
    public func searcher() -> IndexSearcher {
        lock.withLock { IndexSearcher(state: snapshot!) }
    }

    private func directoryChange() -> timespec? {
        var st = stat()
        guard stat(directory, &st) == 0 else { return nil }
        return st.st_mtim
    }

    private func reloadLocked(force: Bool) throws -> Bool {
        let change = directoryChange()
        if !force, let change, let seen = seenChange, change.tv_sec == seen.tv_sec && change.tv_nsec == seen.tv_nsec { return false }
        var attempt = 0
        while true {
            do {
                guard FileSystem.isDirectory(directory) else {
                    throw StrataError.notFound("search index in \(directory) (no manifest; build it first)")
                }
                let names = try FileSystem.list(directory)
                // Newest first: refresh points and commits share one generation sequence.
                var candidates: [(String, UInt64)] = []
                for n in names {
                    if let g = Manifest.generation(ofFile: n) ?? Manifest.generation(ofRefreshFile: n) { candidates.append((n, g)) }
                }
                candidates.sort { $0.1 > $1.1 }
                guard !candidates.isEmpty else {
                    throw StrataError.notFound("search index in \(directory) (no manifest; build it first)")
                }
                var lastError: Error?
                for (name, g) in candidates {
                    if let current, current.generation == g, !force { seenChange = change; return false }
                    let path = directory + "/" + name
                    let m: Manifest
                    do {
                        m = try Manifest.decode(try FileSystem.readFile(path), path: path)
                        guard m.generation == g else {
                            throw StrataError.corrupt(file: path, position: 8, reason: "manifest: generation \(m.generation) inside a file named for \(g)")
                        }
                    } catch let e as StrataError {
                        // A refresh point is not durable: after a power loss it may be damaged;
                        // the commit below it is still good. A damaged commit is an error.
                        if Manifest.generation(ofRefreshFile: name) != nil, case .corrupt = e { lastError = e; continue }
                        throw e
                    }
                    try open(m)
                    seenChange = change
                    return true
                }
                throw lastError ?? StrataError.notFound("search index in \(directory)")
            } catch let StrataError.io(_, _, code) where code == ENOENT && attempt < 20 {
                attempt += 1 // the writer replaced the state or removed files meanwhile: read again
            }
        }
    }

    private func open(_ m: Manifest) throws {
        var nextReaders: [UInt32: SegmentReader] = [:]
        var nextDeletes: [String: DeletedDocuments] = [:]
        var segments: [(SegmentReader, DeletedDocuments?)] = []
        for e in m.segments {
            let reader = try readers[e.number] ?? SegmentReader(directory: directory, number: e.number, documentCount: e.documentCount, invertedFields: e.invertedFields)
            nextReaders[e.number] = reader
            var d: DeletedDocuments?
            if e.deleteGeneration != 0 {
                let name = SearchIndexFiles.deletes(e.name, generation: e.deleteGeneration)
                d = try deletes[name] ?? DeletesFile.read(path: directory + "/" + name, documents: e.documentCount, deleted: e.deletedCount)
                nextDeletes[name] = d
            }
            segments.append((reader, d))
        }
        readers = nextReaders
        deletes = nextDeletes
        current = m
        snapshot = IndexSearcher.State(schema: m.schema, segments: segments)
    }
}
