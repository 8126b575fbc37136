#!/usr/bin/env python3
"""Benchmark of the Python binding: batched appends and a full cursor scan through libstrata,
against kafka-python decoding the same partition's segment files.

    STRATA_LIBRARY=/path/to/libstrata.so python3 bindings/python/bench.py [--records 200000]

Steps (the record values are generated before any timing):
  1. append N JSON log lines (~100 bytes each) to a 1-partition topic with Store.append_many;
  2. read them all back with a Cursor (Record objects: bytes copies of key, value, headers;
     Strata CRC-checks every batch it enters);
  3. decode the partition's segment files (<dir>/topics/bench-0/*.log) with kafka-python's
     MemoryRecords / DefaultRecordBatch, touching each record's key, value and headers
     (kafka-python does not check CRCs while iterating).
It prints records/s for each (scan and decode: the best of --repeat runs) and the ratio of the
binding's scan to kafka-python's decode.
"""

import argparse
import glob
import os
import random
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import strata  # noqa: E402

LEVELS = ["info"] * 6 + ["warn"] * 2 + ["error", "debug"]
SERVICES = ["billing", "search", "auth", "gateway", "storage"]
VERBS = ["served", "rejected", "retried", "cached", "forwarded"]


def log_lines(n, seed=7):
    """n JSON log lines of about 100 bytes."""
    rnd = random.Random(seed)
    base = 1_796_000_000_000
    out = []
    for i in range(n):
        ms = base + i * 3
        out.append(('{"ts":%d,"level":"%s","svc":"%s","host":"node-%02d",'
                    '"msg":"req %d %s in %d ms"}'
                    % (ms, rnd.choice(LEVELS), rnd.choice(SERVICES), rnd.randrange(32), i,
                       rnd.choice(VERBS), rnd.randrange(1, 900))).encode())
    return out


def bench_append(db, values):
    t = time.perf_counter()
    n = db.append_many("bench", values, partition=0)
    return n, time.perf_counter() - t


def bench_scan(db):
    t = time.perf_counter()
    n = total = 0
    with db.cursor("bench", 0, "earliest") as c:
        for r in c:
            n += 1
            total += len(r.value)
    return n, total, time.perf_counter() - t


def bench_kafka_python(segment_files):
    from kafka.record.memory_records import MemoryRecords
    t = time.perf_counter()
    n = total = 0
    for path in segment_files:
        with open(path, "rb") as f:
            data = f.read()
        records = MemoryRecords(data)
        while True:
            batch = records.next_batch()
            if batch is None:
                break
            for rec in batch:
                rec.key
                rec.headers
                n += 1
                total += len(rec.value)
    return n, total, time.perf_counter() - t


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--records", type=int, default=200_000)
    ap.add_argument("--compression", default="none", choices=["none", "gzip", "lz4"])
    ap.add_argument("--repeat", type=int, default=3,
                    help="runs of the scan and of the decode; the best is reported (default 3)")
    ap.add_argument("--dir", help="store directory (default: a new temporary one, removed after)")
    ap.add_argument("--keep", action="store_true", help="keep the store directory")
    args = ap.parse_args()

    try:
        import kafka.record.memory_records  # noqa: F401
        import kafka
        kafka_version = kafka.__version__
    except ImportError:
        kafka_version = None

    workdir = args.dir or tempfile.mkdtemp(prefix="strata-bench-")
    store_dir = os.path.join(workdir, "store")
    if os.path.exists(store_dir):
        shutil.rmtree(store_dir)
    try:
        values = log_lines(args.records)
        avg = sum(map(len, values)) / max(1, len(values))
        rows = []
        with strata.Store(store_dir) as db:
            db.create_topic("bench", partitions=1, compression=args.compression)
            n, secs = bench_append(db, values)
            rows.append(("binding append_many (batched)", n, secs))
            expected = sum(map(len, values))
            best = None
            for _ in range(max(1, args.repeat)):
                n, nbytes, secs = bench_scan(db)
                assert n == args.records and nbytes == expected, (n, nbytes)
                best = secs if best is None else min(best, secs)
            rows.append(("binding cursor scan", n, best))
        del values
        segments = sorted(glob.glob(os.path.join(store_dir, "topics", "bench-0", "*.log")))
        seg_bytes = sum(os.path.getsize(p) for p in segments)
        kp = None
        if kafka_version:
            best = None
            for _ in range(max(1, args.repeat)):
                n, nbytes, secs = bench_kafka_python(segments)
                assert n == args.records and nbytes == expected, (n, args.records)
                best = secs if best is None else min(best, secs)
            kp = n / best
            rows.append(("kafka-python decode (.log)", n, best))

        print("Strata %s (%s), Python %s, kafka-python %s"
              % (strata.library_version(), strata.LIBRARY_PATH, sys.version.split()[0],
                 kafka_version or "not installed"))
        print("%d records, %.0f-byte JSON values, compression %s, %d segment file(s), %.1f MB; "
              "scan and decode: best of %d"
              % (args.records, avg, args.compression, len(segments), seg_bytes / 1e6,
                 max(1, args.repeat)))
        print()
        print("%-32s %10s %10s %14s %16s" % ("operation", "records", "seconds", "records/s",
                                             "vs kafka-python"))
        print("-" * 86)
        for name, n, secs in rows:
            rate = n / secs
            ratio = "%.2fx" % (rate / kp) if kp else "-"
            print("%-32s %10d %10.3f %14s %16s" % (name, n, secs, "{:,.0f}".format(rate), ratio))
        if kp:
            scan = rows[1][1] / rows[1][2]
            print()
            print("binding scan / kafka-python decode = %.2f" % (scan / kp))
    finally:
        if not args.keep and not args.dir:
            shutil.rmtree(workdir, ignore_errors=True)
        elif args.keep:
            print("store kept in", store_dir)


if __name__ == "__main__":
    main()
