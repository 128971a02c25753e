#!/usr/bin/env bash
# Runs the benchmarks (without -race) on one core, as the performance targets are stated per core:
# scripts/bench.sh [extra go test flags]
set -euo pipefail
cd "$(dirname "$0")/.."
go test -run '^$' -bench . -benchmem -cpu 1 -benchtime 1s "$@" ./...
