#!/usr/bin/env python3
"""Peer benchmark: tantivy (Python binding) and SQLite FTS5 on one corpus and one query set.

Usage:
    python3 search_peers.py --docs /work/shared/data/tantivy-benches/wiki.json \
        --queries /work/shared/data/sbg-queries/queries.txt [--repeat 20] [--workdir DIR] \
        [--engines tantivy,fts5] [--index-runs 3] [--keep]

Prints ONE JSON object on stdout; progress and diagnostics go to stderr.
If a data file, tantivy or FTS5 is missing it prints {"skipped": "<reason>"} and exits 0.

Everything is single-threaded: tantivy's writer gets num_threads=1 and its searcher uses the
default single-thread executor; sqlite3 is single-threaded by construction.

What is measured
----------------
Corpus: JSON lines with "url", "title", "body". Only `body` is indexed, as ONE text field,
doc i = line i (0-based) of the file. Tokenization in both engines is "split on
non-alphanumeric Unicode characters, lowercase":
  * tantivy: `default` tokenizer (SimpleTokenizer + RemoveLongFilter(40 bytes) + LowerCaser),
    field indexed with positions (index_option="position"), stored=False.
  * FTS5: tokenize='unicode61 remove_diacritics 0'.

Indexing (per engine, `--index-runs` times, fresh directory each time, best = min seconds):
  The raw lines are read into memory BEFORE the clock starts. The timed region is
  json.loads of every line + adding the document + the commit that makes it durable/searchable:
  * tantivy: Index(schema, path=dir) and index.writer(heap_size=64_000_000, num_threads=1) are
    created before the clock; timed = for each line json.loads + writer.add_document(...),
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
  includes_json_parse=true, runs_seconds (all runs).

Queries: each line of the queries file is {"query": ..., "tags": [...]}. The type is the first
tag among term/phrase/intersection/union; lines without one (e.g. intersection_union, negated,
two-phase-critic) are not run and are counted in "queries.untyped". Query words are obtained by
tokenizing the raw query the same way as documents (split on non-alphanumeric, lowercase), and the
engine query is built from the words:
  * tantivy (index.parse_query(text, ["body"])): term `w`, intersection `+w1 +w2`,
    union `w1 w2` (default OR), phrase `"w1 w2"`. A parse failure skips the query for tantivy
    ("skipped").
  * FTS5 MATCH expression, every word double-quoted: term `"w"`, intersection `"w1" AND "w2"`,
    union `"w1" OR "w2"`, phrase `"w1 w2"`.
  (A term query whose text splits into several words, e.g. `foo-bar`, becomes the phrase
  `"foo bar"` in both engines, as tantivy's own parser would do; none occur in sbg queries.txt.)
Modes:
  * top10: tantivy searcher.search(q, 10, count=False) and the DocAddress -> doc id list;
           FTS5 `SELECT rowid FROM docs WHERE docs MATCH ? ORDER BY rank LIMIT 10` + fetchall.
  * count: FTS5 `SELECT count(*) FROM docs WHERE docs MATCH ?`;
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
  (p50/p99), per-mode floors in "floor_us.by_mode", per-type in "floor_us.by_type".
  "*_minus_floor_us" subtract the floor p50 of the SAME type and mode ("floor_p50_us"), clamped
  at 0.
Counts: "counts" maps "<type>\\t<raw query>" -> hit count (from the count mode), so another
  engine with the same tokenization can check its own counts; tantivy vs FTS5 disagreements are
  reported in "cross_check" and with examples on stderr. A sanity check also verifies that each
  engine's top-10 length == min(count, 10).
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
import time
from importlib import metadata

QUERY_TYPES = ("term", "phrase", "intersection", "union")
NO_HIT_WORD = "zzqxjvnohit"
# Words = maximal runs of Unicode alphanumerics ([^\W_] = \w without the underscore).
WORD_RE = re.compile(r"[^\W_]+")


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


def load_queries(path: str) -> tuple[list[dict], int]:
    """Returns (typed queries, number of untyped lines). Each query: type, raw, words, key."""
    out, untyped = [], 0
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            d = json.loads(line)
            qtype = next((t for t in d.get("tags", []) if t in QUERY_TYPES), None)
            if qtype is None:
                untyped += 1
                continue
            raw = d["query"]
            out.append({"type": qtype, "raw": raw, "words": words_of(raw), "key": f"{qtype}\t{raw}"})
    return out, untyped


# --------------------------------------------------------------------------------------------
# Engines. Each provides: build(dir) -> seconds (timed), size(dir), open(dir), query_text(type,
# words), top10(text) -> ids, count(text) -> int, and can_run(text) for parse checks.
# --------------------------------------------------------------------------------------------


class TantivyEngine:
    name = "tantivy"

    def __init__(self, tantivy_mod):
        self.t = tantivy_mod
        sb = self.t.SchemaBuilder()
        sb.add_text_field("body", stored=False, tokenizer_name="default", index_option="position")
        self.schema = sb.build()
        self.index = None
        self.searcher = None

    def version(self) -> str:
        return metadata.version("tantivy")

    def version_detail(self) -> str:
        return getattr(self.t, "__version__", "")

    def build(self, lines: list[str], path: str) -> float:
        t = self.t
        index = t.Index(self.schema, path=path)
        writer = index.writer(heap_size=64_000_000, num_threads=1)
        Document = t.Document
        loads = json.loads
        add = writer.add_document
        # ---- timed: parse + add + commit + merge ----
        t0 = time.perf_counter_ns()
        for line in lines:
            add(Document(body=loads(line)["body"]))
        writer.commit()
        writer.wait_merging_threads()
        t1 = time.perf_counter_ns()
        # ----------------------------------------------
        index.reload()
        return (t1 - t0) / 1e9

    def size(self, path: str) -> int:
        return dir_size(path)

    def size_detail(self, path: str) -> dict | None:
        return None

    def open(self, path: str) -> None:
        self.index = self.t.Index.open(path)
        self.index.reload()
        self.searcher = self.index.searcher()

    def close(self) -> None:
        self.searcher = None
        self.index = None

    @staticmethod
    def query_text(qtype: str, words: list[str]) -> str:
        if qtype == "term":
            return words[0] if len(words) == 1 else '"' + " ".join(words) + '"'
        if qtype == "intersection":
            return " ".join("+" + w for w in words)
        if qtype == "union":
            return " ".join(words)
        if qtype == "phrase":
            return '"' + " ".join(words) + '"'
        raise ValueError(qtype)

    def can_run(self, text: str) -> bool:
        try:
            self.index.parse_query(text, ["body"])
            return True
        except Exception as e:  # ValueError from the parser
            log(f"  tantivy: parse failed for {text!r}: {e}")
            return False

    def make_calls(self):
        """Closures for the timed call paths (bound locals keep the Python overhead minimal)."""
        parse = self.index.parse_query
        search = self.searcher.search
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

    def __init__(self):
        self.con = None

    def version(self) -> str:
        return "sqlite " + sqlite3.sqlite_version

    def version_detail(self) -> str:
        return f"python sqlite3 module, SQLite {sqlite3.sqlite_version}"

    @staticmethod
    def db_path(path: str) -> str:
        return os.path.join(path, "fts5.db")

    def build(self, lines: list[str], path: str) -> float:
        os.makedirs(path, exist_ok=True)
        con = sqlite3.connect(self.db_path(path), isolation_level=None)
        con.execute(
            "CREATE VIRTUAL TABLE docs USING fts5(body, tokenize='unicode61 remove_diacritics 0')"
        )
        loads = json.loads
        rows = ((i, loads(line)["body"]) for i, line in enumerate(lines))
        # ---- timed: parse + insert (one transaction) + commit ----
        t0 = time.perf_counter_ns()
        con.execute("BEGIN")
        con.executemany("INSERT INTO docs(rowid, body) VALUES (?, ?)", rows)
        con.execute("COMMIT")
        t1 = time.perf_counter_ns()
        # ---------------------------------------------------------
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

    def close(self) -> None:
        if self.con is not None:
            self.con.close()
            self.con = None

    @staticmethod
    def query_text(qtype: str, words: list[str]) -> str:
        quoted = ['"' + w.replace('"', '""') + '"' for w in words]
        if qtype == "term":
            return quoted[0] if len(words) == 1 else '"' + " ".join(words) + '"'
        if qtype == "intersection":
            return " AND ".join(quoted)
        if qtype == "union":
            return " OR ".join(quoted)
        if qtype == "phrase":
            return '"' + " ".join(words) + '"'
        raise ValueError(qtype)

    def can_run(self, text: str) -> bool:
        try:
            self.con.execute(self.SQL_COUNT, (text,)).fetchone()
            return True
        except sqlite3.Error as e:
            log(f"  fts5: query failed for {text!r}: {e}")
            return False

    def make_calls(self):
        execute = self.con.execute
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


def bench_engine(engine, lines, docs_bytes, queries, args, workdir) -> dict:
    name = engine.name
    # ---------------- indexing ----------------
    runs = []
    last_dir = None
    for r in range(args.index_runs):
        d = os.path.join(workdir, f"{name}-run{r}")
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        gc.collect()
        secs = engine.build(lines, d)
        size = engine.size(d)
        runs.append((secs, size))
        log(f"[{name}] index run {r + 1}/{args.index_runs}: {secs:.3f} s, {size} bytes")
        detail = engine.size_detail(d)
        if last_dir is not None:
            shutil.rmtree(last_dir, ignore_errors=True)
        last_dir = d
    best_secs, best_size = min(runs, key=lambda x: x[0])
    index_info = {
        "docs": len(lines),
        "seconds": round(best_secs, 6),
        "docs_per_s": round(len(lines) / best_secs, 1),
        "mb_per_s": round(docs_bytes / 1e6 / best_secs, 3),
        "size_bytes": best_size,
        "includes_json_parse": True,
        "runs_seconds": [round(s, 6) for s, _ in runs],
        "runs": args.index_runs,
    }
    if detail is not None:
        index_info["size_by_table_bytes"] = detail
        if "docs_content" in detail:
            # File size minus the stored copy of the bodies: comparable to tantivy's stored=False.
            index_info["size_bytes_without_content"] = best_size - detail["docs_content"]

    # ---------------- queries ----------------
    engine.open(last_dir)
    top10, count = engine.make_calls()
    prepared, skipped = [], 0
    for q in queries:
        if not q["words"]:
            skipped += 1
            log(f"  {name}: no words in {q['raw']!r}, skipped")
            continue
        text = engine.query_text(q["type"], q["words"])
        if not engine.can_run(text):
            skipped += 1
            continue
        prepared.append((q, text))

    # Warm-up pass (untimed): collect counts, sanity-check top-10 length.
    counts, sanity_bad = {}, 0
    for q, text in prepared:
        c = count(text)
        ids = top10(text)
        counts[q["key"]] = c
        if len(ids) != min(c, 10):
            sanity_bad += 1
            log(f"  {name}: SANITY top10 len {len(ids)} != min(count={c},10) for {q['key']!r}")

    # Floor: same call paths, a term with no hits. Timed between the queries (after each
    # query's runs, the same number of floor runs per mode), so the floor subtracted from a query
    # type was measured over the same seconds as that type: a slow spell of the machine moves
    # both, not only one side of the difference.
    floor_text = engine.query_text("term", [NO_HIT_WORD])
    for mode, fn in (("top10", top10), ("count", count)):
        if fn(floor_text) not in ([], 0):
            log(f"  {name}: floor query unexpectedly has hits")

    # Timed runs: per query and mode, `repeat` back-to-back runs, then the floor's.
    samples = {t: {"top10": [], "count": []} for t in QUERY_TYPES}
    floor_samples = {t: {"top10": [], "count": []} for t in QUERY_TYPES}
    nq = {t: 0 for t in QUERY_TYPES}
    nzero = {t: 0 for t in QUERY_TYPES}
    t_start = time.perf_counter()
    for i, (q, text) in enumerate(prepared):
        nq[q["type"]] += 1
        nzero[q["type"]] += counts[q["key"]] == 0
        gc.disable()
        try:
            time_calls(top10, text, args.repeat, samples[q["type"]]["top10"])
            time_calls(count, text, args.repeat, samples[q["type"]]["count"])
            time_calls(top10, floor_text, args.repeat, floor_samples[q["type"]]["top10"])
            time_calls(count, floor_text, args.repeat, floor_samples[q["type"]]["count"])
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

    return {
        "version": engine.version(),
        "version_detail": engine.version_detail(),
        "index": index_info,
        "floor_us": {"p50": floor["top10"]["p50"], "p99": floor["top10"]["p99"],
                     "by_mode": floor, "by_type": floor_by_type, "samples": n_floor, "query": NO_HIT_WORD},
        "latency": latency,
        "counts": counts,
        "skipped": skipped,
        "sanity_top10_len_mismatches": sanity_bad,
    }


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
    args = ap.parse_args()

    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    for e in engines:
        if e not in ("tantivy", "fts5"):
            ap.error(f"unknown engine {e!r}")
    if args.repeat < 1 or args.index_runs < 1:
        ap.error("--repeat and --index-runs must be >= 1")

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
    queries, untyped = load_queries(args.queries)
    wanted = {t.strip() for t in args.types.split(",") if t.strip()}
    if not wanted or not wanted <= set(QUERY_TYPES):
        ap.error(f"--types: choose from {','.join(QUERY_TYPES)}")
    queries = [q for q in queries if q["type"] in wanted]
    by_type = {t: sum(1 for q in queries if q["type"] == t) for t in QUERY_TYPES}
    log(f"corpus: {len(lines)} docs, {docs_bytes} bytes; queries: {len(queries)} typed {by_type}, "
        f"{untyped} untyped (not run)")

    own_tmp = args.workdir is None
    workdir = tempfile.mkdtemp(prefix="search-peers-") if own_tmp else args.workdir
    os.makedirs(workdir, exist_ok=True)

    result = {
        "corpus": {"path": os.path.abspath(args.docs), "docs": len(lines), "bytes": docs_bytes},
        "queries": {"path": os.path.abspath(args.queries), "typed": len(queries), "by_type": by_type,
                    "untyped": untyped, "repeat": args.repeat},
        "env": {"python": sys.version.split()[0], "threads": 1},
        "engines": {},
    }
    try:
        for e in engines:
            eng = TantivyEngine(tantivy_mod) if e == "tantivy" else Fts5Engine()
            log(f"== {e} ==")
            result["engines"][e] = bench_engine(eng, lines, docs_bytes, queries, args, workdir)
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
