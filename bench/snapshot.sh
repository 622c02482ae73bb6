#!/usr/bin/env bash
# Benchmarks a commit instead of the working tree: exports REV (default HEAD) to a temp
# directory, adds this working tree's bench/ and test/support/, links node_modules and generates the Prisma
# client there, then runs the given bench command in it. Results land in this tree's bench/.
#
#   bash bench/snapshot.sh HEAD npm run bench:intake -- --rate 100 --seconds 30
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
rev="${1:-HEAD}"
shift || true
commit="$(git -C "$here" rev-parse --short "$rev")"
dir="$(mktemp -d "${TMPDIR:-/tmp}/octostage-bench-src-$commit-XXXX")"
trap 'rm -rf "$dir"' EXIT
git -C "$here" archive "$commit" | tar -x -C "$dir"
rm -rf "$dir/bench"
cp -r "$here/bench" "$dir/bench"
# The benchmarks use the doubles and fixtures of test/support: this tree's, over the commit's.
cp -r "$here/test/support/." "$dir/test/support/"
rm -f "$dir"/bench/intake/results-*.json
ln -s "$here/node_modules" "$dir/node_modules"
(cd "$dir" && bash scripts/prisma-generate.sh >/dev/null)
echo "[bench] running commit $commit from $dir" >&2
cd "$dir"
status=0
BENCH_SOURCE="commit $commit (snapshot)" "$@" || status=$?
cp bench/intake/results-*.json "$here/bench/intake/" 2>/dev/null || true
exit "$status"
