#!/usr/bin/env python3
"""Decode every Kafka segment (*.log) in a partition directory with kafka-python.

Usage:
    python3 kafka_read_segments.py PARTITION_DIR

Prints one JSON document on stdout:

    {"segments": [{"file": "00000000000000000000.log",
                   "error": null,
                   "batches": [{"baseOffset": 0, "lastOffset": 9, "crcValid": true,
                                "crc": 123456, "codec": "none", "attributes": 0,
                                "producerId": -1, "producerEpoch": -1, "baseSequence": -1,
                                "partitionLeaderEpoch": 0, "isTransactional": false,
                                "isControl": false, "timestampType": 0,
                                "firstTimestamp": 0, "maxTimestamp": 0,
                                "records": [{"offset": 0, "timestamp": 0,
                                             "key": "<hex>|null", "value": "<hex>|null",
                                             "headers": [{"key": "<utf-8>",
                                                          "value": "<hex>|null"}]}]}]}],
     "error": null}

Batch and record fields come from kafka-python's accessors (kafka.record.MemoryRecords /
DefaultRecordBatch). partitionLeaderEpoch is taken from the raw 61-byte v2 header, which
this script also decodes itself with `struct` and cross-checks against every accessor.

Problems never crash the script: they are reported as a string in the segment's "error"
field (extra key; null when the segment is clean) and summarised in the top-level
"error" field. Examples: a trailing partial batch, a batch whose records cannot be
decoded, an unsupported codec or magic, accessor/header mismatches.

Exit status: 0 whenever the directory exists (even if errors were reported),
2 if PARTITION_DIR is missing or not a directory, 64 on bad usage.
Requires: kafka-python (3.0.12), lz4, crc32c, zstandard, python-snappy; Python 3.11 standard library otherwise.
"""

import json
import os
import struct
import sys

from kafka.record import MemoryRecords

# Big-endian v2 record batch header, 61 bytes.
V2_HEADER = struct.Struct(">qiibIhiqqqhii")
V2_HEADER_FIELDS = (
    "baseOffset",            # int64  @0
    "batchLength",           # int32  @8
    "partitionLeaderEpoch",  # int32  @12
    "magic",                 # int8   @16
    "crc",                   # uint32 @17
    "attributes",            # int16  @21
    "lastOffsetDelta",       # int32  @23
    "baseTimestamp",         # int64  @27
    "maxTimestamp",          # int64  @35
    "producerId",            # int64  @43
    "producerEpoch",         # int16  @51
    "baseSequence",          # int32  @53
    "recordCount",           # int32  @57
)
assert V2_HEADER.size == 61

LOG_OVERHEAD = 12  # baseOffset(8) + batchLength(4); batchLength counts the bytes after it
MAGIC_OFFSET = 16

CODEC_NAMES = {0: "none", 1: "gzip", 2: "snappy", 3: "lz4", 4: "zstd"}


def codec_name(code):
    return CODEC_NAMES.get(code, "unknown(%d)" % code)


def hex_or_null(data):
    return None if data is None else bytes(data).hex()


def exc_name(exc):
    cls = type(exc)
    return cls.__name__ if cls.__module__ == "builtins" else "%s.%s" % (cls.__module__, cls.__name__)


def decode_raw_header(data, pos):
    """Decode the v2 header at `pos` ourselves. Returns a dict or None if too short."""
    if len(data) - pos < V2_HEADER.size:
        return None
    return dict(zip(V2_HEADER_FIELDS, V2_HEADER.unpack_from(data, pos)))


def record_to_json(record):
    headers = []
    for h_key, h_value in record.headers:
        # kafka-python returns headers as a list of (str, bytes|None) tuples.
        headers.append({"key": h_key, "value": hex_or_null(h_value)})
    return {
        "offset": record.offset,
        "timestamp": record.timestamp,
        "key": hex_or_null(record.key),
        "value": hex_or_null(record.value),
        "headers": headers,
    }


def cross_check(batch, raw):
    """Compare kafka-python's accessors with our own header decode."""
    pairs = (
        ("baseOffset", batch.base_offset, raw["baseOffset"]),
        ("partitionLeaderEpoch", batch.leader_epoch, raw["partitionLeaderEpoch"]),
        ("crc", batch.crc, raw["crc"]),
        ("attributes", batch.attributes, raw["attributes"]),
        ("lastOffsetDelta", batch.last_offset_delta, raw["lastOffsetDelta"]),
        ("firstTimestamp", batch.first_timestamp, raw["baseTimestamp"]),
        ("maxTimestamp", batch.max_timestamp, raw["maxTimestamp"]),
        ("producerId", batch.producer_id, raw["producerId"]),
        ("producerEpoch", batch.producer_epoch, raw["producerEpoch"]),
        ("baseSequence", batch.base_sequence, raw["baseSequence"]),
        ("recordCount", batch.records_count, raw["recordCount"]),
    )
    return ["%s: kafka-python=%r header=%r" % (name, got, want)
            for name, got, want in pairs if got != want]


def batch_to_json(batch, raw, problems, where):
    crc_valid = bool(batch.validate_crc())  # must happen before iterating records
    out = {
        "baseOffset": batch.base_offset,
        "lastOffset": batch.base_offset + batch.last_offset_delta,
        "crcValid": crc_valid,
        "crc": batch.crc,
        "codec": codec_name(batch.compression_type),
        "attributes": batch.attributes,
        "producerId": batch.producer_id,
        "producerEpoch": batch.producer_epoch,
        "baseSequence": batch.base_sequence,
        "partitionLeaderEpoch": raw["partitionLeaderEpoch"],
        "isTransactional": bool(batch.is_transactional),
        "isControl": bool(batch.is_control_batch),
        "timestampType": batch.timestamp_type,
        "firstTimestamp": batch.first_timestamp,
        "maxTimestamp": batch.max_timestamp,
        "records": [],
    }
    for msg in cross_check(batch, raw):
        problems.append("%s: header mismatch %s" % (where, msg))
    try:
        for record in batch:
            out["records"].append(record_to_json(record))
    except Exception as exc:  # corrupt records, missing codec, bad control key...
        problems.append("%s: cannot decode records after %d of %d: %s: %s" % (
            where, len(out["records"]), raw["recordCount"], exc_name(exc), exc))
    else:
        if len(out["records"]) != raw["recordCount"]:
            problems.append("%s: decoded %d records but header says %d" % (
                where, len(out["records"]), raw["recordCount"]))
    return out


def read_segment(path):
    with open(path, "rb") as fh:
        data = fh.read()
    batches = []
    problems = []
    pos = 0  # file position of the batch the iterator will return next
    records = MemoryRecords(data)
    while True:
        try:
            batch = records.next_batch()
        except Exception as exc:  # e.g. declared length below the minimum overhead
            tail = data[pos:]
            zero_note = (" (all %d remaining bytes are zero: preallocated/unused tail?)"
                         % len(tail)) if not tail.strip(b"\0") else ""
            problems.append("file position %d: unreadable batch: %s: %s%s" % (
                pos, exc_name(exc), exc, zero_note))
            return batches, problems, pos
        if batch is None:
            break
        raw = decode_raw_header(data, pos)
        size = LOG_OVERHEAD + struct.unpack_from(">i", data, pos + 8)[0]
        where = "batch at file position %d" % pos
        magic = data[pos + MAGIC_OFFSET]
        if magic != 2 or raw is None:
            problems.append("%s: magic %d batch (%d bytes) skipped; only v2 is reported" % (
                where, magic, size))
        else:
            where += " (baseOffset %d)" % raw["baseOffset"]
            batches.append(batch_to_json(batch, raw, problems, where))
        pos += size

    if pos != len(data):
        remaining = len(data) - pos
        if remaining >= LOG_OVERHEAD:
            declared = struct.unpack_from(">i", data, pos + 8)[0]
            detail = "declared batch length %d needs %d bytes" % (
                declared, LOG_OVERHEAD + declared)
        else:
            detail = "shorter than the 12-byte log overhead"
        problems.append("trailing partial batch at file position %d: %d bytes left, %s" % (
            pos, remaining, detail))
    return batches, problems, pos


def main(argv):
    if len(argv) != 2:
        sys.stderr.write("usage: %s PARTITION_DIR\n" % os.path.basename(argv[0]))
        return 64
    directory = argv[1]
    if not os.path.isdir(directory):
        msg = "partition directory not found: %s" % directory
        sys.stderr.write(msg + "\n")
        print(json.dumps({"segments": [], "error": msg}))
        return 2

    segments = []
    all_problems = []
    for name in sorted(n for n in os.listdir(directory) if n.endswith(".log")):
        path = os.path.join(directory, name)
        if not os.path.isfile(path):
            continue
        try:
            batches, problems, _ = read_segment(path)
        except Exception as exc:  # I/O errors and anything unforeseen
            batches, problems = [], ["%s: %s" % (exc_name(exc), exc)]
        error = "; ".join(problems) if problems else None
        segments.append({"file": name, "batches": batches, "error": error})
        if error:
            all_problems.append("%s: %s" % (name, error))

    doc = {"segments": segments, "error": "; ".join(all_problems) if all_problems else None}
    json.dump(doc, sys.stdout, separators=(",", ":"))
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
