#!/usr/bin/env python3
"""Synthetic log corpus from the loghub samples: JSON lines {"body": "<log line>", "ts": <epoch ms>}.

Usage:
    python3 Benchmarks/corpus/gen_logs.py [--lines 10000000] [--seed 42] [--out FILE]
        [--loghub DIR] [--start 2026-01-01] [--mean-step-ms 30] [--dump-templates]

The loghub samples (16 systems x 2,000 real lines, `<System>_2k.log`) are read at run time from
--loghub (default: ../shared/data/loghub beside the repository); they are never copied into the
repository. Without them the script exits with status 2 and says where it looked.

How a line is made
------------------
1. Templates. Every sample line is cut into literal text and typed slots:
     time    dates, times and timestamps in the formats the samples use (ISO, syslog `Jul  1
             09:00:55`, Apache `Sun Dec 04 04:47:44 2005`, BGL `2005-06-03-15.42.50.675872`,
             HDFS `081109 203615`, Spark, Android, HealthApp, Proxifier, Windows CSI, epoch
             seconds / milliseconds); a time slot is re-rendered from the line's own `ts` (UTC)
             in the sample's format, so the text agrees with `ts`
     uuid    8-4-4-4-12 hex (case kept)
     blk     HDFS block ids `blk_-6952295868487656571` (signed 64-bit)
     ip      IPv4 address (first octet kept, or the first two for 10/172/192), optional `:port`
     hex     0x-prefixed hex, and bare hex words of >= 6 characters holding a digit and a letter
     num     digit runs of >= 2 digits not glued to a preceding letter (so `ssh2`, `R02`, `dn228`
             stay literal; `node-246`, `part-00153`, `_0013_` are slots; zero padding is kept)
   Identical cut-ups are one template; its weight is the number of sample lines that gave it.
2. Each output line picks a template by weight (= a uniformly random sample line's template) and
   fills its slots from the seeded RNG. A non-time slot is, per kind, either the sample's own
   value (P_ORIG), a value drawn earlier for the same shape (P_REUSE, from a pool of the last
   4,096 of that shape, random replacement), or a fresh value of the same shape (the rest):
   fixed words repeat, while block ids, IPs, hex ids, UUIDs and long numbers keep appearing new,
   so the vocabulary grows with --lines as real logs' does (a fresh value is seen about
   1 + P_REUSE / (1 - P_ORIG - P_REUSE) times on average).
3. `ts` starts at --start (UTC midnight) and rises by a uniform 0 .. 2 x --mean-step-ms ms
   per line; 5 % of lines are jittered up to 511 ms into the past ("monotonically-ish"), never
   before --start.
   With the defaults 10 M lines span ~3.5 days.

Output: compact JSON, one object per line, keys "body" then "ts". Template literals are JSON-
escaped once when the templates are built (backslashes, quotes, control characters; non-ASCII
kept as UTF-8) and slot values contain only [0-9A-Za-z.:,/ _-], so lines are valid JSON without
a json.dumps per line. Deterministic for a given --seed, --lines, --start, --mean-step-ms and
sample files. A one-line summary (lines, bytes, templates, seconds) goes to stderr.
"""

from __future__ import annotations

import argparse
import calendar
import glob
import json
import os
import random
import re
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_LOGHUB = os.path.join(os.path.dirname(REPO), "shared", "data", "loghub")

POOL_SIZE = 4096  # per shape; must be a power of two (random replacement uses getrandbits(12))
POOL_BITS = 12
# kind -> (P_ORIG, P_REUSE): probability of the sample's own value, of a pooled earlier value.
SLOT_PROBS = {
    "num_short": (0.30, 0.00),  # 2-4 digits: small value space, fresh draws repeat by themselves
    "num_long": (0.15, 0.45),  # >= 5 digits (pids, sizes, ids, counters)
    "ip": (0.25, 0.50),
    "port": (0.50, 0.00),
    "hex": (0.10, 0.50),
    "uuid": (0.05, 0.50),
    "blk": (0.00, 0.60),
}

MON = "Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec"
DOW = "Mon|Tue|Wed|Thu|Fri|Sat|Sun"
MONTHS = MON.split("|")
DAYS = DOW.split("|")  # time.gmtime: tm_wday 0 = Monday
_m = r"(?:0[1-9]|1[0-2])"
_d = r"(?:0[1-9]|[12]\d|3[01])"
_H = r"(?:[01]\d|2[0-3])"
_MS = r"[0-5]\d"
_Y = r"(?:19|20)\d\d"

# Each pattern: named groups are time fields (see TIME_SPEC); text between them is kept literally.
TIME_PATTERNS = [
    # BGL 2005-06-03-15.42.50.675872
    rf"(?<!\d)(?P<Y>{_Y})-(?P<m>{_m})-(?P<d>{_d})-(?P<H>{_H})\.(?P<M>{_MS})\.(?P<S>{_MS})\.(?P<us>\d{{6}})(?!\d)",
    # ISO-ish 2015-10-18 18:01:47,978 / 2017-05-16 00:00:00.008 / 2017-05-16_13:53:08
    rf"(?<!\d)(?P<Y>{_Y})-(?P<m>{_m})-(?P<d>{_d})[ T_](?P<H>{_H}):(?P<M>{_MS}):(?P<S>{_MS})(?:[.,](?P<ms>\d{{3}})(?!\d))?",
    # HealthApp 20171223-22:15:29:606, 20171223-22:16:0:119 (time fields not padded)
    rf"(?<!\d)(?P<Y>{_Y})(?P<m>{_m})(?P<d>{_d})-(?P<H1>1\d|2[0-3]|\d):(?P<M1>[1-5]\d|\d):(?P<S1>[1-5]\d|\d):(?P<ms1>\d{{1,3}})(?!\d)",
    # Windows CSI 2016/9/27:20:30:31.455 (month and day not padded)
    rf"(?<!\d)(?P<Y>{_Y})/(?P<m1>1[0-2]|[1-9])/(?P<d1>3[01]|[12]\d|[1-9]):(?P<H>{_H}):(?P<M>{_MS}):(?P<S>{_MS})\.(?P<ms>\d{{3}})(?!\d)",
    # dates 2005.06.03 / 2005-06-03
    rf"(?<![\d.])(?P<Y>{_Y})\.(?P<m>{_m})\.(?P<d>{_d})(?![\d.])",
    rf"(?<![\d-])(?P<Y>{_Y})-(?P<m>{_m})-(?P<d>{_d})(?![\d])",
    # Apache Sun Dec 04 04:47:44 2005
    rf"(?P<a>{DOW}) (?P<b>{MON}) (?P<d>{_d}) (?P<H>{_H}):(?P<M>{_MS}):(?P<S>{_MS}) (?P<Y>\d{{4}})",
    # syslog Jul  1 09:00:55 (day space-padded) and Thunderbird Nov 9 12:01:01 (not padded)
    rf"(?<![A-Za-z])(?P<b>{MON}) (?P<e> [1-9]|[12]\d|3[01]) (?P<H>{_H}):(?P<M>{_MS}):(?P<S>{_MS})(?!\d)",
    rf"(?<![A-Za-z])(?P<b>{MON}) (?P<d1>[1-9]|[12]\d|3[01]) (?P<H>{_H}):(?P<M>{_MS}):(?P<S>{_MS})(?!\d)",
    # HDFS 081109 203615 (line start)
    rf"^(?P<y>\d\d)(?P<m>{_m})(?P<d>{_d}) (?P<H>{_H})(?P<M>{_MS})(?P<S>{_MS})(?= )",
    # Android 03-17 16:13:38.811 (line start)
    rf"^(?P<m>{_m})-(?P<d>{_d}) (?P<H>{_H}):(?P<M>{_MS}):(?P<S>{_MS})\.(?P<ms>\d{{3}})(?!\d)",
    # Proxifier [10.30 16:49:06] (line start)
    rf"^\[(?P<m>{_m})\.(?P<d>{_d}) (?P<H>{_H}):(?P<M>{_MS}):(?P<S>{_MS})\]",
    # Spark 17/06/09 20:10:40
    rf"(?<!\d)(?P<y>\d\d)/(?P<m>{_m})/(?P<d>{_d}) (?P<H>{_H}):(?P<M>{_MS}):(?P<S>{_MS})(?!\d)",
    # epoch milliseconds (2011-2026) and seconds (2001-2023)
    r"(?<![\d.])(?P<ems>1[3-7]\d{11})(?![\d.])",
    r"(?<![\d.])(?P<es>1[0-7]\d{8})(?![\d.])",
    # bare time of day 18:01:47(.978)
    rf"(?<![\d:])(?P<H>{_H}):(?P<M>{_MS}):(?P<S>{_MS})(?:[.,](?P<ms>\d{{3}}))?(?![\d:])",
]
TIME_RES = [re.compile(p) for p in TIME_PATTERNS]
# group name -> %-format piece over the per-line field dict
TIME_SPEC = {
    "Y": "%(Y)04d", "y": "%(y)02d", "m": "%(m)02d", "m1": "%(m)d", "d": "%(d)02d", "d1": "%(d)d",
    "e": "%(d)2d", "H": "%(H)02d", "M": "%(MI)02d", "S": "%(S)02d", "H1": "%(H)d", "M1": "%(MI)d", "S1": "%(S)d", "ms": "%(ms)03d", "ms1": "%(ms)d",
    "us": "%(us)06d", "b": "%(b)s", "a": "%(a)s", "es": "%(es)d", "ems": "%(ems)d",
}

_oct = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
OTHER_RE = re.compile(
    rf"""
     (?P<uuid>(?<![0-9A-Za-z])[0-9a-fA-F]{{8}}-[0-9a-fA-F]{{4}}-[0-9a-fA-F]{{4}}-[0-9a-fA-F]{{4}}-[0-9a-fA-F]{{12}}(?![0-9A-Za-z]))
    |(?P<blk>(?<=blk_)-?\d{{5,20}}(?!\d))
    |(?P<ip>(?<![0-9A-Za-z.]){_oct}(?:\.{_oct}){{3}}(?![0-9A-Za-z]|\.\d))(?::(?P<port>\d{{1,5}})(?!\d))?
    |(?<![0-9A-Za-z])0[xX](?P<hex0x>[0-9a-fA-F]+)(?![0-9A-Za-z])
    |(?P<hex>(?<![0-9A-Za-z])(?=[0-9a-fA-F]*[0-9])(?=[0-9a-fA-F]*[a-fA-F])[0-9a-fA-F]{{6,}}(?![0-9A-Za-z]))
    |(?P<num>(?<![A-Za-z0-9])\d{{2,}}(?!\d))
    """,
    re.X,
)


def json_escape(s: str) -> str:
    """JSON string contents (no surrounding quotes); non-ASCII kept as UTF-8."""
    return json.dumps(s, ensure_ascii=False)[1:-1]


def find_time_spans(line: str) -> list[tuple[int, int, list]]:
    """Non-overlapping time matches, leftmost first, longest at a position, earlier pattern on ties.
    Each: (start, end, pieces) where pieces are ('lit', text) or ('f', group name)."""
    cands = []
    for order, rx in enumerate(TIME_RES):
        for m in rx.finditer(line):
            if m.end() > m.start():
                cands.append((m.start(), -(m.end() - m.start()), order, m))
    cands.sort(key=lambda c: c[:3])
    out, pos = [], 0
    for start, _neg, _order, m in cands:
        if start < pos:
            continue
        groups = sorted(((m.start(g), m.end(g), g) for g, v in m.groupdict().items() if v is not None))
        pieces, p = [], m.start()
        for gs, ge, g in groups:
            if gs > p:
                pieces.append(("lit", line[p:gs]))
            pieces.append(("f", g))
            p = ge
        if m.end() > p:
            pieces.append(("lit", line[p:m.end()]))
        out.append((m.start(), m.end(), pieces))
        pos = m.end()
    return out


def cut(line: str) -> list[tuple]:
    """A sample line -> list of parts: ('lit', text) | ('time', pieces) | (kind, original text, shape...)."""
    parts: list[tuple] = []

    def other(seg: str) -> None:
        p = 0
        for m in OTHER_RE.finditer(seg):
            if m.start() > p:
                parts.append(("lit", seg[p:m.start()]))
            kind = m.lastgroup
            if m.group("ip") is not None:
                kind = "ip"
                parts.append(("ip", m.group("ip")))
                if m.group("port") is not None:
                    parts.append(("lit", ":"))
                    parts.append(("port", m.group("port")))
            elif kind == "hex0x":
                parts.append(("lit", m.group(0)[:2]))
                parts.append(("hex", m.group("hex0x")))
            else:
                parts.append((kind, m.group(0)))
            p = m.end()
        if p < len(seg):
            parts.append(("lit", seg[p:]))

    pos = 0
    for start, end, pieces in find_time_spans(line):
        if start > pos:
            other(line[pos:start])
        parts.append(("time", tuple(pieces)))
        pos = end
    if pos < len(line):
        other(line[pos:])
    # merge adjacent literals
    merged: list[tuple] = []
    for part in parts:
        if part[0] == "lit" and merged and merged[-1][0] == "lit":
            merged[-1] = ("lit", merged[-1][1] + part[1])
        else:
            merged.append(part)
    return merged


def shape_of(kind: str, text: str) -> tuple:
    """The shape key of a slot value: values of one shape share a pool and a fresh generator."""
    if kind == "num":
        return ("num", len(text), len(text) > 1 and text[0] == "0")
    if kind == "hex":
        letters = [c for c in text if c.isalpha()]
        upper = bool(letters) and all(c.isupper() for c in letters)
        return ("hex", len(text), upper)
    if kind == "uuid":
        return ("uuid", any(c.isupper() for c in text))
    if kind == "ip":
        octets = text.split(".")
        keep = 2 if octets[0] in ("10", "172", "192") else 1
        return ("ip", ".".join(octets[:keep]), 4 - keep)
    if kind == "port":
        return ("port",)
    if kind == "blk":
        return ("blk",)
    raise ValueError(kind)


def template_signature(parts: list[tuple]) -> tuple:
    """Two sample lines give one template when their literals and slot shapes agree."""
    sig = []
    for part in parts:
        if part[0] == "lit":
            sig.append(part)
        elif part[0] == "time":
            sig.append(part)
        else:
            sig.append(shape_of(part[0], part[1]))
    return tuple(sig)


class Generator:
    def __init__(self, seed: int, start_ms: int, mean_step_ms: int):
        self.r = random.Random(seed)
        self.rnd = self.r.random
        self.bits = self.r.getrandbits
        self.pools: dict[tuple, list] = {}
        self.fresh_cache: dict[tuple, object] = {}
        self.F: dict = {}  # current time fields, mutated per line
        self.start_ms = start_ms
        self.mean_step_ms = mean_step_ms
        self.templates: list[tuple] = []  # (fmt, gens, has_time)
        self.pick: list[tuple] = []

    # ---- fresh values of a shape ----
    def fresh_fn(self, shape: tuple):
        fn = self.fresh_cache.get(shape)
        if fn is not None:
            return fn
        bits = self.bits
        kind = shape[0]
        if kind == "num":
            n, padded = shape[1], shape[2]
            if padded:
                span = 10 ** n
                k = span.bit_length() + 8
                fmt = "%0" + str(n) + "d"

                def fn():
                    return fmt % (bits(k) % span)
            else:
                lo = 10 ** (n - 1)
                span = 9 * lo
                k = span.bit_length() + 8

                def fn():
                    return str(lo + bits(k) % span)
        elif kind == "hex":
            n, upper = shape[1], shape[2]
            fmt = "%0" + str(n) + ("X" if upper else "x")
            k = 4 * n

            def fn():
                return fmt % bits(k)
        elif kind == "uuid":
            upper = shape[1]

            def fn():
                s = "%032x" % bits(128)
                s = s[:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:]
                return s.upper() if upper else s
        elif kind == "ip":
            prefix, rest = shape[1], shape[2]
            if rest == 2:
                def fn():
                    return "%s.%d.%d" % (prefix, bits(8), 1 + bits(8) % 254)
            else:
                def fn():
                    return "%s.%d.%d.%d" % (prefix, bits(8), bits(8), 1 + bits(8) % 254)
        elif kind == "port":
            def fn():
                return str(1024 + bits(24) % 64512)
        elif kind == "blk":
            half = 1 << 63

            def fn():
                return str(bits(64) - half)
        else:
            raise ValueError(shape)
        self.fresh_cache[shape] = fn
        return fn

    def slot_fn(self, kind: str, original: str):
        shape = shape_of(kind, original)
        pkind = kind
        if kind == "num":
            pkind = "num_short" if shape[1] <= 4 else "num_long"
        p_orig, p_reuse = SLOT_PROBS[pkind]
        fresh = self.fresh_fn(shape)
        rnd, bits = self.rnd, self.bits
        if p_reuse == 0.0:
            def g():
                if rnd() < p_orig:
                    return original
                return fresh()
            return g
        pool = self.pools.setdefault(shape, [])
        t_reuse = p_orig + p_reuse

        def g():
            r = rnd()
            if r < p_orig:
                return original
            if r < t_reuse and pool:
                return pool[int(rnd() * len(pool))]
            v = fresh()
            if len(pool) < POOL_SIZE:
                pool.append(v)
            else:
                pool[bits(POOL_BITS)] = v
            return v
        return g

    def time_fn(self, pieces: tuple):
        fmt = "".join(json_escape(t).replace("%", "%%") if k == "lit" else TIME_SPEC[t] for k, t in pieces)
        F = self.F

        def g():
            return fmt % F
        return g

    # ---- templates ----
    def build(self, sample_lines: list[str]) -> None:
        by_sig: dict[tuple, tuple] = {}
        for line in sample_lines:
            parts = cut(line)
            sig = template_signature(parts)
            tpl = by_sig.get(sig)
            if tpl is None:
                fmt_parts, gens, has_time = [], [], False
                for part in parts:
                    if part[0] == "lit":
                        fmt_parts.append(json_escape(part[1]).replace("%", "%%"))
                    elif part[0] == "time":
                        fmt_parts.append("%s")
                        gens.append(self.time_fn(part[1]))
                        has_time = True
                    else:
                        fmt_parts.append("%s")
                        gens.append(self.slot_fn(part[0], part[1]))
                fmt = '{"body":"' + "".join(fmt_parts) + '","ts":%d}\n'
                tpl = (fmt, tuple(gens), has_time, parts)
                by_sig[sig] = tpl
                self.templates.append(tpl)
            self.pick.append(tpl[:3])

    def generate(self, count: int, write) -> tuple[int, int]:
        """Writes `count` lines through write(bytes) in chunks; returns (lines, bytes)."""
        rnd, bits = self.rnd, self.bits
        pick = self.pick
        npick = len(pick)
        F = self.F
        gmtime = time.gmtime
        step_span = 2 * self.mean_step_ms + 1
        base = start = self.start_ms
        last_sec = -1
        total_bytes = 0
        done = 0
        CHUNK = 50_000
        while done < count:
            n = min(CHUNK, count - done)
            out = []
            append = out.append
            for _ in range(n):
                fmt, gens, has_time = pick[int(rnd() * npick)]
                base += int(rnd() * step_span)
                if rnd() < 0.05:
                    ts = base - bits(9)
                    if ts < start:
                        ts = start
                else:
                    ts = base
                if has_time:
                    sec = ts // 1000
                    if sec != last_sec:
                        tm = gmtime(sec)
                        F["Y"] = tm.tm_year
                        F["y"] = tm.tm_year % 100
                        F["m"] = tm.tm_mon
                        F["d"] = tm.tm_mday
                        F["H"] = tm.tm_hour
                        F["MI"] = tm.tm_min
                        F["S"] = tm.tm_sec
                        F["b"] = MONTHS[tm.tm_mon - 1]
                        F["a"] = DAYS[tm.tm_wday]
                        F["es"] = sec
                        last_sec = sec
                    ms = ts - sec * 1000
                    F["ms"] = ms
                    F["us"] = ms * 1000 + bits(10) % 1000
                    F["ems"] = ts
                vals = [g() for g in gens]
                vals.append(ts)
                append(fmt % tuple(vals))
            data = "".join(out).encode("utf-8")
            write(data)
            total_bytes += len(data)
            done += n
        return done, total_bytes


def read_samples(loghub: str) -> tuple[list[str], list[str]]:
    files = sorted(glob.glob(os.path.join(loghub, "*_2k.log")))
    lines = []
    for p in files:
        with open(p, encoding="utf-8", errors="replace", newline="") as f:
            for ln in f:
                ln = ln.rstrip("\r\n")
                if ln.strip():
                    lines.append(ln)
    return files, lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lines", type=int, default=10_000_000, help="lines to write (default 10,000,000)")
    ap.add_argument("--seed", type=int, default=42, help="RNG seed (default 42)")
    ap.add_argument("--out", default="-", help="output file (default: stdout)")
    ap.add_argument("--loghub", default=DEFAULT_LOGHUB, help=f"directory of <System>_2k.log samples (default {DEFAULT_LOGHUB})")
    ap.add_argument("--start", default="2026-01-01", help="UTC date (YYYY-MM-DD) of the first ts (default 2026-01-01)")
    ap.add_argument("--mean-step-ms", type=int, default=30, help="mean ms between consecutive lines (default 30)")
    ap.add_argument("--dump-templates", action="store_true", help="print the templates with their weights to stderr and exit")
    args = ap.parse_args()
    if args.lines < 0 or args.mean_step_ms < 0:
        ap.error("--lines and --mean-step-ms must be >= 0")
    try:
        start_ms = calendar.timegm(time.strptime(args.start, "%Y-%m-%d")) * 1000
    except ValueError:
        ap.error("--start must be YYYY-MM-DD")

    files, sample = read_samples(args.loghub)
    if not sample:
        print(f"gen_logs: no loghub samples (*_2k.log) in {args.loghub}: this generator needs the loghub "
              f"sample logs at run time (they are not part of the repository); pass --loghub DIR", file=sys.stderr)
        sys.exit(2)

    t0 = time.perf_counter()
    gen = Generator(args.seed, start_ms, args.mean_step_ms)
    gen.build(sample)
    if args.dump_templates:
        weights: dict[int, int] = {}
        for t in gen.pick:
            weights[id(t[0])] = weights.get(id(t[0]), 0) + 1
        for tpl in sorted(gen.templates, key=lambda t: -weights[id(t[0])]):
            print(weights[id(tpl[0])], tpl[0].rstrip("\n"), file=sys.stderr)
        print(f"{len(gen.templates)} templates from {len(sample)} sample lines in {len(files)} files", file=sys.stderr)
        return

    if args.out == "-":
        sink = sys.stdout.buffer
        close = False
    else:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        sink = open(args.out, "wb", buffering=4 << 20)
        close = True
    try:
        lines, nbytes = gen.generate(args.lines, sink.write)
        sink.flush()
    finally:
        if close:
            sink.close()
    secs = time.perf_counter() - t0
    print(f"gen_logs: {lines} lines, {nbytes} bytes ({nbytes / 1e6:.1f} MB), {len(gen.templates)} distinct templates "
          f"from {len(sample)} sample lines ({len(files)} files), {secs:.1f} s "
          f"({lines / secs / 1e3 if secs > 0 else 0:.0f} k lines/s), seed {args.seed}", file=sys.stderr)


if __name__ == "__main__":
    main()
