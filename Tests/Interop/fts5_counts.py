#!/usr/bin/env python3
"""Hit counts from SQLite FTS5 (unicode61 tokenizer) for a log file, one document per line.
Usage: fts5_counts.py LOGFILE QUERY... ; prints a JSON list of counts in query order."""
import json, sqlite3, sys

path, queries = sys.argv[1], sys.argv[2:]
db = sqlite3.connect(":memory:")
db.execute("CREATE VIRTUAL TABLE docs USING fts5(line, tokenize='unicode61')")
with open(path, encoding="utf-8", errors="replace") as f:
    db.executemany("INSERT INTO docs(line) VALUES (?)", ((line.rstrip("\n"),) for line in f))
out = []
for q in queries:
    out.append(db.execute("SELECT count(*) FROM docs WHERE docs MATCH ?", (q,)).fetchone()[0])
print(json.dumps(out))
