#!/usr/bin/env python3
"""Print golden record-batch vectors produced by kafka-python's DefaultRecordBatchBuilder.

Usage:
    python3 golden_vectors.py > golden_vectors.json

Two tiny uncompressed magic-2 batches (CreateTime, producerId -1, producerEpoch -1,
baseSequence -1, not transactional):
  a) baseOffset 0, two records:
       offset 0, timestamp 1700000000000, key b"k1", value b"hello", no headers
       offset 1, timestamp 1700000000005, key None, value b"world", header ("h", b"v")
  b) baseOffset 100, one record (a tombstone):
       offset 100, timestamp 1700000000000, key b"key", value None, no headers

kafka-python's build() always writes baseOffset 0 and partitionLeaderEpoch 0 (both are
broker-assigned). For (b) this script patches baseOffset to 100 afterwards; baseOffset is
not covered by the CRC (CRC-32C over bytes 21..end), so the CRC is unchanged.
Each entry carries the batch hex, the decoded header fields, the hex of the record
section (bytes 61..end), each record's own bytes and the inputs used.
"""

import json
import struct
import sys

import crc32c
from kafka.record.default_records import DefaultRecordBatchBuilder
from kafka.record.util import decode_varint

HEADER = struct.Struct(">qiibIhiqqqhii")
FIELDS = ("baseOffset", "batchLength", "partitionLeaderEpoch", "magic", "crc",
          "attributes", "lastOffsetDelta", "firstTimestamp", "maxTimestamp",
          "producerId", "producerEpoch", "baseSequence", "recordCount")


def hex_or_null(data):
    return None if data is None else bytes(data).hex()


def build(base_offset, records):
    builder = DefaultRecordBatchBuilder(
        magic=2, compression_type=0, is_transactional=False,
        producer_id=-1, producer_epoch=-1, base_sequence=-1, batch_size=1 << 20)
    for delta, (ts, key, value, headers) in enumerate(records):
        builder.append(delta, timestamp=ts, key=key, value=value, headers=headers)
    buf = bytearray(builder.build())
    struct.pack_into(">q", buf, 0, base_offset)
    return bytes(buf)


def split_records(section, count):
    """Slice the uncompressed record section into the bytes of each record."""
    out, pos = [], 0
    for _ in range(count):
        length, body = decode_varint(section, pos)
        out.append(section[pos:body + length].hex())
        pos = body + length
    assert pos == len(section)
    return out


def vector(base_offset, records):
    raw = build(base_offset, records)
    fields = dict(zip(FIELDS, HEADER.unpack_from(raw, 0)))
    assert fields["crc"] == crc32c.crc32c(raw[21:])
    assert fields["batchLength"] == len(raw) - 12
    entry = {"hex": raw.hex(), "size": len(raw)}
    entry.update(fields)
    entry.update({
        "lastOffset": base_offset + fields["lastOffsetDelta"],
        "codec": "none",
        "timestampType": 0,
        "isTransactional": False,
        "isControl": False,
        "headerHex": raw[:61].hex(),
        "recordsHex": raw[61:].hex(),
        "recordHex": split_records(raw[61:], fields["recordCount"]),
        "records": [{
            "offset": base_offset + i,
            "timestamp": ts,
            "key": hex_or_null(key),
            "value": hex_or_null(value),
            "headers": [{"key": hk, "value": hex_or_null(hv)} for hk, hv in headers],
        } for i, (ts, key, value, headers) in enumerate(records)],
    })
    return entry


def main():
    doc = {
        "generator": "kafka-python DefaultRecordBatchBuilder (magic 2), uncompressed",
        "notes": [
            "kafka-python writes partitionLeaderEpoch 0 (a real broker overwrites it "
            "with the leader epoch; the field is outside the CRC)",
            "kafka-python writes baseOffset 0; vector b had baseOffset patched to 100 "
            "after build(), which leaves the CRC unchanged",
            "crc is CRC-32C (Castagnoli) of bytes 21..end, stored big-endian unsigned",
        ],
        "a": vector(0, [
            (1700000000000, b"k1", b"hello", []),
            (1700000000005, None, b"world", [("h", b"v")]),
        ]),
        "b": vector(100, [
            (1700000000000, b"key", None, []),
        ]),
    }
    json.dump(doc, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
