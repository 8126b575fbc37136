"""Tests of the Python binding (bindings/python/strata.py) over libstrata.

Run:  STRATA_LIBRARY=$PWD/.build-c/prefix/lib/libstrata.so python3 -m pytest -q bindings/python/tests
"""

import gc
import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from datetime import datetime, timezone

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
BINDING_DIR = os.path.dirname(HERE)
sys.path.insert(0, BINDING_DIR)

import strata  # noqa: E402

T0 = 1_790_000_000_000  # a fixed timestamp (ms) for records whose time matters


def events(n, start=0):
    """JSON log lines: every third one mentions a failure."""
    return [json.dumps({"n": i, "level": "error" if i % 3 == 0 else "info",
                        "service": "billing" if i % 2 else "search",
                        "msg": "disk %s on node-%d" % ("failure" if i % 3 == 0 else "ok", i % 4)})
            for i in range(start, start + n)]


@pytest.fixture
def store(tmp_path):
    db = strata.Store(tmp_path / "store", refresh_interval_ms=20)
    yield db
    db.close()


@pytest.fixture
def indexed(store):
    """A store with topic "ev" (2 partitions) of 60 timed JSON records and its index."""
    store.create_topic("ev", partitions=2)
    store.create_index("ev")
    recs = [{"key": "k%d" % (i % 4), "value": v, "timestamp": T0 + i}
            for i, v in enumerate(events(60))]
    store.append_many("ev", recs, partition=None)
    store.refresh("ev", timeout_ms=10_000)
    return store


# ---- library and module ------------------------------------------------------------------


def test_library_version():
    assert strata.library_version() == "0.9.0"
    assert strata.library_version_number() == 9000
    assert strata.errstr(strata.NOTFOUND)
    assert strata.errstr(12345) == "unknown result code"


def test_missing_library_gives_clear_import_error(tmp_path):
    env = dict(os.environ, STRATA_LIBRARY=str(tmp_path / "no-such-libstrata.so"))
    proc = subprocess.run([sys.executable, "-c", "import strata"], cwd=BINDING_DIR, env=env,
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode != 0
    assert "ImportError" in proc.stderr
    assert "scripts/install.sh --prefix DIR" in proc.stderr and "STRATA_LIBRARY" in proc.stderr


# ---- produce and consume -----------------------------------------------------------------


def test_round_trip_keys_nulls_headers_timestamps_binary(store):
    store.create_topic("t")
    binary = bytes(range(256)) * 3  # NULs and every byte value
    when = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=timezone.utc)
    positions = [
        store.append("t", b"plain"),
        store.append("t", binary, key=b"\x00bin\xff", timestamp=T0),
        store.append("t", None, key="tomb"),                       # a tombstone
        store.append("t", b"", key=b""),                            # empty, not null
        store.append("t", "unicodé ✓", headers={"trace": b"abc", "nil": None, "s": "x"},
                     timestamp=when),
        store.append("t", b"h2", headers=[("dup", b"1"), ("dup", b"2")], partition=0),
    ]
    assert positions == [(0, i) for i in range(6)]
    assert positions[0].partition == 0 and positions[5].offset == 5
    before = int(time.time() * 1000) - 60_000
    with store.cursor("t", 0) as c:
        recs = list(c)
    assert [r.offset for r in recs] == list(range(6))
    assert all(r.partition == 0 for r in recs)
    r0, r1, r2, r3, r4, r5 = recs
    assert r0.key is None and r0.value == b"plain" and r0.headers == ()
    assert r0.timestamp >= before  # "now"
    assert r1.key == b"\x00bin\xff" and r1.value == binary and r1.timestamp == T0
    assert r2.key == b"tomb" and r2.value is None
    assert r3.key == b"" and r3.value == b""
    assert r4.value == "unicodé ✓".encode() and r4.timestamp == 1767323045678
    assert r4.headers == (("trace", b"abc"), ("nil", None), ("s", b"x"))
    assert r4.datetime == when
    assert r5.headers == (("dup", b"1"), ("dup", b"2"))
    assert isinstance(r1, strata.Record) and r1 == (0, 1, T0, b"\x00bin\xff", binary, ())


def test_append_many_forms_and_positions(store):
    store.create_topic("t", partitions=3)
    recs = [
        b"bytes value",
        "str value",
        None,
        (b"k1", b"tuple value"),
        ("k2", "tuple with headers", {"h": "v"}),
        ("k3", b"tuple with timestamp", None, T0),
        {"value": b"dict", "key": "k1", "headers": [("a", None)], "timestamp": T0 + 1},
        bytearray(b"bytearray"),
        memoryview(b"memoryview"),
    ]
    pos = store.append_many("t", recs, partition=2, positions=True)
    assert pos == [(2, i) for i in range(len(recs))]
    got = store.read("t", 2)
    assert [r.value for r in got] == [b"bytes value", b"str value", None, b"tuple value",
                                      b"tuple with headers", b"tuple with timestamp", b"dict",
                                      b"bytearray", b"memoryview"]
    assert got[4].headers == (("h", b"v"),) and got[6].headers == (("a", None),)
    assert got[5].timestamp == T0 and got[6].timestamp == T0 + 1
    assert got[3].key == b"k1"
    # Records re-produced from Record objects keep their fields.
    assert store.append_many("t", got, partition=1) == len(got)
    again = store.read("t", 1)
    assert [(r.key, r.value, r.headers, r.timestamp) for r in again] == \
           [(r.key, r.value, r.headers, r.timestamp) for r in got]


def test_append_many_chunks_and_keys(store):
    store.create_topic("t", partitions=3)
    n = 5000
    recs = [("key-%d" % (i % 7), "v%d" % i) for i in range(n)]
    pos = store.append_many("t", recs, positions=True, chunk_records=700)
    assert len(pos) == n
    # Records of one key land in one partition, in order; offsets count per partition.
    part_of_key = {}
    for (key, _), p in zip(recs, pos):
        assert part_of_key.setdefault(key, p.partition) == p.partition
    ends = store.end_offsets("t")
    assert sum(ends.values()) == n
    for p in range(3):
        offsets = [x.offset for x in pos if x.partition == p]
        assert offsets == list(range(len(offsets)))
        values = [r.value for r in store.read("t", p)]
        assert values == [v.encode() for (k, v), x in zip(recs, pos) if x.partition == p]
    assert store.append_many("t", [], partition=0) == 0
    assert store.append_many("t", (b"x%d" % i for i in range(10)), partition=0) == 10


def test_batch_object(store):
    store.create_topic("t")
    with strata.Batch() as b:
        b.add(b"one", key="a", headers={"x": "1"}, timestamp=T0)
        b.add(b"two")
        b.add_header("y", None)
        assert len(b) == 2
        store.append_batch("t", b, partition=0)
        assert b.results() == [(0, 0), (0, 1)] and b.result(1) == (0, 1)
        b.clear()
        assert len(b) == 0
        with pytest.raises(strata.InvalidError):
            store.append_batch("t", b, partition=0)  # an empty batch
    with pytest.raises(strata.MisuseError):
        b.add(b"closed")
    recs = store.read("t", 0)
    assert recs[1].headers == (("y", None),)


def test_cursor_start_positions(store):
    store.create_topic("t")
    store.append_many("t", [(None, b"r%d" % i, None, T0 + 10 * i) for i in range(20)], partition=0)
    with store.cursor("t", 0, strata.EARLIEST) as c:
        assert [r.offset for r in c] == list(range(20))
        assert c.position == 20
        assert c.next() is None
    with store.cursor("t", 0, "latest") as c:
        assert c.next() is None and c.position == 20
        store.append("t", b"new", partition=0)
        r = c.next()
        assert r.offset == 20 and r.value == b"new"
    with store.cursor("t", 0, 7) as c:
        assert c.next().offset == 7
        c.seek(3)
        assert [r.offset for r in c.read(2)] == [3, 4]
        with pytest.raises(strata.RangeError, match="out of range"):
            c.seek(999)
        c.seek(5)
        c.set_isolation("read_committed")  # nothing here is transactional: the same records
        assert [r.offset for r in c.read(3)] == [5, 6, 7]
        with pytest.raises(ValueError, match="read_committed"):
            c.set_isolation("serializable")
    with store.cursor("t", 0, timestamp=T0 + 55) as c:  # first timestamp >= T0+55 is record 6
        assert c.next().offset == 6
    with store.cursor("t", 0, timestamp=datetime.fromtimestamp((T0 + 100) / 1000, timezone.utc)) as c:
        assert c.next().offset == 10
    with store.cursor("t", 0, timestamp=T0 + 10**9) as c:
        assert c.next().offset == 20  # past every old timestamp: the "now" record
    with pytest.raises(strata.RangeError):
        store.cursor("t", 0, 500)
    with pytest.raises(strata.NotFoundError):
        store.cursor("t", 9)


def test_groups_commit_fetch_and_cursor(store):
    store.create_topic("t", partitions=2)
    store.append_many("t", [b"x%d" % i for i in range(30)], partition=1)
    assert store.fetch_offset("billing", "t", 1) is None
    store.commit_offset("billing", "t", 1, 12, metadata="meta")
    store.commit_offset("billing", "t", 1, 10)
    assert store.fetch_offset("billing", "t", 1) == 10
    assert store.fetch_offset("billing", "t", 0) is None
    with pytest.raises(strata.RangeError):
        store.commit_offset("billing", "t", 1, 5000)
    with pytest.raises(strata.NotFoundError):
        store.commit_offset("billing", "nope", 0, 0)
    with pytest.raises(strata.NotFoundError):
        store.fetch_offset("billing", "nope", 0)
    with store.cursor("t", 1, group="billing") as c:
        assert c.next().offset == 10
        c.read(5)
        c.commit("billing")
    assert store.fetch_offset("billing", "t", 1) == 16
    with store.cursor("t", 1, "latest", group="nobody") as c:
        assert c.next() is None
    with store.cursor("t", 1, "earliest", group="nobody") as c:
        assert c.next().offset == 0


# ---- tailing -----------------------------------------------------------------------------


def test_wait_timeout(store):
    store.create_topic("t")
    with store.cursor("t", 0, "latest") as c:
        t = time.monotonic()
        assert c.wait(150) is False
        assert time.monotonic() - t >= 0.1
        assert list(c.follow(timeout_ms=50)) == []


def test_wait_woken_by_append_from_another_thread(store):
    store.create_topic("t")
    store.append("t", b"old", partition=0)

    def produce():
        time.sleep(0.2)
        store.append("t", b"tail", partition=0)

    with store.cursor("t", 0, "latest") as c:
        th = threading.Thread(target=produce)
        t = time.monotonic()
        th.start()
        try:
            assert c.wait(10_000) is True
        finally:
            th.join()
        elapsed = time.monotonic() - t
        assert 0.1 <= elapsed < 5
        r = c.next()
        assert (r.offset, r.value) == (1, b"tail")


def test_follow_tails_records_from_another_thread(store):
    store.create_topic("t")

    def produce():
        for i in range(5):
            time.sleep(0.02)
            store.append("t", b"e%d" % i, partition=0)

    th = threading.Thread(target=produce)
    seen = []
    with store.cursor("t", 0) as c:
        th.start()
        try:
            for r in c.follow(timeout_ms=3000):
                seen.append(r.value)
                if len(seen) == 5:
                    break
        finally:
            th.join()
    assert seen == [b"e%d" % i for i in range(5)]


# ---- indexes and search ------------------------------------------------------------------


def test_search_hits(indexed):
    res = indexed.search("ev", "msg:failure", limit=5, highlight=True)
    assert res.total == 20 and len(res) == 5
    scores = [h.score for h in res]
    assert scores == sorted(scores, reverse=True) and all(s > 0 for s in scores)
    ends = indexed.end_offsets("ev")
    for h in res:
        assert isinstance(h, strata.Hit)
        assert 0 <= h.partition < 2 and 0 <= h.offset < ends[h.partition]
        doc = h.json()
        assert "failure" in doc["msg"] and doc["n"] % 3 == 0
        assert h.timestamp == T0 + doc["n"] and h.key == b"k%d" % (doc["n"] % 4)
        assert "<em>failure</em>" in h.highlights["msg"][0]
        # The hit's record equals the log's record at that position.
        with indexed.cursor("ev", h.partition, h.offset) as c:
            assert c.next() == h.record
    # The next pages continue after the last hit, without repeats.
    rest = indexed.search("ev", "msg:failure", limit=100, after=res.after)
    assert len(rest) == 15
    assert not {(h.partition, h.offset) for h in res} & {(h.partition, h.offset) for h in rest}
    every = list(indexed.iter_search("ev", "msg:failure", page_size=6))
    assert len({(h.partition, h.offset) for h in every}) == 20


def test_search_options(indexed):
    res = indexed.search("ev", "*", limit=100, sort="oldest", time_range=(T0 + 10, T0 + 19))
    assert [h.timestamp for h in res] == list(range(T0 + 10, T0 + 20))
    assert res.total == 10 and all(h.score == 0 for h in res)
    newest = indexed.search("ev", limit=3, sort="newest")
    assert [h.json()["n"] for h in newest] == [59, 58, 57]
    by_n = indexed.search("ev", "level:error", limit=3, sort="n:desc")
    assert [h.json()["n"] for h in by_n] == [57, 54, 51]
    tagged = indexed.search("ev", "failure", limit=1, highlight={"pre_tag": "[", "post_tag": "]"})
    assert "[failure]" in tagged[0].highlights["msg"][0]
    assert indexed.search("ev", "failure", limit=1)[0].highlights == {}
    assert indexed.search("ev", "nomatchword").total == 0


def test_count_and_aggregate(indexed):
    assert indexed.count("ev", "n:>=50") == 10
    assert indexed.count("ev") == 60
    assert indexed.count("ev", "level:error", time_range=(T0, T0 + 29)) == 10
    aggs = indexed.aggregate("ev", "*", {
        "by_level": {"terms": {"field": "level.keyword", "size": 10}},
        "n": {"stats": {"field": "n"}},
        "h": {"histogram": {"field": "n", "interval": 20}},
    })
    buckets = {b["key"]: b["count"] for b in aggs["by_level"]["buckets"]}
    assert buckets == {"error": 20, "info": 40}
    assert aggs["n"]["count"] == 60 and aggs["n"]["min"] == 0 and aggs["n"]["max"] == 59
    assert [b["count"] for b in aggs["h"]["buckets"]] == [20, 20, 20]
    as_text = indexed.aggregate("ev", "service:billing", '{"s":{"stats":{"field":"n"}}}')
    assert as_text["s"]["count"] == 30


def test_index_status_lag_rebuild_drop(indexed):
    assert indexed.lag("ev") == 0
    status = indexed.index_status("ev")
    assert status["documents"] == 60 and status["generation"] == 1
    assert indexed.describe("ev")["indexes"]
    indexed.rebuild("ev")
    assert indexed.index_status("ev")["generation"] == 2
    indexed.refresh("ev", timeout_ms=10_000)
    assert indexed.count("ev") == 60
    indexed.create_index("second", "ev", mapping={"fields": [{"name": "msg", "type": "text"}]})
    indexed.drop_index("second")
    with pytest.raises(strata.NotFoundError):
        indexed.drop_index("second")
    with pytest.raises(strata.InvalidError) as e:
        indexed.create_index("bad", "ev", mapping="not json")
    assert e.value.extended_name == "INVALID_JSON"


def test_verify_and_recovery_report(indexed):
    report = indexed.verify()
    assert {r["partition"] for r in report} == {"ev-0", "ev-1"}
    assert not any(r["damaged"] for r in report)
    assert sum(r["records"] for r in report) == 60
    assert indexed.verify("ev")[0]["findings"] == []
    assert isinstance(indexed.recovery_report(), list)
    with pytest.raises(strata.NotFoundError):
        indexed.verify("missing")


# ---- errors ------------------------------------------------------------------------------


def test_unknown_topic_is_notfound(store):
    with pytest.raises(strata.NotFoundError) as e:
        store.append("missing", b"x")
    assert e.value.primary == strata.NOTFOUND and e.value.name == "NOTFOUND"
    assert "missing" in e.value.message
    with pytest.raises(strata.NotFoundError):
        store.describe("missing")
    with pytest.raises(strata.NotFoundError):
        store.cursor("missing", 0)
    with pytest.raises(strata.NotFoundError):
        store.search("missing", "x")


def test_invalid_query_is_query_error(indexed):
    with pytest.raises(strata.QueryError) as e:
        indexed.search("ev", "msg:(failure")
    err = e.value
    assert isinstance(err, strata.StrataError)
    assert err.primary == strata.QUERY and err.code == strata.QUERY_SYNTAX
    assert err.extended_name == "QUERY_SYNTAX" and "position" in err.message
    assert "position" in str(err)
    with pytest.raises(strata.QueryError) as e:
        indexed.search("ev", "nosuchfield:[1 TO 2]")
    assert e.value.extended_name == "QUERY_FIELD"
    with pytest.raises(strata.QueryError):
        indexed.aggregate("ev", "*", {"x": {"terms": {"field": "n"}}})
    with pytest.raises(strata.InvalidError) as e:
        indexed.search("ev", "x", sort="sideways")
    assert e.value.extended_name == "INVALID_OPTION"


def test_existing_topic_with_other_settings_is_exists(store):
    store.create_topic("t", partitions=3, compression="lz4")
    store.create_topic("t", partitions=3, compression="lz4")  # same settings: fine
    with pytest.raises(strata.ExistsError) as e:
        store.create_topic("t", partitions=5)
    assert e.value.primary == strata.EXISTS and "partitions 3, not 5" in e.value.message
    with pytest.raises(strata.InvalidError) as e:
        store.create_topic("bad/name")
    assert e.value.code == strata.INVALID_NAME
    with pytest.raises(strata.InvalidError, match="colour"):
        store.create_topic("t2", colour="blue")


def test_second_writer_is_busy(store):
    with pytest.raises(strata.BusyError) as e:
        strata.Store(store.path)
    assert e.value.primary == strata.BUSY and "already open for writing" in e.value.message


def test_open_errors(tmp_path):
    with pytest.raises(strata.InvalidError, match="no_such_option"):
        strata.Store(tmp_path / "s", no_such_option=1)
    with pytest.raises(strata.NotFoundError):
        strata.Store(tmp_path / "nothing-here", read_only=True)


def test_read_only_store_rejects_writes_and_sees_data(store):
    store.create_topic("t")
    store.create_index("t")
    store.append_many("t", [b'{"msg":"hello world %d"}' % i for i in range(10)], partition=0)
    store.refresh("t", timeout_ms=10_000)
    with strata.Store(store.path, read_only=True) as ro:
        assert ro.read_only
        with pytest.raises(strata.ReadOnlyError) as e:
            ro.append("t", b"x")
        assert e.value.primary == strata.READONLY
        with pytest.raises(strata.ReadOnlyError):
            ro.create_topic("u")
        with pytest.raises(strata.ReadOnlyError):
            ro.commit_offset("g", "t", 0, 0)
        assert [r.value for r in ro.read("t", 0)][-1] == b'{"msg":"hello world 9"}'
        # Written after the reader opened: the reader sees it too.
        store.append("t", b'{"msg":"late arrival"}', partition=0)
        store.refresh("t", timeout_ms=10_000)
        assert len(ro.read("t", 0)) == 11
        ro.refresh("t", timeout_ms=0)
        assert ro.count("t", "hello") == 10 and ro.count("t", "late") == 1


def test_read_only_store_in_a_subprocess(store):
    store.create_topic("t", partitions=2)
    store.create_index("t")
    store.append_many("t", [(None, b'{"msg":"from writer %d"}' % i) for i in range(25)], partition=1)
    store.refresh("t", timeout_ms=10_000)
    code = textwrap.dedent("""
        import json, sys, strata
        with strata.Store(sys.argv[1], read_only=True) as db:
            recs = db.read("t", 1)
            db.refresh("t", timeout_ms=0)
            res = db.search("t", "writer", limit=100)
            try:
                db.append("t", b"x")
                ro_error = None
            except strata.StrataError as e:
                ro_error = e.name
            print(json.dumps({"n": len(recs), "last": recs[-1].value.decode(), "total": res.total,
                              "ro_error": ro_error}))
    """)
    env = dict(os.environ, PYTHONPATH=BINDING_DIR)
    proc = subprocess.run([sys.executable, "-c", code, store.path], env=env, capture_output=True,
                          text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out == {"n": 25, "last": '{"msg":"from writer 24"}', "total": 25, "ro_error": "READONLY"}


def test_use_after_close_is_misuse(tmp_path):
    db = strata.Store(tmp_path / "s")
    db.create_topic("t")
    db.append("t", b"hello world", partition=0)
    c = db.cursor("t", 0)
    db.close()
    db.close()  # idempotent
    assert db.closed
    for call in (lambda: db.topics(), lambda: db.append("t", b"x"), lambda: db.cursor("t", 0),
                 lambda: db.search("t", "x"), lambda: db.create_topic("u"), lambda: db.lag("t")):
        with pytest.raises(strata.MisuseError) as e:
            call()
        assert e.value.primary == strata.MISUSE and e.value.name == "MISUSE"
    # A cursor of a closed store: the C API reports MISUSE_CLOSED; it must still be closed.
    with pytest.raises(strata.MisuseError) as e:
        c.next()
    assert e.value.code == strata.MISUSE_CLOSED and "closed" in e.value.message
    c.close()
    c.close()
    with pytest.raises(strata.MisuseError):
        c.next()
    # The lock is released: the directory opens again.
    with strata.Store(tmp_path / "s") as again:
        assert again.read("t", 0)[0].value == b"hello world"


def test_cursor_keeps_store_alive(tmp_path):
    db = strata.Store(tmp_path / "s")
    db.create_topic("t")
    db.append_many("t", [b"a", b"b"], partition=0)
    c = db.cursor("t", 0)
    del db
    gc.collect()
    assert [r.value for r in c] == [b"a", b"b"]  # the store was not closed under the cursor
    with pytest.warns(ResourceWarning):
        del c  # the last reference: the store is closed by its finalizer
        gc.collect()
    with strata.Store(tmp_path / "s") as again:  # the writer lock was released
        assert len(again.read("t", 0)) == 2


def test_error_attributes():
    e = strata.StrataError(strata.QUERY_SYNTAX, strata.QUERY, "bad")
    assert (e.code, e.primary, e.name, e.extended_name, e.message) == (265, 9, "QUERY", "QUERY_SYNTAX", "bad")
    assert e.args == (265, 9, "bad")


def test_read_only_subprocess_tails_appends_of_this_process(store):
    store.create_topic("t")
    store.append("t", b"before", partition=0)
    code = textwrap.dedent("""
        import json, sys, time, strata
        with strata.Store(sys.argv[1], read_only=True) as db:
            with db.cursor("t", 0, "latest") as c:
                print("ready", c.position, flush=True)
                got, deadline = [], time.monotonic() + 20
                while len(got) < 5 and time.monotonic() < deadline:
                    got += [r.value.decode() for r in c]
                    if len(got) < 5:
                        c.wait(2000)
        print(json.dumps(got))
    """)
    env = dict(os.environ, PYTHONPATH=BINDING_DIR)
    proc = subprocess.Popen([sys.executable, "-c", code, store.path], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert proc.stdout.readline().split() == ["ready", "1"]
        for i in range(5):
            time.sleep(0.03)
            store.append("t", "live %d" % i, partition=0)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert json.loads(out) == ["live %d" % i for i in range(5)]


def test_partition_by_key_matches_kafka_murmur2(store):
    default = pytest.importorskip("kafka.partitioner.default")
    store.create_topic("t", partitions=5)
    keys = [b"user-%d" % i for i in range(40)]
    pos = store.append_many("t", [(k, b"v") for k in keys], positions=True)
    assert [p.partition for p in pos] == [(default.murmur2(k) & 0x7FFFFFFF) % 5 for k in keys]


def test_segments_decode_with_kafka_python(store):
    memory_records = pytest.importorskip("kafka.record.memory_records")
    store.create_topic("t", compression="lz4")
    sent = [(b"k%d" % i, b"value %d" % i, [("h", b"%d" % i)], T0 + i) for i in range(50)]
    store.append_many("t", sent, partition=0)
    store.close()  # flushed
    path = os.path.join(store.path, "topics", "t-0", "00000000000000000000.log")
    with open(path, "rb") as f:
        records = memory_records.MemoryRecords(f.read())
    got = []
    while True:
        batch = records.next_batch()
        if batch is None:
            break
        assert batch.validate_crc()
        got += [(r.key, r.value, [tuple(h) for h in r.headers], r.timestamp) for r in batch]
    assert got == [(k, v, h, t) for k, v, h, t in sent]


def test_nul_in_names_is_rejected(store):
    with pytest.raises(ValueError):
        store.create_topic("ab\x00cd")
    with pytest.raises(ValueError):
        store.create_topic("t", compression="lz4\x00")


def test_longest_topic_name(store):
    # 249 characters, Kafka's limit: its config file name must still fit NAME_MAX.
    store.create_topic("a" * 249)
    assert store.topics() == ["a" * 249]
    store.append("a" * 249, b"x", partition=0)


def test_corrupt_segment_raises_corrupt_error(tmp_path):
    with strata.Store(tmp_path / "s") as db:
        db.create_topic("t")
        # Four batches: the damage is in the first, before the offset index's last entry
        # (a damaged last batch would be taken for a torn tail by a read-only open).
        for _ in range(4):
            db.append_many("t", [b"some record text to checksum"] * 100, partition=0)
    path = tmp_path / "s" / "topics" / "t-0" / "00000000000000000000.log"
    data = bytearray(path.read_bytes())
    data[len(data) // 8] ^= 0x5A
    path.write_bytes(bytes(data))
    with strata.Store(tmp_path / "s", read_only=True) as ro:
        with ro.cursor("t", 0) as c:
            with pytest.raises(strata.CorruptError) as e:
                list(c)
        assert e.value.code == strata.CORRUPT_CRC and e.value.message
        assert ro.verify("t")[0]["damaged"] is True


def test_too_big_and_timeout_errors(store):
    store.create_topic("t")
    noise = os.urandom(2 << 20)  # incompressible, larger than a batch may be
    with pytest.raises(strata.TooBigError):
        store.append("t", noise, partition=0)
    store.append_many("t", [b'{"a":%d}' % i for i in range(2000)], partition=0)
    store.create_index("slow", "t")
    with pytest.raises(strata.StrataTimeoutError) as e:
        store.refresh("slow", timeout_ms=0)
    assert e.value.primary == strata.TIMEOUT


def test_full_disk_is_full_error(tmp_path):
    # A file-size limit in a child process (Python ignores SIGXFSZ, so writes fail with EFBIG).
    code = textwrap.dedent("""
        import resource, sys, strata
        db = strata.Store(sys.argv[1])
        db.create_topic("t", segment_bytes=1 << 30)
        soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
        resource.setrlimit(resource.RLIMIT_FSIZE, (4 << 20, hard))
        appended = 0
        try:
            while True:
                db.append_many("t", [b"v" * 1000] * 100, partition=0)
                appended += 100
        except strata.FullError as e:
            name = e.name
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        n = len(db.read("t", 0))
        db.close()
        print(name, appended, n)
    """)
    env = dict(os.environ, PYTHONPATH=BINDING_DIR)
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path / "s")], env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    name, appended, n = proc.stdout.split()
    assert name == "FULL" and int(appended) > 0 and int(n) >= int(appended)
