#!/usr/bin/env python3
"""Write a Kafka segment built with kafka-python's DefaultRecordBatchBuilder (magic 2).

Usage:
    python3 kafka_build_batches.py OUT_LOG_FILE OUT_JSON

OUT_LOG_FILE receives record batches back to back, with consecutive base offsets
starting at 0 (name it e.g. DIR/00000000000000000000.log so kafka_read_segments.py
can read DIR). OUT_JSON receives the *expected* description of that file, in the same
schema kafka_read_segments.py prints (one segment, every batch crcValid true):

    {"segments": [{"file": "<basename of OUT_LOG_FILE>", "error": null,
                   "batches": [{"baseOffset", "lastOffset", "crcValid", "crc", "codec",
                                "attributes", "producerId", "producerEpoch",
                                "baseSequence", "partitionLeaderEpoch",
                                "isTransactional", "isControl", "timestampType",
                                "firstTimestamp", "maxTimestamp",
                                "records": [{"offset", "timestamp", "key", "value",
                                             "headers": [{"key", "value"}]}]}]}],
     "error": null}

The expected values come from what this script asked the builder to write (record
inputs, producer state, codec), not from re-reading the output; the CRC is recomputed
independently with the crc32c package and checked against the one kafka-python wrote.

Batches (fixed seed, so the output is byte-for-byte reproducible):
  0. uncompressed, 60 records      3. idempotent: producerId 1234, epoch 5, baseSequence 42
  1. gzip, 60 records              4. transactional: producerId 77, epoch 0, baseSequence 0
  2. lz4, 60 records, > 64 KiB of values, so the LZ4 frame holds several 64 KiB blocks
  5. zstd, 60 records, > 64 KiB of values (kafka-python's zstd_encode: one zstandard frame)
  6. snappy, 60 records, > 64 KiB of values, xerial framing (kafka-python's snappy_encode, as
     Kafka's Java producer writes it: a 16-byte header, then 32 KiB blocks)
  7. snappy, 60 records, raw (one snappy block without framing, as librdkafka writes it)
The codec batches mix null/non-null keys, null/empty/binary (all 256 byte values)
values, 0/1/3 headers (one header value null), and timestamps that rise overall but
dip inside the batch (maxTimestamp != last record's timestamp; batch 0 also has a record
older than its first record, i.e. a negative timestamp delta).

gzip: kafka-python stamps the current time into the gzip header's MTIME field; for
reproducibility this script makes it 0 while building (see reproducible_gzip()).

kafka-python's build() always writes baseOffset 0 and partitionLeaderEpoch 0 (fields the
broker assigns). This script patches baseOffset (bytes 0-7) afterwards; it is outside the
CRC, which covers bytes 21..end (attributes onwards). partitionLeaderEpoch is left at 0.
"""

import contextlib
import gzip
import json
import os
import random
import struct
import sys

import crc32c
import snappy
import kafka.record.default_records as default_records
from kafka.record.default_records import DefaultRecordBatchBuilder

SEED = 20240601
BASE_TIME = 1_700_000_000_000
BATCH_SIZE_LIMIT = 64 * 1024 * 1024  # never let the builder refuse an append
CODEC_NAMES = {0: "none", 1: "gzip", 2: "snappy", 3: "lz4", 4: "zstd"}
TRANSACTIONAL_BIT = 0x10
HEADER_SIZE = 61

WORDS = ["patient", "observation", "encounter", "status", "final", "amended",
         "code", "loinc", "value", "unit", "mmHg", "bpm", "kg", "subject", "ref"]


def text_blob(rng, size):
    """Compressible but not trivial bytes (words from a small vocabulary)."""
    parts = []
    total = 0
    while total < size:
        word = rng.choice(WORDS) + ("%d" % rng.randrange(1000)) + " "
        parts.append(word)
        total += len(word)
    return "".join(parts).encode("ascii")[:size]


def make_headers(rng, i):
    kind = i % 4
    if kind == 0 or kind == 2:
        return []
    if kind == 1:
        return [("trace-id", ("%016x" % rng.getrandbits(64)).encode("ascii"))]
    # three headers, one with a null value, one with a non-ASCII UTF-8 key
    return [("content-type", b"application/json"),
            ("tombstone-hint", None),
            ("r\u00e9gion", bytes([i & 0xFF, 0x00, 0xFF]))]


def make_key(rng, i):
    if i % 3 == 0:
        return None
    if i % 7 == 0:
        return b""  # empty (non-null) key
    return ("key-%04d" % i).encode("ascii")


def make_value(rng, i, big):
    if i == 5:
        return None                        # null value (tombstone)
    if i == 6:
        return b""                         # empty value
    if i == 7:
        return bytes(range(256))           # every byte value
    if i == 8:
        return bytes(rng.getrandbits(8) for _ in range(64))  # incompressible snippet
    if big and i % 5 == 0:
        return text_blob(rng, rng.randrange(10000, 22000))
    return text_blob(rng, rng.randrange(16, 300))


def make_timestamps(rng, n, start, negative_delta):
    """Rising timestamps with dips; the last one is below the running maximum."""
    stamps = []
    t = start
    for i in range(n):
        t += rng.randrange(1, 20)
        stamps.append(t)
    for i in range(9, n, 11):              # sporadic out-of-order records
        stamps[i] = stamps[i] - rng.randrange(30, 90)
    stamps[-1] = max(stamps) - 50          # maxTimestamp != last timestamp
    if negative_delta:
        stamps[3] = start - 1000           # older than the first record
    return stamps


def codec_records(rng, n, start, big, negative_delta):
    stamps = make_timestamps(rng, n, start, negative_delta)
    return [(stamps[i], make_key(rng, i), make_value(rng, i, big), make_headers(rng, i))
            for i in range(n)]


def simple_records(rng, n, start, tag):
    return [(start + 10 * i, ("%s-%d" % (tag, i)).encode("ascii"),
             text_blob(rng, 40), [("seq", str(i).encode("ascii"))] if i % 2 else [])
            for i in range(n)]


def hex_or_null(data):
    return None if data is None else bytes(data).hex()


def lz4_frame_blocks(frame):
    """Count the data blocks of an LZ4 frame (sanity check that several blocks exist)."""
    magic, = struct.unpack_from("<I", frame, 0)
    assert magic == 0x184D2204, "not an LZ4 frame: %08x" % magic
    flg = frame[4]
    pos = 4 + 2 + (8 if flg & 0x08 else 0) + (4 if flg & 0x01 else 0) + 1
    block_checksum = bool(flg & 0x10)
    blocks = 0
    while True:
        size, = struct.unpack_from("<I", frame, pos)
        pos += 4
        if size == 0:
            break
        pos += (size & 0x7FFFFFFF) + (4 if block_checksum else 0)
        blocks += 1
    pos += 4 if flg & 0x04 else 0
    assert pos == len(frame), "LZ4 frame parse ended at %d of %d" % (pos, len(frame))
    return blocks, flg


class _ZeroMtimeGzipFile(gzip.GzipFile):
    """GzipFile whose header MTIME defaults to 0 instead of the current time."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("mtime", 0)
        super().__init__(*args, **kwargs)


@contextlib.contextmanager
def reproducible_gzip():
    """kafka.codec.gzip_encode uses gzip.GzipFile without an mtime, so the 4-byte MTIME
    field of the gzip member header would hold the wall clock and change on every run.
    Swap in a GzipFile defaulting to mtime=0 while building; kafka-python's own
    compression code path (level 9, single member) is otherwise unchanged."""
    original = gzip.GzipFile
    gzip.GzipFile = _ZeroMtimeGzipFile
    try:
        yield
    finally:
        gzip.GzipFile = original


@contextlib.contextmanager
def raw_snappy(enabled):
    """kafka-python always writes snappy in xerial framing; for the raw form (librdkafka's)
    swap its encoder for python-snappy's plain snappy.compress while building."""
    original = default_records.snappy_encode
    if enabled:
        default_records.snappy_encode = snappy.compress
    try:
        yield
    finally:
        default_records.snappy_encode = original


def build_batch(spec, base_offset):
    builder = DefaultRecordBatchBuilder(
        magic=2, compression_type=spec["compression"],
        is_transactional=spec["transactional"], producer_id=spec["producerId"],
        producer_epoch=spec["producerEpoch"], base_sequence=spec["baseSequence"],
        batch_size=BATCH_SIZE_LIMIT)
    for delta, (ts, key, value, headers) in enumerate(spec["records"]):
        meta = builder.append(delta, timestamp=ts, key=key, value=value, headers=headers)
        assert meta is not None, "builder refused record %d" % delta
    with reproducible_gzip(), raw_snappy(spec.get("rawSnappy", False)):
        buf = bytearray(builder.build())
    if spec["compression"] == 2:
        xerial = bytes(buf[HEADER_SIZE:HEADER_SIZE + 8]) == b"\x82SNAPPY\x00"
        assert xerial != spec.get("rawSnappy", False), "snappy framing is not what was asked for"
    struct.pack_into(">q", buf, 0, base_offset)  # outside the CRC
    return bytes(buf)


def expected_batch(spec, base_offset, raw):
    recs = spec["records"]
    attributes = spec["compression"] | (TRANSACTIONAL_BIT if spec["transactional"] else 0)
    crc = crc32c.crc32c(raw[21:])
    written_crc, = struct.unpack_from(">I", raw, 17)
    assert crc == written_crc, "crc mismatch: computed %d, header %d" % (crc, written_crc)
    written_attributes, = struct.unpack_from(">h", raw, 21)
    assert written_attributes == attributes, (
        "attributes %d != %d (did kafka-python fall back to uncompressed?)" %
        (written_attributes, attributes))
    return {
        "baseOffset": base_offset,
        "lastOffset": base_offset + len(recs) - 1,
        "crcValid": True,
        "crc": crc,
        "codec": CODEC_NAMES[spec["compression"]],
        "attributes": attributes,
        "producerId": spec["producerId"],
        "producerEpoch": spec["producerEpoch"],
        "baseSequence": spec["baseSequence"],
        "partitionLeaderEpoch": 0,  # kafka-python always writes 0
        "isTransactional": spec["transactional"],
        "isControl": False,
        "timestampType": 0,  # CreateTime; the builder never sets LogAppendTime
        "firstTimestamp": recs[0][0],
        "maxTimestamp": max(r[0] for r in recs),
        "records": [{
            "offset": base_offset + i,
            "timestamp": ts,
            "key": hex_or_null(key),
            "value": hex_or_null(value),
            "headers": [{"key": hk, "value": hex_or_null(hv)} for hk, hv in headers],
        } for i, (ts, key, value, headers) in enumerate(recs)],
    }


def batch_specs(rng):
    def spec(compression, records, transactional=False, pid=-1, epoch=-1, seq=-1):
        return {"compression": compression, "records": records,
                "transactional": transactional, "producerId": pid,
                "producerEpoch": epoch, "baseSequence": seq}
    t = BASE_TIME
    return [
        spec(0, codec_records(rng, 60, t, big=False, negative_delta=True)),
        spec(1, codec_records(rng, 60, t + 10_000, big=False, negative_delta=False)),
        spec(3, codec_records(rng, 60, t + 20_000, big=True, negative_delta=False)),
        spec(0, simple_records(rng, 5, t + 30_000, "idem"), pid=1234, epoch=5, seq=42),
        spec(0, simple_records(rng, 4, t + 40_000, "txn"), transactional=True,
             pid=77, epoch=0, seq=0),
        spec(4, codec_records(rng, 60, t + 50_000, big=True, negative_delta=False)),
        spec(2, codec_records(rng, 60, t + 60_000, big=True, negative_delta=False)),
        dict(spec(2, codec_records(rng, 60, t + 70_000, big=False, negative_delta=False)), rawSnappy=True),
    ]


def main(argv):
    if len(argv) != 3:
        sys.stderr.write("usage: %s OUT_LOG_FILE OUT_JSON\n" % os.path.basename(argv[0]))
        return 64
    out_log, out_json = argv[1], argv[2]
    rng = random.Random(SEED)

    segment = bytearray()
    batches = []
    next_offset = 0
    for spec in batch_specs(rng):
        raw = build_batch(spec, next_offset)
        exp = expected_batch(spec, next_offset, raw)
        note = ""
        if spec["compression"] == 3:
            blocks, flg = lz4_frame_blocks(raw[HEADER_SIZE:])
            uncompressed = sum(DefaultRecordBatchBuilder.size_in_bytes(
                i, r[0] - spec["records"][0][0], r[1], r[2], r[3])
                for i, r in enumerate(spec["records"]))
            assert blocks >= 2, "LZ4 frame has only %d block(s)" % blocks
            note = " lz4 frame: %d blocks, FLG=0x%02x, %d uncompressed record bytes" % (
                blocks, flg, uncompressed)
        sys.stderr.write("batch baseOffset=%d records=%d codec=%s bytes=%d crc=%d%s\n" % (
            exp["baseOffset"], len(exp["records"]), exp["codec"], len(raw), exp["crc"], note))
        segment += raw
        batches.append(exp)
        next_offset = exp["lastOffset"] + 1

    with open(out_log, "wb") as fh:
        fh.write(segment)
    doc = {"segments": [{"file": os.path.basename(out_log), "batches": batches,
                         "error": None}],
           "error": None}
    with open(out_json, "w") as fh:
        json.dump(doc, fh, indent=1)
        fh.write("\n")
    sys.stderr.write("wrote %d bytes, %d batches, offsets 0..%d\n" % (
        len(segment), len(batches), next_offset - 1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
