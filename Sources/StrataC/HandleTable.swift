import CStrata
import StrataIO

/// The kinds of C handle; a handle of one kind passed where another is expected is misuse.
enum HandleKind: UInt {
    case store = 1, options, batch, cursor, hits
}

/// The pages of `HandleTable.shared` (nil until it exists: then no handle is live).
nonisolated(unsafe) private var handlePages: UnsafeMutablePointer<UnsafeMutablePointer<HandleTable.Slot>?>? = nil

/// C handles are tokens, not pointers: `1 | kind << 1 | slot << 4 | generation << 28`. The
/// library never dereferences what C passes; a token is looked up in a table of slots, and a
/// stale token (its object closed, the slot reused with a new generation), a token of another
/// kind, NULL or any foreign value fails the lookup — `STRATA_MISUSE` instead of a crash.
/// Lookups take no lock (two loads and compares): iterators are used by one thread at a time,
/// and a store must not be closed while other threads call it (the header says both).
final class HandleTable: @unchecked Sendable {
    struct Slot {
        var generation: UInt32
        var kind: UInt8
        var object: UnsafeMutableRawPointer?
    }

    static let shared = HandleTable()
    fileprivate static let pageSize = 4096, pageCount = 4096

    private let pages: UnsafeMutablePointer<UnsafeMutablePointer<Slot>?>
    private let lock = Lock()
    private var used = 0
    private var free: [Int] = []

    private init() {
        pages = .allocate(capacity: Self.pageCount)
        pages.initialize(repeating: nil, count: Self.pageCount)
        handlePages = pages
    }

    @inline(__always) fileprivate static func slot(_ index: Int, in pages: UnsafeMutablePointer<UnsafeMutablePointer<Slot>?>) -> UnsafeMutablePointer<Slot>? {
        let page = index / pageSize
        guard page < pageCount, let p = pages[page] else { return nil }
        return p + index % pageSize
    }

    @inline(__always) private func slot(_ index: Int) -> UnsafeMutablePointer<Slot>? { Self.slot(index, in: pages) }

    /// Registers `object` (retained) and returns its token; nil when the table is full.
    func insert(_ object: AnyObject, kind: HandleKind) -> OpaquePointer? {
        lock.withLock {
            let index: Int
            if let f = free.popLast() { index = f } else {
                guard used < Self.pageSize * Self.pageCount else { return nil }
                index = used
                used += 1
                if pages[index / Self.pageSize] == nil {
                    let page = UnsafeMutablePointer<Slot>.allocate(capacity: Self.pageSize)
                    page.initialize(repeating: Slot(generation: 0, kind: 0, object: nil), count: Self.pageSize)
                    pages[index / Self.pageSize] = page
                }
            }
            let s = slot(index)!
            s.pointee.generation &+= 1
            if s.pointee.generation == 0 { s.pointee.generation = 1 }
            s.pointee.kind = UInt8(kind.rawValue)
            s.pointee.object = Unmanaged.passRetained(object).toOpaque()
            let token = 1 | kind.rawValue << 1 | UInt(index) << 4 | UInt(s.pointee.generation) << 28
            return OpaquePointer(bitPattern: token)
        }
    }

    /// The live object of `handle` if it is one of `kind` (not retained: valid while the handle
    /// is). Reads the table through `handlePages`, a global with a constant initializer: no
    /// lazy-initialization check (swift_once) on every C call, as `shared` would cost.
    @inline(__always) static func object(_ handle: OpaquePointer?, _ kind: HandleKind) -> UnsafeMutableRawPointer? {
        guard let handle, let pages = handlePages else { return nil }
        let token = UInt(bitPattern: Int(bitPattern: UnsafeRawPointer(handle)))
        guard token & 1 == 1, (token >> 1) & 7 == kind.rawValue else { return nil }
        let index = Int((token >> 4) & 0xFF_FFFF)
        guard let s = slot(index, in: pages), s.pointee.kind == UInt8(kind.rawValue),
              s.pointee.generation == UInt32(truncatingIfNeeded: token >> 28), token >> 60 == 0 else { return nil }
        return s.pointee.object
    }

    /// Unregisters `handle` and returns its object (retained once, for the caller to release);
    /// nil when it is not a live handle of `kind`.
    func remove(_ handle: OpaquePointer?, _ kind: HandleKind) -> Unmanaged<AnyObject>? {
        lock.withLock {
            guard let raw = Self.object(handle, kind) else { return nil }
            let token = UInt(bitPattern: Int(bitPattern: UnsafeRawPointer(handle!)))
            let index = Int((token >> 4) & 0xFF_FFFF)
            let s = slot(index)!
            s.pointee.object = nil
            s.pointee.generation &+= 1
            free.append(index)
            return Unmanaged<AnyObject>.fromOpaque(raw)
        }
    }
}

/// Closes or frees handle `h` of `kind` (the C `*_close` / `*_free` functions that need no
/// other work): NULL is STRATA_OK, a handle that is not live STRATA_MISUSE_HANDLE.
func releaseHandle(_ h: OpaquePointer?, _ kind: HandleKind) -> Int32 {
    guard let h else { return STRATA_OK }
    guard let object = HandleTable.shared.remove(h, kind) else { return STRATA_MISUSE_HANDLE }
    object.release()
    return STRATA_OK
}

/// Looks up a handle and runs `body` with its object, without reference counting.
@inline(__always)
func withHandle<T: AnyObject, R>(_ handle: OpaquePointer?, _ kind: HandleKind, as: T.Type, _ body: (T) -> R, invalid: () -> R) -> R {
    guard let raw = HandleTable.object(handle, kind) else { return invalid() }
    return Unmanaged<T>.fromOpaque(raw)._withUnsafeGuaranteedRef(body)
}
