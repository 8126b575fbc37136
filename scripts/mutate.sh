#!/usr/bin/env bash
# Mutation testing by hand-made mutants (scripts/mutants.txt): applies each mutant to the
# source, builds, runs the tests named for it and counts it killed when they fail (a mutant
# that does not compile is reported apart, not counted). Restores every file afterwards.
#
#   scripts/mutate.sh            all mutants
#   scripts/mutate.sh NAME ...   only these
#
# Prints one line per mutant and the score. Needs a clean Sources/ (it edits and restores
# files with git). Takes a build per mutant: about a minute each on 2 cores.
set -uo pipefail
cd "$(dirname "$0")/.."
if [ -n "$(git status --porcelain -- Sources)" ]; then
    echo "mutate: Sources/ has uncommitted changes; commit or stash them first" >&2
    exit 2
fi
exec python3 - "$@" <<'PY'
import subprocess, sys, time

def blocks(path):
    out, cur = [], {}
    for line in open(path, encoding="utf-8"):
        line = line.rstrip("\n")
        if line.startswith("#"):
            continue
        if not line.strip():
            if cur: out.append(cur); cur = {}
            continue
        key, _, value = line.partition(": ")
        cur[key] = value
    if cur: out.append(cur)
    return out

mutants = blocks("scripts/mutants.txt")
only = set(sys.argv[1:])
if only:
    unknown = only - {m["name"] for m in mutants}
    if unknown: sys.exit(f"mutate: no mutant named {', '.join(sorted(unknown))}")
    mutants = [m for m in mutants if m["name"] in only]

def run(cmd):
    return subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode

killed, survived, broken = [], [], []
for m in mutants:
    path, original = m["file"], open(m["file"], encoding="utf-8").read()
    if original.count(m["from"]) != 1:
        sys.exit(f"mutate: {m['name']}: the 'from' text occurs {original.count(m['from'])} times in {path} (must be once)")
    t0 = time.time()
    try:
        open(path, "w", encoding="utf-8").write(original.replace(m["from"], m["to"]))
        if run(["swift", "build", "--build-tests"]) != 0:
            verdict = "did not compile"; broken.append(m["name"])
        else:
            tests = m["tests"]
            rc = run(["bash", "-c", tests[4:]]) if tests.startswith("sh: ") else run(["swift", "test", "--skip-build", "--filter", tests])
            if rc != 0: verdict = "killed"; killed.append(m["name"])
            else: verdict = "SURVIVED"; survived.append(m["name"])
    finally:
        open(path, "w", encoding="utf-8").write(original)
    print(f"{m['name']:34} {verdict:16} ({time.time() - t0:.0f} s, tests: {m['tests']})", flush=True)

valid = len(killed) + len(survived)
print(f"\nmutation score: {len(killed)}/{valid} killed" + (f"; survivors: {', '.join(survived)}" if survived else "")
      + (f"; {len(broken)} did not compile: {', '.join(broken)}" if broken else ""))
run(["swift", "build", "--build-tests"])  # back to the real sources
sys.exit(1 if survived or broken else 0)
PY
