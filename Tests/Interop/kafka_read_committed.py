#!/usr/bin/env python3
"""Read a partition directory as a Kafka consumer with isolation.level=read_committed would.

Usage:
    python3 kafka_read_committed.py PARTITION_DIR LAST_STABLE_OFFSET

A broker answers a read_committed fetch with the log's batches below the last stable offset
and the aborted transactions that overlap them, taken from the segments' .txnindex files
(34-byte entries: version int16, producerId, firstOffset, lastOffset, lastStableOffset, all
big-endian). This script plays the broker's part from the files and leaves the consumer's
part to kafka-python's own Fetcher.PartitionRecords (the filtering a KafkaConsumer runs).
It prints a JSON list of [offset, value hex] for the records the consumer would return.
"""

import collections
import json
import os
import struct
import sys

from kafka.consumer.fetcher import Fetcher
from kafka.protocol.consumer.offsets import IsolationLevel
from kafka.record import MemoryRecords
from kafka.structs import TopicPartition

Aborted = collections.namedtuple("Aborted", ["producer_id", "first_offset"])


def main(argv):
    directory, lso = argv[1], int(argv[2])
    names = sorted(n for n in os.listdir(directory) if n.endswith(".log"))
    data = bytearray()
    for name in names:
        with open(os.path.join(directory, name), "rb") as fh:
            raw = fh.read()
        pos = 0
        while pos + 12 <= len(raw):
            base, length = struct.unpack_from(">qi", raw, pos)
            size = 12 + length
            if base >= lso or pos + size > len(raw):
                break
            data += raw[pos:pos + size]
            pos += size
    aborted = []
    for name in sorted(n for n in os.listdir(directory) if n.endswith(".txnindex")):
        with open(os.path.join(directory, name), "rb") as fh:
            raw = fh.read()
        for at in range(0, len(raw) - len(raw) % 34, 34):
            version, pid, first, last, _ = struct.unpack_from(">hqqqq", raw, at)
            if version == 0 and first < lso:
                aborted.append(Aborted(pid, first))
    records = Fetcher.PartitionRecords(
        0, TopicPartition("t", 0), MemoryRecords(bytes(data)),
        isolation_level=IsolationLevel.READ_COMMITTED, aborted_transactions=aborted)
    out = [[r.offset, r.value.hex() if r.value is not None else None] for r in records.take()]
    json.dump(out, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
