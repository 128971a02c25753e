#!/usr/bin/env bash
# Validates every golden Adaptive Card in internal/cards/testdata/golden with the official
# adaptivecards parser (pinned in package-lock.json). Exits non-zero on any parse error or warning.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
npm ci --quiet --no-audit --no-fund --loglevel=error >/dev/null
node validate.mjs "$@"
