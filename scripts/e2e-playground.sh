#!/usr/bin/env bash
# End-to-end test in a real Teams client emulator: installs the pinned Microsoft 365 Agents
# Playground from npm (tools/playground), builds the bot, starts it in local mode (embedded SQLite,
# built-in sandbox tenant) in a fresh directory, starts the Playground against it, and drives a
# whole journey through the Playground's HTTP API and WebSocket (tools/playground/e2e.mjs):
# install → scenario wizard → guest link → the guest's request in the sandbox → approve from the
# card → card replaced and sponsor told. Needs Go and Node.js 20+; ports 3978 and 56150 free.
#   BOT_BIN=path  use this bot binary instead of building one (.ci/run passes the binary built
#                 exactly as the Dockerfile builds it, and the container's HEALTHCHECK command,
#                 `bot healthcheck`, is run against it)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
pids=()
cleanup() {
	status=$?
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	if [ "$status" -ne 0 ]; then
		echo "--- bot log (last 40 lines)"; tail -n 40 "$work/bot.log" 2>/dev/null || true
		echo "--- playground log (last 20 lines)"; tail -n 20 "$work/playground.log" 2>/dev/null || true
	fi
	rm -rf "$work"
	exit "$status"
}
trap cleanup EXIT

# wait_ok URL: waits up to 30 s for URL to answer 2xx (node, because a fresh machine may lack curl).
wait_ok() {
	node -e '
		const url = process.argv[1], end = Date.now() + 30000;
		(async () => {
			for (;;) {
				try { if ((await fetch(url)).ok) process.exit(0); } catch {}
				if (Date.now() > end) { console.error("no answer from " + url); process.exit(1); }
				await new Promise((r) => setTimeout(r, 200));
			}
		})();' "$1"
}

for port in 3978 56150; do
	if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
		echo "e2e-playground: port $port is in use; stop the bot or Playground running there first" >&2
		exit 1
	fi
done

(cd "$root/tools/playground" && npm ci --no-audit --no-fund --silent)
if [ -n "${BOT_BIN:-}" ]; then
	cp "$BOT_BIN" "$work/bot"
else
	(cd "$root" && CGO_ENABLED=0 go build -o "$work/bot" ./cmd/bot)
fi

mkdir -p "$work/run"
# A 1 s approval poll keeps the journey short; everything else is the local-mode default.
(cd "$work/run" && APPROVAL_POLL_INTERVAL=1s exec "$work/bot" >"$work/bot.log" 2>&1) &
pids+=($!)
wait_ok http://127.0.0.1:3978/readyz || { echo "e2e-playground: the bot did not become ready" >&2; exit 1; }
# The container's HEALTHCHECK, exactly as the Dockerfile runs it.
"$work/bot" healthcheck || { echo "e2e-playground: bot healthcheck failed against the running bot" >&2; exit 1; }
echo "e2e-playground: bot healthcheck passed"

(cd "$work" && TEAMSAPPTESTER_BROWSER=none \
	M365_AGENTS_PLAYGROUND_CONFIG_PATH="$root/.m365agentsplayground.yml" \
	M365_AGENTS_PLAYGROUND_LOGFILE="$work/playground-internal.log" \
	exec "$root/tools/playground/node_modules/.bin/agentsplayground" \
	-e http://127.0.0.1:3978/api/messages -c msteams --disable-telemetry >"$work/playground.log" 2>&1) &
pids+=($!)
wait_ok http://localhost:56150/_debug/ping || { echo "e2e-playground: the Playground did not start" >&2; exit 1; }

GUESTPASS_BOT="$work/bot" GUESTPASS_DIR="$work/run" PLAYGROUND_URL=http://localhost:56150 \
	node --experimental-websocket "$root/tools/playground/e2e.mjs"
