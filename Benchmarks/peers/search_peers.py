#!/usr/bin/env python3
"""Peer benchmark: tantivy (Python binding) and SQLite FTS5 on one corpus and one query set.

Usage:
    python3 search_peers.py --docs /work/shared/data/tantivy-benches/wiki.json \
        --queries /work/shared/data/sbg-queries/queries.txt [--repeat 20] [--workdir DIR] \
        [--engines tantivy,fts5] [--index-runs 3] [--keep] [--types term,phrase,...] \
        [--tantivy-threads 1] [--tantivy-threads-both] [--open-runs 5] [--no-ts]

    Scale corpora and their queries: Benchmarks/corpus/README.md (gen_logs.py, gen_kernel_docs.py,
    gen_queries.py), e.g. --docs /tmp/strata-scale/logs.json --queries /tmp/strata-scale/logs.queries.json

Prints ONE JSON object on stdout; progress and diagnostics go to stderr.
If a data file, tantivy or FTS5 is missing it prints {"skipped": "<reason>"} and exits 0.

Everything is single-threaded by default: tantivy's writer gets num_threads=1 (--tantivy-threads N
changes it; 0 = tantivy's own choice, min(CPUs, 8)) and its searcher uses the default
single-thread executor; sqlite3 is single-threaded by construction.

What is measured
----------------
Corpus: JSON lines with "body" (wiki.json also has "url", "title"; they are ignored). Only `body`
is indexed as text, as ONE text field, doc i = line i (0-based) of the file. When the first line
also has an integer "ts" (epoch ms, Benchmarks/corpus/gen_logs.py) and --no-ts is not given, every
line's ts is indexed too, for the `time` query type (see "Time field" below). Tokenization in both
engines is "split on non-alphanumeric Unicode characters, lowercase":
  * tantivy: `default` tokenizer (SimpleTokenizer + RemoveLongFilter(40 bytes) + LowerCaser),
    field indexed with positions (index_option="position"), stored=False.
  * FTS5: tokenize='unicode61 remove_diacritics 0'.

Indexing (per engine, `--index-runs` times, fresh directory each time, best = min seconds):
  The raw lines are read into memory BEFORE the clock starts. The timed region is
  json.loads of every line + adding the document + the commit that makes it durable/searchable:
  * tantivy: Index(schema, path=dir) and index.writer(heap_size=64_000_000, num_threads=1)
    (--tantivy-threads) are created before the clock; timed = for each line json.loads + writer.add_document(...),
    then writer.commit() and writer.wait_merging_threads(). (index.reload() is after the clock.)
    size_bytes = total bytes of all files under the index dir after commit + merge.
  * FTS5: connection + CREATE VIRTUAL TABLE before the clock; timed = BEGIN, executemany of
    INSERT INTO docs(rowid, body) fed by a generator that json.loads each line (rowid = line
    number), COMMIT. Default journal mode and synchronous=FULL (durable commit, like tantivy's
    commit). size_bytes = sizes of the .db file plus any -journal/-wal/-shm files after commit.
    NOTE: a plain fts5(body) table also stores a copy of every body (docs_content), which
    tantivy (stored=False) does not; "size_by_table_bytes" (from dbstat) splits the file per
    shadow table so the index-only size can be compared.
  Reported: docs, seconds, docs_per_s, mb_per_s (input file bytes / 1e6 / seconds), size_bytes,
  includes_json_parse=true, runs_seconds (all runs), and (added for the scale benchmarks):
  * rss_growth_bytes / rss_anon_growth_bytes: peak VmRSS / RssAnon of this process (from
    /proc/self/status, sampled every 5 ms by a background thread during each run, from just before
    the index/connection is created until the commit returns) minus the value at the run's start
    (taken after gc.collect() and glibc's malloc_trim(0), so heap freed by an earlier run or
    engine does not hide this one's growth); the maximum over the runs. VmRSS includes file pages
    mapped by the engine, RssAnon only heap. The raw lines (read before) are in the baseline.
    rss_growth_bytes_runs: per run.
  * writer_threads (tantivy; 0 = tantivy's default), segments (tantivy: searcher.num_segments
    after commit + wait_merging_threads of the best run's index).
  * open_seconds: time to open the committed index and answer a first query, best of --open-runs
    (default 5), on the queried index: tantivy Index.open(dir) + reload() + searcher() + one count
    of the no-hit term; FTS5 sqlite3.connect() + the same count (SQLite reads the schema lazily,
    at the first statement). open_runs_seconds: all runs.
  With --tantivy-threads-both, tantivy is indexed --index-runs more times with num_threads=0
  (tantivy's default thread count) and reported in "index_default_threads" (same keys as
  "index", plus writer_threads_expected = min(CPUs, 8), the count tantivy picks); "index" stays
  the --tantivy-threads run (default 1), the one that is queried.
Time field (corpora with "ts"):
  * tantivy: add_integer_field("ts", indexed=True, fast=True); Document(body=..., ts=...).
  * FTS5: the fts5(body) table has no numeric column it could filter on, so ts goes into an
    ordinary rowid-aligned table docs_ts(id INTEGER PRIMARY KEY, ts INTEGER NOT NULL), filled in
    the same timed transaction (parsed once per line, inserted in chunks of 10,000 rows into
    both tables). A time query joins on the rowid: the plan scans the MATCH (the FTS5 index) and
    checks each hit's ts by primary-key lookup (an index on ts would not help a join driven by
    the text match, so none is built). docs_ts is counted in size_bytes and size_by_table_bytes.

Queries: each line of the queries file is {"query": ..., "tags": [...]} (a time query also has
"ts_from" and "ts_to", epoch ms, both inclusive). The type is the first tag among
term/phrase/intersection/union/prefix/time/mixed; lines without one (e.g. intersection_union, negated,
two-phase-critic) are not run and are counted in "queries.untyped". Query words are obtained by
tokenizing the raw query the same way as documents (split on non-alphanumeric, lowercase), and the
engine query is built from the words:
  * tantivy (index.parse_query(text, ["body"])): term `w`, intersection `+w1 +w2`,
    union `w1 w2` (default OR), phrase `"w1 w2"`, mixed `+"w1 w2" +w3`, time `+w +ts:[A TO B]` (a RangeQuery on the
    integer field, both bounds included). prefix (`abc*`, one word): tantivy's query parser turns
    `abc*` into the term `abc` (it only has phrase-prefix `"a b"*`, capped at 50 expansions), so
    a prefix query is Query.regex_query(schema, "body", "abc.*"), which matches every term
    starting with abc; it is built from the string inside the timed region, as parse_query is.
    Building it compiles the regex into an automaton, ~0.4 ms on this VM whatever the prefix:
    that fixed cost is in tantivy's prefix floor (below), so use prefix *_minus_floor_us.
    A parse failure skips the query for tantivy ("skipped").
  * FTS5 MATCH expression, every word double-quoted: term `"w"`, intersection `"w1" AND "w2"`,
    union `"w1" OR "w2"`, phrase `"w1 w2"`, mixed `"w1 w2" AND "w3"`, prefix `"abc"*`; time: MATCH `"w"` joined with
    docs_ts and `ts BETWEEN A AND B`.
  A time query on a corpus without ts, or a prefix query of more than one word, is skipped.
  (A term query whose text splits into several words, e.g. `foo-bar`, becomes the phrase
  `"foo bar"` in both engines, as tantivy's own parser would do; none occur in sbg queries.txt.)
Modes:
  * top10: tantivy searcher.search(q, 10, count=False) and the DocAddress -> doc id list;
           FTS5 `SELECT rowid FROM docs WHERE docs MATCH ? ORDER BY rank LIMIT 10` + fetchall
           (time: `SELECT docs.rowid FROM docs JOIN docs_ts ON docs_ts.id = docs.rowid WHERE docs
           MATCH ?1 AND docs_ts.ts BETWEEN ?2 AND ?3 ORDER BY docs.rank LIMIT 10`).
  * count: FTS5 `SELECT count(*) FROM docs WHERE docs MATCH ?` (time: the same join, count(*));
           tantivy searcher.search(q, 1, count=True).count. NOTE: the binding (0.27.0) panics on
           limit=0 ("Limit must be greater than 0") and exposes no Query.count / bare Count
           collector, so the cheapest correct way is Count + TopDocs(1); the top-1 collector
           forces scoring, so this is an upper bound on tantivy's pure counting cost.
  The timed region of one sample is the whole Python call path: building the query from the
  prepared string (tantivy parse_query; FTS5 parses its MATCH string on every execution anyway)
  + executing + materializing the result (id list / int). Query strings are built beforehand.
  One untimed warm-up pass over all queries collects the hit counts; then each (query, mode) is
  run `--repeat` times back to back, each run timed with time.perf_counter_ns, with the cyclic GC
  disabled. Stats per (type, mode): p50/p99 (nearest rank) over all query x repeat samples, in µs,
  plus the number of queries and how many of them have no hit (with a small corpus most phrase and
  intersection queries match nothing, so their latency is close to the floor).
Floor: the same call path per engine and mode for a term query with no hits (`zzqxjvnohit`),
  run `--repeat` times per mode after each query's timed runs (interleaved, so a query type and
  its floor are measured over the same seconds); "floor_us" = top10-mode floor over all types
  (p50/p99), per-mode floors in "floor_us.by_mode", per-type in "floor_us.by_type". For prefix
  and time the floor goes through that type's own call path with the no-hit word (prefix: tantivy
  regex `zzqxjvnohit.*`, FTS5 `"zzqxjvnohit"*`; time: `zzqxjvnohit` in [0, 2^62], tantivy's
  RangeQuery / FTS5's join); for the other types it is the term path, as before.
  "*_minus_floor_us" subtract the floor p50 of the SAME type and mode ("floor_p50_us"), clamped
  at 0.
Counts: "counts" maps "<type>\\t<raw query>" -> hit count (from the count mode; for time
  queries the key is "time\\t<raw>\\t<ts_from>\\t<ts_to>"), so another engine with the same
  tokenization can check its own counts; "hit_counts" is the same per query as a list aligned with
  the query file: one entry per non-empty line, in file order, null for a line not run (untyped,
  not in --types, skipped). tantivy vs FTS5 disagreements are reported in "cross_check" and with
  examples on stderr. A sanity check also verifies that each engine's top-10 length ==
  min(count, 10).

Output keys added for the scale benchmarks (all others are unchanged): engines.<e>.index.
{rss_growth_bytes, rss_anon_growth_bytes, rss_growth_bytes_runs, open_seconds, open_runs_seconds,
writer_threads (tantivy), segments (tantivy), with_ts}, engines.tantivy.index_default_threads
(with --tantivy-threads-both), engines.<e>.hit_counts, latency/floor_us.by_type entries for
prefix and time, queries.lines (non-empty lines in the query file), corpus.with_ts,
env.tantivy_writer_threads, env.cpu_count.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import re
import shutil
import sqlite3
import sys
import tempfile
import threading
import time
from importlib import metadata

QUERY_TYPES = ("term", "phrase", "intersection", "union", "prefix", "time", "mixed")
NO_HIT_WORD = "zzqxjvnohit"
NO_HIT_RANGE = (0, 1 << 62)  # the time floor's range
# Words = maximal runs of Unicode alphanumerics ([^\W_] = \w without the underscore).
WORD_RE = re.compile(r"[^\W_]+")
FTS5_TS_CHUNK = 10_000  # lines parsed at a time when ts goes into a second table


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def skip(reason: str) -> None:
    log(f"search_peers: skipped: {reason}")
    print(json.dumps({"skipped": reason}))
    sys.exit(0)


def words_of(text: str) -> list[str]:
    """Split on non-alphanumeric Unicode characters and lowercase (same as the doc tokenizers)."""
    return [w.lower() for w in WORD_RE.findall(text)]


def percentile(sorted_vals: list[int], p: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_vals:
        return float("nan")
    k = max(0, math.ceil(p / 100.0 * len(sorted_vals)) - 1)
    return sorted_vals[k]


def stats_us(samples_ns: list[int]) -> dict:
    s = sorted(samples_ns)
    return {"p50": round(percentile(s, 50) / 1000.0, 3), "p99": round(percentile(s, 99) / 1000.0, 3)}


def dir_size(path: str) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for f in files:
            fp = os.path.join(root, f)
            if os.path.isfile(fp):
                total += os.path.getsize(fp)
    return total


def load_queries(path: str) -> tuple[list[dict], int, int]:
    """Returns (typed queries, number of untyped lines, number of non-empty lines). Each query:
    type, raw, words, key, line (index among the non-empty lines), and for time ts_from/ts_to."""
    out, untyped, n = [], 0, 0
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            idx = n
            n += 1
            d = json.loads(line)
            qtype = next((t for t in d.get("tags", []) if t in QUERY_TYPES), None)
            if qtype is None:
                untyped += 1
                continue
            raw = d["query"]
            q = {"type": qtype, "raw": raw, "words": words_of(raw), "key": f"{qtype}\t{raw}", "line": idx}
            if qtype == "time":
                a, b = d.get("ts_from"), d.get("ts_to")
                if isinstance(a, int) and isinstance(b, int):
                    q["ts_from"], q["ts_to"] = a, b
                    q["key"] = f"time\t{raw}\t{a}\t{b}"
            out.append(q)
    return out, untyped, n


class RssSampler:
    """Peak VmRSS / RssAnon of this process, sampled every 5 ms on a background thread."""

    def __init__(self, interval_s: float = 0.005):
        self.interval = interval_s
        self.stop_ev = threading.Event()
        self.thread = None
        self.base = (0, 0)
        self.peak = [0, 0]

    @staticmethod
    def read() -> tuple[int, int]:
        rss = anon = 0
        try:
            with open("/proc/self/status", "rb") as f:
                for ln in f:
                    if ln.startswith(b"VmRSS:"):
                        rss = int(ln.split()[1]) * 1024
                    elif ln.startswith(b"RssAnon:"):
                        anon = int(ln.split()[1]) * 1024
        except OSError:
            pass
        return rss, anon

    def _run(self) -> None:
        while not self.stop_ev.wait(self.interval):
            self._sample()

    def _sample(self) -> None:
        rss, anon = self.read()
        if rss > self.peak[0]:
            self.peak[0] = rss
        if anon > self.peak[1]:
            self.peak[1] = anon

    @staticmethod
    def trim() -> None:
        """Hands freed heap back to the OS (glibc malloc_trim), so that memory an earlier run or
        engine freed but the allocator kept does not hide this run's growth."""
        try:
            import ctypes
            ctypes.CDLL("libc.so.6").malloc_trim(0)
        except (OSError, AttributeError):
            pass

    def start(self) -> None:
        gc.collect()
        self.trim()
        self.base = self.read()
        self.peak = list(self.base)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def stop(self) -> tuple[int, int]:
        """(VmRSS growth, RssAnon growth) in bytes."""
        self._sample()
        self.stop_ev.set()
        self.thread.join()
        return max(0, self.peak[0] - self.base[0]), max(0, self.peak[1] - self.base[1])


# --------------------------------------------------------------------------------------------
# Engines. Each provides: build(lines, dir, ...) -> seconds (timed), size(dir), open(dir),
# open_time(dir), query_text(type, words, q) -> spec, can_run(type, spec), make_calls(type) ->
# (top10(spec) -> ids, count(spec) -> int).
# --------------------------------------------------------------------------------------------


class TantivyEngine:
    name = "tantivy"

    def __init__(self, tantivy_mod, with_ts: bool = False):
        self.t = tantivy_mod
        self.with_ts = with_ts
        sb = self.t.SchemaBuilder()
        sb.add_text_field("body", stored=False, tokenizer_name="default", index_option="position")
        if with_ts:
            sb.add_integer_field("ts", indexed=True, fast=True)
        self.schema = sb.build()
        self.index = None
        self.searcher = None
        self.last_segments = None

    def version(self) -> str:
        return metadata.version("tantivy")

    def version_detail(self) -> str:
        return getattr(self.t, "__version__", "")

    def build(self, lines: list[str], path: str, num_threads: int = 1) -> float:
        t = self.t
        index = t.Index(self.schema, path=path)
        writer = index.writer(heap_size=64_000_000, num_threads=num_threads)
        Document = t.Document
        loads = json.loads
        add = writer.add_document
        if not self.with_ts:
            # ---- timed: parse + add + commit + merge ----
            t0 = time.perf_counter_ns()
            for line in lines:
                add(Document(body=loads(line)["body"]))
            writer.commit()
            writer.wait_merging_threads()
            t1 = time.perf_counter_ns()
            # ----------------------------------------------
        else:
            # ---- timed: parse + add (body and ts) + commit + merge ----
            t0 = time.perf_counter_ns()
            for line in lines:
                d = loads(line)
                add(Document(body=d["body"], ts=d["ts"]))
            writer.commit()
            writer.wait_merging_threads()
            t1 = time.perf_counter_ns()
            # -----------------------------------------------------------
        index.reload()
        self.last_segments = index.searcher().num_segments
        return (t1 - t0) / 1e9

    def size(self, path: str) -> int:
        return dir_size(path)

    def size_detail(self, path: str) -> dict | None:
        return None

    def open(self, path: str) -> None:
        self.index = self.t.Index.open(path)
        self.index.reload()
        self.searcher = self.index.searcher()

    def open_time(self, path: str) -> float:
        """Index.open + reload + searcher + the first query (a count of the no-hit term)."""
        t = self.t
        t0 = time.perf_counter_ns()
        index = t.Index.open(path)
        index.reload()
        searcher = index.searcher()
        searcher.search(index.parse_query(NO_HIT_WORD, ["body"]), 1, count=True).count
        t1 = time.perf_counter_ns()
        del searcher, index
        return (t1 - t0) / 1e9

    def close(self) -> None:
        self.searcher = None
        self.index = None

    @staticmethod
    def query_text(qtype: str, words: list[str], q: dict | None = None):
        if qtype == "term":
            return words[0] if len(words) == 1 else '"' + " ".join(words) + '"'
        if qtype == "intersection":
            return " ".join("+" + w for w in words)
        if qtype == "union":
            return " ".join(words)
        if qtype == "phrase":
            return '"' + " ".join(words) + '"'
        if qtype == "prefix":
            # a regex over whole terms (Rust regex syntax); words are alphanumeric, nothing to escape
            return words[0] + ".*"
        if qtype == "time":
            term = words[0] if len(words) == 1 else '"' + " ".join(words) + '"'
            a, b = (q["ts_from"], q["ts_to"]) if q is not None else NO_HIT_RANGE
            return f"+{term} +ts:[{a} TO {b}]"
        if qtype == "mixed":
            return f'+"{words[0]} {words[1]}" +{words[2]}'
        raise ValueError(qtype)

    def can_run(self, qtype: str, text) -> bool:
        try:
            if qtype == "prefix":
                self.t.Query.regex_query(self.schema, "body", text)
            else:
                self.index.parse_query(text, ["body"])
            return True
        except Exception as e:  # ValueError from the parser
            log(f"  tantivy: parse failed for {text!r}: {e}")
            return False

    def make_calls(self, qtype: str = "term"):
        """Closures for the timed call paths (bound locals keep the Python overhead minimal)."""
        search = self.searcher.search
        if qtype == "prefix":
            regex = self.t.Query.regex_query
            schema = self.schema

            def top10(text):
                r = search(regex(schema, "body", text), 10, count=False)
                return [addr.doc for _score, addr in r.hits]

            def count(text):
                return search(regex(schema, "body", text), 1, count=True).count

            return top10, count

        parse = self.index.parse_query
        fields = ["body"]

        def top10(text):
            r = search(parse(text, fields), 10, count=False)
            return [addr.doc for _score, addr in r.hits]

        def count(text):
            return search(parse(text, fields), 1, count=True).count

        return top10, count


class Fts5Engine:
    name = "fts5"
    SQL_TOP = "SELECT rowid FROM docs WHERE docs MATCH ? ORDER BY rank LIMIT 10"
    SQL_COUNT = "SELECT count(*) FROM docs WHERE docs MATCH ?"
    SQL_TIME_TOP = ("SELECT docs.rowid FROM docs JOIN docs_ts ON docs_ts.id = docs.rowid "
                    "WHERE docs MATCH ?1 AND docs_ts.ts BETWEEN ?2 AND ?3 ORDER BY docs.rank LIMIT 10")
    SQL_TIME_COUNT = ("SELECT count(*) FROM docs JOIN docs_ts ON docs_ts.id = docs.rowid "
                      "WHERE docs MATCH ?1 AND docs_ts.ts BETWEEN ?2 AND ?3")

    def __init__(self, with_ts: bool = False):
        self.con = None
        self.with_ts = with_ts

    def version(self) -> str:
        return "sqlite " + sqlite3.sqlite_version

    def version_detail(self) -> str:
        return f"python sqlite3 module, SQLite {sqlite3.sqlite_version}"

    @staticmethod
    def db_path(path: str) -> str:
        return os.path.join(path, "fts5.db")

    def build(self, lines: list[str], path: str, num_threads: int = 1) -> float:
        os.makedirs(path, exist_ok=True)
        con = sqlite3.connect(self.db_path(path), isolation_level=None)
        con.execute(
            "CREATE VIRTUAL TABLE docs USING fts5(body, tokenize='unicode61 remove_diacritics 0')"
        )
        loads = json.loads
        if not self.with_ts:
            rows = ((i, loads(line)["body"]) for i, line in enumerate(lines))
            # ---- timed: parse + insert (one transaction) + commit ----
            t0 = time.perf_counter_ns()
            con.execute("BEGIN")
            con.executemany("INSERT INTO docs(rowid, body) VALUES (?, ?)", rows)
            con.execute("COMMIT")
            t1 = time.perf_counter_ns()
            # ---------------------------------------------------------
        else:
            con.execute("CREATE TABLE docs_ts(id INTEGER PRIMARY KEY, ts INTEGER NOT NULL)")
            ins_doc = "INSERT INTO docs(rowid, body) VALUES (?, ?)"
            ins_ts = "INSERT INTO docs_ts(id, ts) VALUES (?, ?)"
            # ---- timed: parse + insert into both tables (one transaction) + commit ----
            t0 = time.perf_counter_ns()
            con.execute("BEGIN")
            for start in range(0, len(lines), FTS5_TS_CHUNK):
                ds = [loads(line) for line in lines[start:start + FTS5_TS_CHUNK]]
                con.executemany(ins_doc, ((start + i, d["body"]) for i, d in enumerate(ds)))
                con.executemany(ins_ts, ((start + i, d["ts"]) for i, d in enumerate(ds)))
            con.execute("COMMIT")
            t1 = time.perf_counter_ns()
            # ---------------------------------------------------------------------------
        con.close()
        return (t1 - t0) / 1e9

    def size(self, path: str) -> int:
        db = self.db_path(path)
        return sum(os.path.getsize(p) for p in (db, db + "-journal", db + "-wal", db + "-shm") if os.path.exists(p))

    def size_detail(self, path: str) -> dict | None:
        """Bytes per FTS5 shadow table (dbstat), so the stored-text share can be told apart:
        docs_content holds a copy of every body (tantivy's field has stored=False), docs_data is
        the inverted index, docs_docsize the per-doc token counts used by bm25."""
        try:
            con = sqlite3.connect(self.db_path(path))
            rows = con.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name").fetchall()
            con.close()
            return {name: int(n) for name, n in rows}
        except sqlite3.Error:
            return None  # dbstat not compiled in

    def open(self, path: str) -> None:
        self.con = sqlite3.connect(self.db_path(path), isolation_level=None, cached_statements=16)

    def open_time(self, path: str) -> float:
        """connect + the first query (a count of the no-hit term; the schema is read there)."""
        t0 = time.perf_counter_ns()
        con = sqlite3.connect(self.db_path(path), isolation_level=None)
        con.execute(self.SQL_COUNT, ('"' + NO_HIT_WORD + '"',)).fetchone()
        t1 = time.perf_counter_ns()
        con.close()
        return (t1 - t0) / 1e9

    def close(self) -> None:
        if self.con is not None:
            self.con.close()
            self.con = None

    @staticmethod
    def query_text(qtype: str, words: list[str], q: dict | None = None):
        quoted = ['"' + w.replace('"', '""') + '"' for w in words]
        if qtype == "term":
            return quoted[0] if len(words) == 1 else '"' + " ".join(words) + '"'
        if qtype == "intersection":
            return " AND ".join(quoted)
        if qtype == "union":
            return " OR ".join(quoted)
        if qtype == "phrase":
            return '"' + " ".join(words) + '"'
        if qtype == "prefix":
            return quoted[0] + "*"
        if qtype == "time":
            term = quoted[0] if len(words) == 1 else '"' + " ".join(words) + '"'
            a, b = (q["ts_from"], q["ts_to"]) if q is not None else NO_HIT_RANGE
            return (term, a, b)
        if qtype == "mixed":
            return f'"{words[0]} {words[1]}" AND {quoted[2]}'
        raise ValueError(qtype)

    def can_run(self, qtype: str, text) -> bool:
        try:
            if qtype == "time":
                self.con.execute(self.SQL_TIME_COUNT, text).fetchone()
            else:
                self.con.execute(self.SQL_COUNT, (text,)).fetchone()
            return True
        except sqlite3.Error as e:
            log(f"  fts5: query failed for {text!r}: {e}")
            return False

    def make_calls(self, qtype: str = "term"):
        execute = self.con.execute
        if qtype == "time":
            sql_top, sql_count = self.SQL_TIME_TOP, self.SQL_TIME_COUNT

            def top10(params):
                return [r[0] for r in execute(sql_top, params).fetchall()]

            def count(params):
                return execute(sql_count, params).fetchone()[0]

            return top10, count

        sql_top, sql_count = self.SQL_TOP, self.SQL_COUNT

        def top10(text):
            return [r[0] for r in execute(sql_top, (text,)).fetchall()]

        def count(text):
            return execute(sql_count, (text,)).fetchone()[0]

        return top10, count


# --------------------------------------------------------------------------------------------


def time_calls(fn, arg, n: int, out: list[int]) -> None:
    pc = time.perf_counter_ns
    for _ in range(n):
        t0 = pc()
        fn(arg)
        out.append(pc() - t0)


def index_runs(engine, lines, docs_bytes, args, workdir, num_threads: int, tag: str, keep_last: bool):
    """--index-runs fresh builds; returns (index info dict, dir of the last run or None)."""
    name = engine.name
    runs = []
    last_dir = None
    detail = None
    segments = None
    for r in range(args.index_runs):
        d = os.path.join(workdir, f"{name}{tag}-run{r}")
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        gc.collect()
        sampler = RssSampler()
        sampler.start()
        try:
            secs = engine.build(lines, d, num_threads)
        finally:
            rss, anon = sampler.stop()
        size = engine.size(d)
        runs.append((secs, size, rss, anon, getattr(engine, "last_segments", None)))
        log(f"[{name}{tag}] index run {r + 1}/{args.index_runs}: {secs:.3f} s, {size} bytes, "
            f"RSS +{rss / 1e6:.1f} MB (anon +{anon / 1e6:.1f} MB)")
        detail = engine.size_detail(d)
        if last_dir is not None:
            shutil.rmtree(last_dir, ignore_errors=True)
        last_dir = d
    best = min(runs, key=lambda x: x[0])
    best_secs, best_size = best[0], best[1]
    segments = best[4]
    index_info = {
        "docs": len(lines),
        "seconds": round(best_secs, 6),
        "docs_per_s": round(len(lines) / best_secs, 1),
        "mb_per_s": round(docs_bytes / 1e6 / best_secs, 3),
        "size_bytes": best_size,
        "includes_json_parse": True,
        "runs_seconds": [round(x[0], 6) for x in runs],
        "runs": args.index_runs,
        "rss_growth_bytes": max(x[2] for x in runs),
        "rss_anon_growth_bytes": max(x[3] for x in runs),
        "rss_growth_bytes_runs": [x[2] for x in runs],
        "with_ts": bool(getattr(engine, "with_ts", False)),
    }
    if name == "tantivy":
        index_info["writer_threads"] = num_threads
        index_info["segments"] = segments
    if detail is not None:
        index_info["size_by_table_bytes"] = detail
        if "docs_content" in detail:
            # File size minus the stored copy of the bodies: comparable to tantivy's stored=False.
            index_info["size_bytes_without_content"] = best_size - detail["docs_content"]
    if not keep_last:
        shutil.rmtree(last_dir, ignore_errors=True)
        last_dir = None
    return index_info, last_dir


def bench_engine(engine, lines, docs_bytes, queries, n_lines, args, workdir) -> dict:
    name = engine.name
    # ---------------- indexing ----------------
    threads = args.tantivy_threads if name == "tantivy" else 1
    index_info, last_dir = index_runs(engine, lines, docs_bytes, args, workdir, threads, "", keep_last=True)

    # ---------------- open time ----------------
    open_runs = []
    for _ in range(args.open_runs):
        gc.collect()
        open_runs.append(engine.open_time(last_dir))
    index_info["open_seconds"] = round(min(open_runs), 6)
    index_info["open_runs_seconds"] = [round(x, 6) for x in open_runs]
    log(f"[{name}] open + first query: best {min(open_runs) * 1e3:.2f} ms of {len(open_runs)}")

    # ---------------- queries ----------------
    engine.open(last_dir)
    calls = {t: engine.make_calls(t) for t in QUERY_TYPES}
    top10, count = calls["term"]
    prepared, skipped = [], 0
    for q in queries:
        if not q["words"]:
            skipped += 1
            log(f"  {name}: no words in {q['raw']!r}, skipped")
            continue
        if q["type"] == "time" and ("ts_from" not in q or not engine.with_ts):
            skipped += 1
            log(f"  {name}: time query {q['raw']!r} without ts_from/ts_to or corpus without ts, skipped")
            continue
        if q["type"] == "prefix" and len(q["words"]) != 1:
            skipped += 1
            log(f"  {name}: prefix query {q['raw']!r} is not one word, skipped")
            continue
        text = engine.query_text(q["type"], q["words"], q)
        if not engine.can_run(q["type"], text):
            skipped += 1
            continue
        prepared.append((q, text) + calls[q["type"]])

    # Warm-up pass (untimed): collect counts, sanity-check top-10 length.
    counts, sanity_bad = {}, 0
    hit_counts = [None] * n_lines
    for q, text, q_top10, q_count in prepared:
        c = q_count(text)
        ids = q_top10(text)
        counts[q["key"]] = c
        hit_counts[q["line"]] = c
        if len(ids) != min(c, 10):
            sanity_bad += 1
            log(f"  {name}: SANITY top10 len {len(ids)} != min(count={c},10) for {q['key']!r}")

    # Floor: same call paths, a term with no hits. Timed between the queries (after each
    # query's runs, the same number of floor runs per mode), so the floor subtracted from a query
    # type was measured over the same seconds as that type: a slow spell of the machine moves
    # both, not only one side of the difference. prefix and time use their own call path.
    floor_text = engine.query_text("term", [NO_HIT_WORD])
    floors = {t: (floor_text, top10, count) for t in QUERY_TYPES}
    for t in ("prefix", "time"):
        if t == "time" and not engine.with_ts:
            continue
        floors[t] = (engine.query_text(t, [NO_HIT_WORD]),) + calls[t]
    for t, (ftext, ftop, fcount) in floors.items():
        if ftop(ftext) != [] or fcount(ftext) != 0:
            log(f"  {name}: floor query ({t}) unexpectedly has hits")

    # Timed runs: per query and mode, `repeat` back-to-back runs, then the floor's.
    samples = {t: {"top10": [], "count": []} for t in QUERY_TYPES}
    floor_samples = {t: {"top10": [], "count": []} for t in QUERY_TYPES}
    nq = {t: 0 for t in QUERY_TYPES}
    nzero = {t: 0 for t in QUERY_TYPES}
    t_start = time.perf_counter()
    for i, (q, text, q_top10, q_count) in enumerate(prepared):
        qt = q["type"]
        nq[qt] += 1
        nzero[qt] += counts[q["key"]] == 0
        ftext, ftop, fcount = floors[qt]
        gc.disable()
        try:
            time_calls(q_top10, text, args.repeat, samples[qt]["top10"])
            time_calls(q_count, text, args.repeat, samples[qt]["count"])
            time_calls(ftop, ftext, args.repeat, floor_samples[qt]["top10"])
            time_calls(fcount, ftext, args.repeat, floor_samples[qt]["count"])
        finally:
            gc.enable()
        if (i + 1) % 200 == 0:
            log(f"[{name}] {i + 1}/{len(prepared)} queries ({time.perf_counter() - t_start:.1f} s)")
    engine.close()

    floor = {mode: stats_us([x for t in QUERY_TYPES for x in floor_samples[t][mode]]) for mode in ("top10", "count")}
    floor_by_type = {t: {mode: stats_us(floor_samples[t][mode]) for mode in ("top10", "count") if floor_samples[t][mode]}
                     for t in QUERY_TYPES}
    n_floor = sum(len(floor_samples[t]["top10"]) for t in QUERY_TYPES)
    latency = {}
    for t in QUERY_TYPES:
        latency[t] = {}
        for mode in ("top10", "count"):
            s = samples[t][mode]
            if not s:
                latency[t][mode] = {"p50_us": None, "p99_us": None, "p50_minus_floor_us": None,
                                    "p99_minus_floor_us": None, "queries": 0, "zero_hit_queries": 0}
                continue
            st = stats_us(s)
            fl = floor_by_type[t][mode]["p50"]
            latency[t][mode] = {
                "p50_us": st["p50"],
                "p99_us": st["p99"],
                "floor_p50_us": fl,
                "p50_minus_floor_us": round(max(0.0, st["p50"] - fl), 3),
                "p99_minus_floor_us": round(max(0.0, st["p99"] - fl), 3),
                "queries": nq[t],
                "zero_hit_queries": nzero[t],
            }
    log(f"[{name}] done: {len(prepared)} queries x {args.repeat} repeats x 2 modes, "
        f"{time.perf_counter() - t_start:.1f} s")

    if not args.keep:
        shutil.rmtree(last_dir, ignore_errors=True)

    result = {
        "version": engine.version(),
        "version_detail": engine.version_detail(),
        "index": index_info,
        "floor_us": {"p50": floor["top10"]["p50"], "p99": floor["top10"]["p99"],
                     "by_mode": floor, "by_type": floor_by_type, "samples": n_floor, "query": NO_HIT_WORD},
        "latency": latency,
        "counts": counts,
        "hit_counts": hit_counts,
        "skipped": skipped,
        "sanity_top10_len_mismatches": sanity_bad,
    }

    # ---------------- tantivy at its default thread count ----------------
    if name == "tantivy" and args.tantivy_threads_both:
        info, _ = index_runs(engine, lines, docs_bytes, args, workdir, 0, "-default-threads", keep_last=False)
        info["writer_threads_expected"] = min(os.cpu_count() or 1, 8)
        result["index_default_threads"] = info
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--docs", required=True, help="JSON lines corpus with a 'body' field")
    ap.add_argument("--queries", required=True, help="queries.txt (search-benchmark-game format)")
    ap.add_argument("--repeat", type=int, default=20, help="timed runs per query and mode")
    ap.add_argument("--workdir", default=None, help="where index dirs go (default: a temp dir)")
    ap.add_argument("--engines", default="tantivy,fts5", help="comma list of tantivy,fts5")
    ap.add_argument("--index-runs", type=int, default=3, help="indexing repetitions (best reported)")
    ap.add_argument("--keep", action="store_true", help="keep the index dirs")
    ap.add_argument("--types", default=",".join(QUERY_TYPES),
                    help="comma list of query types to time (strata-bench runs one type at a time, "
                         "alternating with its own timing of that type)")
    ap.add_argument("--tantivy-threads", type=int, default=1,
                    help="tantivy writer threads for the queried index (default 1; 0 = tantivy's default)")
    ap.add_argument("--tantivy-threads-both", action="store_true",
                    help="also index with tantivy's default thread count (reported as index_default_threads)")
    ap.add_argument("--open-runs", type=int, default=5, help="timed opens of the committed index (best reported)")
    ap.add_argument("--no-ts", action="store_true", help="do not index a corpus's 'ts' field (time queries are skipped)")
    args = ap.parse_args()

    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    for e in engines:
        if e not in ("tantivy", "fts5"):
            ap.error(f"unknown engine {e!r}")
    if args.repeat < 1 or args.index_runs < 1 or args.open_runs < 1:
        ap.error("--repeat, --index-runs and --open-runs must be >= 1")
    if args.tantivy_threads < 0:
        ap.error("--tantivy-threads must be >= 0")

    for p in (args.docs, args.queries):
        if not os.path.isfile(p):
            skip(f"data file not found: {p}")
    tantivy_mod = None
    if "tantivy" in engines:
        try:
            import tantivy as tantivy_mod  # noqa: F811
        except ImportError:
            skip("python package 'tantivy' is not installed (pip install -r requirements.txt)")
    if "fts5" in engines:
        try:
            c = sqlite3.connect(":memory:")
            c.execute("CREATE VIRTUAL TABLE t USING fts5(x, tokenize='unicode61 remove_diacritics 0')")
            c.close()
        except sqlite3.Error as e:
            skip(f"SQLite FTS5 not available: {e}")

    # Corpus lines are read (not parsed) before any timing.
    with open(args.docs, encoding="utf-8") as f:
        lines = [ln for ln in f if ln.strip()]
    docs_bytes = os.path.getsize(args.docs)
    if not lines:
        ap.error(f"{args.docs}: no documents")
    first = json.loads(lines[0])
    if not isinstance(first, dict) or not isinstance(first.get("body"), str):
        ap.error(f"{args.docs}: first line has no string 'body' field (expected url/title/body JSON lines)")
    ts0 = first.get("ts")
    with_ts = isinstance(ts0, int) and not isinstance(ts0, bool) and not args.no_ts
    queries, untyped, n_lines = load_queries(args.queries)
    wanted = {t.strip() for t in args.types.split(",") if t.strip()}
    if not wanted or not wanted <= set(QUERY_TYPES):
        ap.error(f"--types: choose from {','.join(QUERY_TYPES)}")
    queries = [q for q in queries if q["type"] in wanted]
    by_type = {t: sum(1 for q in queries if q["type"] == t) for t in QUERY_TYPES}
    log(f"corpus: {len(lines)} docs, {docs_bytes} bytes, ts {'indexed' if with_ts else 'no'}; queries: "
        f"{len(queries)} typed {by_type}, {untyped} untyped (not run)")

    own_tmp = args.workdir is None
    workdir = tempfile.mkdtemp(prefix="search-peers-") if own_tmp else args.workdir
    os.makedirs(workdir, exist_ok=True)

    result = {
        "corpus": {"path": os.path.abspath(args.docs), "docs": len(lines), "bytes": docs_bytes, "with_ts": with_ts},
        "queries": {"path": os.path.abspath(args.queries), "typed": len(queries), "by_type": by_type,
                    "untyped": untyped, "repeat": args.repeat, "lines": n_lines},
        "env": {"python": sys.version.split()[0], "threads": 1, "tantivy_writer_threads": args.tantivy_threads,
                "cpu_count": os.cpu_count()},
        "engines": {},
    }
    try:
        for e in engines:
            eng = TantivyEngine(tantivy_mod, with_ts) if e == "tantivy" else Fts5Engine(with_ts)
            log(f"== {e} ==")
            result["engines"][e] = bench_engine(eng, lines, docs_bytes, queries, n_lines, args, workdir)
    finally:
        if own_tmp and not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)

    # Cross-check counts: tantivy vs FTS5 should agree for identical tokenization.
    if "tantivy" in result["engines"] and "fts5" in result["engines"]:
        ct = result["engines"]["tantivy"]["counts"]
        cf = result["engines"]["fts5"]["counts"]
        common = sorted(set(ct) & set(cf))
        diff = [k for k in common if ct[k] != cf[k]]
        result["cross_check"] = {"compared": len(common), "count_disagreements": len(diff),
                                 "examples": [{"key": k, "tantivy": ct[k], "fts5": cf[k]} for k in diff[:10]]}
        log(f"count cross-check tantivy vs fts5: {len(diff)} disagreements out of {len(common)}")
        for k in diff[:10]:
            log(f"  {k!r}: tantivy={ct[k]} fts5={cf[k]}")

    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
