#!/usr/bin/env python3
"""Deep-compare two JSON documents and list every difference.

Usage:
    python3 compare_json.py EXPECTED.json ACTUAL.json [--max N]

Typical use: EXPECTED from kafka_build_batches.py, ACTUAL from kafka_read_segments.py.
Differences are printed as JSON paths, e.g.
    $.segments[0].batches[2].records[7].value: expected '00ff' got null
Exit status: 0 if identical, 1 if they differ, 64 on bad usage / unreadable input.
Keys are compared exactly (a key present on one side only is a difference);
integers and booleans are not considered equal (true != 1).
"""

import json
import sys


def short(value, limit=80):
    text = json.dumps(value)
    return text if len(text) <= limit else text[:limit] + "...(%d chars)" % len(text)


def same_type(a, b):
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool)
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return True
    return type(a) is type(b)


def diff(expected, actual, path, out):
    if not same_type(expected, actual):
        out.append("%s: expected %s got %s" % (path, short(expected), short(actual)))
    elif isinstance(expected, dict):
        for key in expected:
            sub = "%s.%s" % (path, key)
            if key not in actual:
                out.append("%s: missing in actual (expected %s)" % (sub, short(expected[key])))
            else:
                diff(expected[key], actual[key], sub, out)
        for key in actual:
            if key not in expected:
                out.append("%s.%s: unexpected in actual (%s)" % (path, key, short(actual[key])))
    elif isinstance(expected, list):
        if len(expected) != len(actual):
            out.append("%s: length expected %d got %d" % (path, len(expected), len(actual)))
        for i, (e, a) in enumerate(zip(expected, actual)):
            diff(e, a, "%s[%d]" % (path, i), out)
    elif expected != actual:
        out.append("%s: expected %s got %s" % (path, short(expected), short(actual)))


def main(argv):
    args = argv[1:]
    limit = 200
    if "--max" in args:
        i = args.index("--max")
        try:
            limit = int(args[i + 1])
        except (IndexError, ValueError):
            sys.stderr.write("--max needs an integer\n")
            return 64
        del args[i:i + 2]
    if len(args) != 2:
        sys.stderr.write("usage: compare_json.py EXPECTED.json ACTUAL.json [--max N]\n")
        return 64
    docs = []
    for name in args:
        try:
            with open(name) as fh:
                docs.append(json.load(fh))
        except (OSError, ValueError) as exc:
            sys.stderr.write("cannot read %s: %s\n" % (name, exc))
            return 64
    differences = []
    diff(docs[0], docs[1], "$", differences)
    for line in differences[:limit]:
        print(line)
    if len(differences) > limit:
        print("... %d more differences" % (len(differences) - limit))
    if differences:
        print("MISMATCH: %d difference(s)" % len(differences))
        return 1
    print("OK: documents are identical")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
