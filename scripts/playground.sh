#!/usr/bin/env bash
# Opens the Microsoft 365 Agents Playground (a local Teams client) against the bot running in local
# mode on 127.0.0.1:3978 (start it first with `go run ./cmd/bot`). The Playground reads the mock
# users from .m365agentsplayground.yml in the repository root, matching the sandbox tenant's people.
#   scripts/playground.sh            # web UI on http://localhost:56150
#   TEAMSAPPTESTER_BROWSER=none scripts/playground.sh   # headless (drive it over its HTTP API)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
(cd "$root/tools/playground" && npm ci --no-audit --no-fund --silent)
export M365_AGENTS_PLAYGROUND_CONFIG_PATH="$root/.m365agentsplayground.yml"
exec "$root/tools/playground/node_modules/.bin/agentsplayground" \
	-e "${BOT_ENDPOINT:-http://127.0.0.1:3978/api/messages}" -c msteams --disable-telemetry "$@"
