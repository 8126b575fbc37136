#!/usr/bin/env python3
"""Query sets for a JSON-lines corpus (gen_logs.py or gen_kernel_docs.py output).

Usage:
    python3 Benchmarks/corpus/gen_queries.py --docs CORPUS.json --out QUERIES.json
        [--seed 7] [--per-type 200] [--sample-docs 200000] [--types term,intersection,...]
        [--max-completions 1000]

Writes one JSON object per line, the format Benchmarks/peers/search_peers.py reads:
    {"query": "<text>", "tags": ["<type>", ...]}                      every type
    {"query": "<term>", "tags": ["time", "band:<b>"], "ts_from": A, "ts_to": B}   type time
The type is the first tag; ts_from / ts_to are epoch milliseconds, both inclusive.

Words are chosen with the peers' tokenization (tantivy's `default` tokenizer, FTS5 unicode61):
split on non-alphanumeric Unicode characters, lowercase, and only words shorter than 40 UTF-8
bytes (tantivy drops longer tokens). Only "body" is read. Statistics come from a sample of at
most --sample-docs documents spread evenly over the file (a small file is read whole; a large one
by seeking to evenly spaced byte offsets and taking the next whole line), so a 1.7 GB corpus takes
seconds. "df" below is the document frequency in that sample (n docs); "eligible" words have df >= 2.

Types (--per-type of each, fewer only if the sample has not enough distinct candidates):
  term          one word; the i-th term query is from band high, mid, low, high, ... and is tagged
                "band:high" / "band:mid" / "band:low": high = df >= 1 % of n, mid = df >= 0.01 % of n
                (at least 2), low = the rest (often df 1: ids, rare words); uniform over the band's words
  intersection  2-3 distinct eligible words of one random document, at least one containing a
                letter, `+a +b [+c]` (always >= 1 hit)
  union         2-3 eligible words, each from its own random document, at least one containing a
                letter, `a b [c]`
  phrase        2-3 adjacent tokens of one random document, at least one containing a letter,
                `"a b [c]"` (always >= 1 hit)
  prefix        the first 3-5 characters of a random eligible alphabetic word of >= 4 characters
                such that 2 .. --max-completions distinct sample words start with it, `abc*`;
                never a prefix that may begin a word of >= 40 bytes (tantivy drops such words,
                FTS5 keeps them, so the engines' counts would differ): one seen in the sample,
                or one of hex letters only when the sample has long hex words (hashes)
  mixed         a phrase of 2 adjacent tokens and another eligible word of the same random document,
                at least one containing a letter, `+"a b" +c` (always >= 1 hit): a shape outside
                Strata's specialised plans, run by its general match tree
  time          (corpora with an integer "ts" only) a high- or mid-band term (alternating) and a
                range [ts_from, ts_to] covering a uniformly drawn 1-10 % of the sample's ts span
Queries are distinct within a type. Each type draws from its own RNG (seeded by --seed and the
type's name), so the output is deterministic for a seed and changing one type leaves the others.
A one-line summary goes to stderr.
"""

from __future__ import annotations

import argparse
import bisect
import json
import math
import os
import random
import re
import sys
import time

WORD_RE = re.compile(r"[^\W_]+")
HEX_RE = re.compile(r"[0-9a-f]+")
MAX_WORD_BYTES = 40  # tantivy's RemoveLongFilter keeps tokens of < 40 bytes
ALL_TYPES = ("term", "intersection", "union", "phrase", "prefix", "time", "mixed")
SMALL_FILE_BYTES_PER_DOC = 1024  # read the whole file when it is under sample_docs * this


def tokens(text: str) -> list[str]:
    """Lowercased words in order; a too-long word stays in the list as None (it has a position
    in neither phrase candidate)."""
    out = []
    for w in WORD_RE.findall(text):
        w = w.lower()
        out.append(w if len(w.encode("utf-8")) < MAX_WORD_BYTES else None)
    return out


def has_letter(w: str) -> bool:
    return any(c.isalpha() for c in w)


def read_sample(path: str, m: int) -> list[str]:
    size = os.path.getsize(path)
    if size <= m * SMALL_FILE_BYTES_PER_DOC:
        with open(path, "rb") as f:
            lines = [ln for ln in f if ln.strip()]
        if len(lines) <= m:
            return [ln.decode("utf-8") for ln in lines]
        return [lines[(i * len(lines)) // m].decode("utf-8") for i in range(m)]
    out = []
    with open(path, "rb") as f:
        end_of_last = 0
        for i in range(m):
            off = max((i * size) // m, end_of_last)
            if off >= size:
                break
            f.seek(off)
            if off > 0:
                f.seek(off - 1)
                if f.read(1) != b"\n":
                    f.readline()  # skip the partial line
            ln = f.readline()
            end_of_last = f.tell()
            if ln.strip():
                out.append(ln.decode("utf-8"))
        # the last line, so the sample's ts span reaches the end of the file
        f.seek(max(0, size - 65536))
        tail = [t for t in f.read().splitlines() if t.strip()]
        last = tail[-1].decode("utf-8") if tail else None
        if last is not None and (not out or out[-1].rstrip("\n") != last):
            out.append(last + "\n")
    return out


class Sample:
    def __init__(self, lines: list[str]):
        self.docs: list[list] = []
        self.ts: list[int] = []
        df: dict[str, int] = {}
        long_words: set[str] = set()
        has_ts = True
        for ln in lines:
            d = json.loads(ln)
            body = d.get("body")
            if not isinstance(body, str):
                continue
            toks = tokens(body)
            if None in toks:
                long_words.update(w.lower() for w in WORD_RE.findall(body) if len(w.encode("utf-8")) >= MAX_WORD_BYTES)
            self.docs.append(toks)
            for w in set(toks):
                if w is not None:
                    df[w] = df.get(w, 0) + 1
            t = d.get("ts")
            if isinstance(t, int) and not isinstance(t, bool):
                self.ts.append(t)
            else:
                has_ts = False
        self.has_ts = has_ts and bool(self.ts)
        self.df = df
        self.n = len(self.docs)
        self.vocab = sorted(df)
        # words tantivy drops (>= 40 bytes) but FTS5 keeps: a prefix that may begin one of them
        # would count differently in the two engines
        self.long_words = sorted(long_words)
        self.long_hex = any(HEX_RE.fullmatch(w) for w in long_words)
        n = max(1, self.n)
        self.mid_lo = max(2, math.ceil(n * 1e-4))
        self.high_lo = max(self.mid_lo + 1, math.ceil(n * 1e-2))
        self.bands = {"high": [], "mid": [], "low": []}
        for w in self.vocab:
            c = df[w]
            self.bands["high" if c >= self.high_lo else "mid" if c >= self.mid_lo else "low"].append(w)

    def eligible(self, toks) -> list[str]:
        return sorted({w for w in toks if w is not None and self.df[w] >= 2})

    def may_begin_long_word(self, prefix: str) -> bool:
        """True when a sample word of >= 40 bytes starts with prefix, or when prefix is made of
        hex letters only and the sample has long hex words (hashes: more of them at scale)."""
        i = bisect.bisect_left(self.long_words, prefix)
        if i < len(self.long_words) and self.long_words[i].startswith(prefix):
            return True
        return self.long_hex and HEX_RE.fullmatch(prefix) is not None

    def completions(self, prefix: str, cap: int) -> int:
        """Distinct sample words starting with prefix (counting stops past cap)."""
        i = bisect.bisect_left(self.vocab, prefix)
        n = 0
        while i < len(self.vocab) and self.vocab[i].startswith(prefix):
            n += 1
            if n > cap:
                break
            i += 1
        return n


def gen_term(s: Sample, rng: random.Random, n: int) -> list[dict]:
    order = ("high", "mid", "low")
    want = {b: len(range(i, n, 3)) for i, b in enumerate(order)}
    picked = {b: rng.sample(s.bands[b], min(want[b], len(s.bands[b]))) for b in order}
    out = []
    for i in range(n):
        b = order[i % 3]
        k = i // 3
        if k < len(picked[b]):
            out.append({"query": picked[b][k], "tags": ["term", "band:" + b]})
    return out


def attempts(n: int) -> range:
    return range(50 * n + 1000)


def gen_intersection(s: Sample, rng: random.Random, n: int) -> list[dict]:
    out, seen = [], set()
    for _ in attempts(n):
        if len(out) >= n:
            break
        el = s.eligible(s.docs[rng.randrange(s.n)])
        k = rng.choice((2, 3))
        if len(el) < k:
            continue
        ws = rng.sample(el, k)
        if not any(has_letter(w) for w in ws):
            continue
        if not keep_new(seen, frozenset(ws)):
            continue
        out.append({"query": " ".join("+" + w for w in ws), "tags": ["intersection"]})
    return out


def keep_new(seen: set, key) -> bool:
    """True (and remembers `key`) the first time a query's key is seen."""
    if key in seen:
        return False
    seen.add(key)
    return True


def gen_union(s: Sample, rng: random.Random, n: int) -> list[dict]:
    out, seen = [], set()
    for _ in attempts(n):
        if len(out) >= n:
            break
        k = rng.choice((2, 3))
        ws = []
        for _j in range(k):
            el = s.eligible(s.docs[rng.randrange(s.n)])
            if el:
                ws.append(rng.choice(el))
        if len(set(ws)) < k or not any(has_letter(w) for w in ws):
            continue
        if not keep_new(seen, frozenset(ws)):
            continue
        out.append({"query": " ".join(ws), "tags": ["union"]})
    return out


def gen_phrase(s: Sample, rng: random.Random, n: int) -> list[dict]:
    out, seen = [], set()
    for _ in attempts(n):
        if len(out) >= n:
            break
        toks = s.docs[rng.randrange(s.n)]
        k = rng.choice((2, 3))
        if len(toks) < k:
            continue
        i = rng.randrange(len(toks) - k + 1)
        ws = toks[i:i + k]
        if any(w is None for w in ws) or not any(has_letter(w) for w in ws):
            continue
        if not keep_new(seen, tuple(ws)):
            continue
        out.append({"query": '"' + " ".join(ws) + '"', "tags": ["phrase"]})
    return out


def gen_mixed(s: Sample, rng: random.Random, n: int) -> list[dict]:
    out, seen = [], set()
    for _ in attempts(n):
        if len(out) >= n:
            break
        toks = s.docs[rng.randrange(s.n)]
        if len(toks) < 3:
            continue
        i = rng.randrange(len(toks) - 1)
        pair = toks[i:i + 2]
        others = [w for w in s.eligible(toks) if w not in pair]
        if any(w is None for w in pair) or not others:
            continue
        w = rng.choice(others)
        if not any(has_letter(x) for x in pair + [w]):
            continue
        if not keep_new(seen, (tuple(pair), w)):
            continue
        out.append({"query": f'+"{pair[0]} {pair[1]}" +{w}', "tags": ["mixed"]})
    return out


def gen_prefix(s: Sample, rng: random.Random, n: int, max_completions: int) -> list[dict]:
    cands = [w for w in s.vocab if s.df[w] >= 2 and len(w) >= 4 and w.isalpha()]
    out, seen = [], set()
    if not cands:
        return out
    for _ in attempts(n):
        if len(out) >= n:
            break
        w = cands[rng.randrange(len(cands))]
        p = w[:rng.randint(3, min(5, len(w) - 1))]
        if p in seen or s.may_begin_long_word(p):
            continue
        c = s.completions(p, max_completions)
        if c < 2 or c > max_completions:
            continue
        seen.add(p)
        out.append({"query": p + "*", "tags": ["prefix"]})
    return out


def gen_time(s: Sample, rng: random.Random, n: int) -> list[dict]:
    if not s.has_ts:
        return []
    lo, hi = min(s.ts), max(s.ts)
    span = hi - lo
    pools = [b for b in ("high", "mid") if s.bands[b]]
    out, seen = [], set()
    if span <= 0 or not pools:
        return out
    for i in attempts(n):
        if len(out) >= n:
            break
        b = pools[len(out) % len(pools)]
        w = rng.choice(s.bands[b])
        width = int(span * rng.uniform(0.01, 0.10))
        a = lo + int((span - width) * rng.random())
        if not keep_new(seen, (w, a)):
            continue
        out.append({"query": w, "tags": ["time", "band:" + b], "ts_from": a, "ts_to": a + width})
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--docs", required=True, help="JSON lines corpus with a 'body' (and maybe 'ts') field")
    ap.add_argument("--out", default="-", help="output file (default: stdout)")
    ap.add_argument("--seed", type=int, default=7, help="RNG seed (default 7)")
    ap.add_argument("--per-type", type=int, default=200, help="queries per type (default 200)")
    ap.add_argument("--sample-docs", type=int, default=200_000, help="documents read for statistics (default 200,000)")
    ap.add_argument("--types", default=",".join(ALL_TYPES), help="comma list of types (default: all; time only with ts)")
    ap.add_argument("--max-completions", type=int, default=1000,
                    help="a prefix may have at most this many distinct completions in the sample (default 1000)")
    args = ap.parse_args()
    types = [t.strip() for t in args.types.split(",") if t.strip()]
    for t in types:
        if t not in ALL_TYPES:
            ap.error(f"unknown type {t!r}; choose from {','.join(ALL_TYPES)}")
    if args.per_type < 1 or args.sample_docs < 1:
        ap.error("--per-type and --sample-docs must be >= 1")
    if not os.path.isfile(args.docs):
        sys.exit(f"gen_queries: {args.docs} not found")

    t0 = time.perf_counter()
    s = Sample(read_sample(args.docs, args.sample_docs))
    if s.n == 0:
        sys.exit(f"gen_queries: no documents with a string 'body' in {args.docs}")
    t1 = time.perf_counter()
    out: list[dict] = []
    counts = {}
    for t in types:
        rng = random.Random(f"{args.seed}:{t}")
        if t == "term":
            qs = gen_term(s, rng, args.per_type)
        elif t == "intersection":
            qs = gen_intersection(s, rng, args.per_type)
        elif t == "union":
            qs = gen_union(s, rng, args.per_type)
        elif t == "phrase":
            qs = gen_phrase(s, rng, args.per_type)
        elif t == "prefix":
            qs = gen_prefix(s, rng, args.per_type, args.max_completions)
        elif t == "mixed":
            qs = gen_mixed(s, rng, args.per_type)
        else:
            qs = gen_time(s, rng, args.per_type)
        counts[t] = len(qs)
        out.extend(qs)
    data = "".join(json.dumps(q, ensure_ascii=False) + "\n" for q in out)
    if args.out == "-":
        sys.stdout.write(data)
    else:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(data)
    bands = {b: len(v) for b, v in s.bands.items()}
    print(f"gen_queries: {len(out)} queries {counts} from a sample of {s.n} docs "
          f"({len(s.vocab)} distinct words; bands by df: high >= {s.high_lo} {bands['high']}, "
          f"mid >= {s.mid_lo} {bands['mid']}, low {bands['low']}; ts {'yes' if s.has_ts else 'no'}); "
          f"read {t1 - t0:.1f} s, total {time.perf_counter() - t0:.1f} s, seed {args.seed}", file=sys.stderr)


if __name__ == "__main__":
    main()
