#!/usr/bin/env bash
# Runs every guestpass test: go vet, the Go test suite with the race detector, the Adaptive Card
# validation with the official renderer, and the Teams manifest schema validation.
#
# PostgreSQL: the store contract suite also runs against PostgreSQL when GUESTPASS_TEST_POSTGRES_URL
# is set, or when a server answers on 127.0.0.1:5432 (trust auth, user postgres). Otherwise those
# tests are skipped with a message saying so (CI sets GUESTPASS_REQUIRE_POSTGRES=1, which turns the
# skip into a failure).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${GUESTPASS_TEST_POSTGRES_URL:-}" ] && command -v pg_isready >/dev/null 2>&1 &&
	pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
	export GUESTPASS_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
fi
if [ -z "${GUESTPASS_TEST_POSTGRES_URL:-}" ]; then
	echo "note: no PostgreSQL found; the PostgreSQL store suite will be skipped" >&2
fi

echo "== go vet"
go vet ./...
echo "== go test -race"
go test -race -count=1 -timeout 20m ./...
echo "== Adaptive Cards (official renderer)"
bash tools/cards/check.sh
echo "== Teams app manifest (official schema)"
bash tools/manifest-check/check.sh
