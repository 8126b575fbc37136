import ArgumentParser
import Foundation
import Strata

struct Dump: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Describe segment files like kafka-dump-log: batches, offsets, codec, CRC validity, index entries.",
        discussion: "PATH is a .log, .index or .timeindex file, or a partition directory. Exits 1 when damage is found.")

    @Argument(help: "A segment file or a partition directory.")
    var path: String

    @Flag(help: "Also print every record.")
    var records = false

    @Flag(help: "One JSON object per line.")
    var json = false

    func run() throws {
        var damaged = false
        try reportingErrors {
            var files: [String] = []
            if FileSystem.isDirectory(path) {
                files = try FileSystem.list(path).filter { $0.hasSuffix(".log") || $0.hasSuffix(".index") || $0.hasSuffix(".timeindex") }.map { path + "/" + $0 }
            } else {
                files = [path]
            }
            for f in files {
                if !json { print("Dumping \(f)") }
                // A quarantine file (`<segment>.log.quarantine-…`) holds batches of that segment.
                if f.hasSuffix(".log") || f.contains(".log.quarantine-") { damaged = try dumpLog(f) || damaged }
                else if f.hasSuffix(".timeindex") { try dumpIndex(f, entrySize: 12) }
                else if f.hasSuffix(".index") { try dumpIndex(f, entrySize: 8) }
                else { throw StrataError.invalidArgument("\(f) is not a .log, .index, .timeindex or quarantine file") }
            }
        }
        if damaged { throw ExitCode(1) }
    }

    func baseOffset(of file: String) -> Int64 {
        let name = FileSystem.lastComponent(file)
        return Int64(name.prefix(while: { $0 != "." })) ?? 0
    }

    func dumpIndex(_ file: String, entrySize: Int) throws {
        let bytes = try DataFile(path: file, flags: O_RDONLY).readAll()
        let base = baseOffset(of: file)
        try bytes.withUnsafeBytes { buf in
            let n = buf.count / entrySize
            for i in 0 ..< n {
                let p = buf.baseAddress! + i * entrySize
                if entrySize == 8 {
                    let rel = p.loadBE(at: 0, as: Int32.self), pos = p.loadBE(at: 4, as: Int32.self)
                    if pos == 0 { break } // preallocated tail (position 0 is never indexed)
                    print(json ? "{\"offset\":\(base + Int64(rel)),\"position\":\(pos)}" : "offset: \(base + Int64(rel)) position: \(pos)")
                } else {
                    let ts = p.loadBE(at: 0, as: Int64.self), rel = p.loadBE(at: 8, as: Int32.self)
                    if ts == 0 && rel == 0 { break } // preallocated tail
                    print(json ? "{\"timestamp\":\(ts),\"offset\":\(base + Int64(rel))}" : "timestamp: \(ts) offset: \(base + Int64(rel))")
                }
            }
            if buf.count % entrySize != 0 {
                throw StrataError.corrupt(file: file, position: Int64(n * entrySize), reason: "\(buf.count % entrySize) trailing bytes (size not a multiple of \(entrySize))")
            }
        }
    }

    /// Returns true when damage was found.
    func dumpLog(_ file: String) throws -> Bool {
        let handle = try DataFile(path: file, flags: O_RDONLY)
        let size = Int(try handle.size())
        guard size > 0 else { return false }
        let region = try MappedRegion(file: handle, length: size)
        let data = region.bytes(count: size)
        let codecs = Codecs()
        let buffer = ByteWriter()
        var pos = 0
        var damaged = false
        while pos < size {
            let probe: RecordBatchView.Probe
            do { probe = try RecordBatchView.probe(data, at: pos, file: file) } catch {
                print(json ? "{\"error\":\(jsonQuoted("\(error)"))}" : "error: \(error)")
                return true
            }
            guard case .batch(let b) = probe else {
                let msg = "truncated batch at position \(pos): \(size - pos) bytes remain"
                print(json ? "{\"error\":\(jsonQuoted(msg))}" : msg)
                return true
            }
            let h = b.header
            let valid = b.isChecksumValid
            damaged = damaged || !valid
            let lastSeq = h.baseSequence < 0 ? -1 : h.baseSequence &+ h.lastOffsetDelta
            if json {
                print("{\"baseOffset\":\(h.baseOffset),\"lastOffset\":\(h.lastOffset),\"count\":\(h.recordCount),\"baseSequence\":\(h.baseSequence),\"lastSequence\":\(lastSeq),\"producerId\":\(h.producerId),\"producerEpoch\":\(h.producerEpoch),\"partitionLeaderEpoch\":\(h.partitionLeaderEpoch),\"isTransactional\":\(h.isTransactional),\"isControl\":\(h.isControl),\"position\":\(pos),\"timestampType\":\"\(h.timestampType.kafkaName)\",\"maxTimestamp\":\(h.maxTimestamp),\"size\":\(h.sizeInBytes),\"magic\":\(h.magic),\"compresscodec\":\"\(h.codec?.description ?? "unknown(\(h.codecId))")\",\"crc\":\(h.crc),\"isvalid\":\(valid)}")
            } else {
                print("baseOffset: \(h.baseOffset) lastOffset: \(h.lastOffset) count: \(h.recordCount) baseSequence: \(h.baseSequence) lastSequence: \(lastSeq) producerId: \(h.producerId) producerEpoch: \(h.producerEpoch) partitionLeaderEpoch: \(h.partitionLeaderEpoch) isTransactional: \(h.isTransactional) isControl: \(h.isControl) position: \(pos) \(h.timestampType.kafkaName): \(h.maxTimestamp) size: \(h.sizeInBytes) magic: \(h.magic) compresscodec: \(h.codec?.description ?? "unknown(\(h.codecId))") crc: \(h.crc) isvalid: \(valid)")
            }
            if records && valid {
                do {
                    var it = try BatchRecordIterator(batch: b, codecs: codecs, buffer: buffer, file: file)
                    while let r = try it.next() {
                        if json {
                            print("{\"offset\":\(r.offset),\"timestamp\":\(r.timestamp),\"keySize\":\(r.key.map { $0.count } ?? -1),\"valueSize\":\(r.value.map { $0.count } ?? -1),\"headers\":\(r.headerCount),\"key\":\(jsonBytes(r.key)),\"payload\":\(jsonBytes(r.value))}")
                        } else {
                            print("| offset: \(r.offset) \(h.timestampType.kafkaName): \(r.timestamp) keySize: \(r.key.map { $0.count } ?? -1) valueSize: \(r.value.map { $0.count } ?? -1) headerKeys: [\(r.headers().map(\.key).joined(separator: ","))] key: \(displayBytes(r.key)) payload: \(displayBytes(r.value))")
                        }
                    }
                } catch {
                    print(json ? "{\"error\":\(jsonQuoted("\(error)"))}" : "error: \(error)")
                    damaged = true
                }
            }
            pos += h.sizeInBytes
        }
        return damaged
    }
}
