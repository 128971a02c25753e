#!/usr/bin/env bash
# Runs every fuzz target in the module for a short time each (default 10s): scripts/fuzz.sh [duration]
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime="${1:-10s}"
grep -rl --include='*_test.go' -E '^func Fuzz[A-Za-z0-9_]+\(' internal cmd 2>/dev/null | sort | while read -r file; do
	pkg="./$(dirname "$file")"
	grep -oE '^func Fuzz[A-Za-z0-9_]+' "$file" | sed 's/^func //' | while read -r target; do
		echo "-- $pkg $target ($fuzztime)"
		go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg"
	done
done
