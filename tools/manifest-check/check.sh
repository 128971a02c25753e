#!/usr/bin/env bash
# Builds the guestpass Teams app package and validates it offline against the official manifest
# schema (v1.30, bundled in @microsoft/app-manifest), then proves the validator rejects broken copies.
#
# usage: bash tools/manifest-check/check.sh        (from anywhere; needs go, node/npm and unzip)
#
# Package builds use ./internal/manifest/cmd/genmanifest, which takes the same flags as
# "bot manifest", so this check does not compile the whole bot.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"

for tool in go node npm unzip; do
  command -v "$tool" >/dev/null || { echo "manifest-check: $tool is required" >&2; exit 2; }
done

# Install the pinned validator (offline afterwards) unless node_modules already matches the lock file.
if [[ ! -f "$here/node_modules/.package-lock.json" || "$here/package-lock.json" -nt "$here/node_modules/.package-lock.json" ]]; then
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

fail() { echo "manifest-check: FAIL: $*" >&2; exit 1; }

bot_id=11111111-2222-3333-4444-555555555555
sso_id=66666666-7777-8888-9999-aaaaaaaaaaaa

# check_package NAME FLAGS...: build a package, check its entries, validate its manifest.
check_package() {
  local name="$1"; shift
  local zip="$tmp/$name.zip" dir="$tmp/$name"
  (cd "$root" && go run ./internal/manifest/cmd/genmanifest -out "$zip" "$@") >/dev/null
  local entries
  entries="$(unzip -Z1 "$zip" | sort | tr '\n' ' ')"
  [[ "$entries" == "color.png manifest.json outline.png " ]] ||
    fail "$name: zip entries are '$entries', want color.png manifest.json outline.png at the root"
  unzip -q "$zip" -d "$dir"
  node "$here/validate.js" "$dir/manifest.json" || fail "$name: manifest.json does not validate"
}

# expect_invalid NAME WANT JS: write a copy of the first package's manifest mutated by JS (a function
# body receiving `m`) and require the validator to reject it with exit 1 and an error containing WANT.
expect_invalid() {
  local name="$1" want="$2" mutate="$3" out rc=0
  node -e '
    const fs = require("fs");
    const m = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
    (function (m) { '"$mutate"' })(m);
    fs.writeFileSync(process.argv[2], JSON.stringify(m, null, 2));
  ' "$tmp/app-registration/manifest.json" "$tmp/$name.json"
  out="$(node "$here/validate.js" "$tmp/$name.json")" || rc=$?
  echo "$out"
  [[ $rc -eq 1 ]] || fail "$name: validator exit code $rc, want 1"
  grep -qF -- "$want" <<<"$out" || fail "$name: validator output lacks '$want'"
  echo "  (rejected as expected)"
}

# A bot with its own app registration (SSO on the same app), and a managed-identity bot with a
# separate SSO app registration.
check_package app-registration -app-id "$bot_id" -domain guestpass.example.com
check_package managed-identity -app-id "$bot_id" -sso-app-id "$sso_id" -domain guestpass.example.com -version 2.3.4

# The golden manifests of the Go tests cover the remaining options (custom SSO resource, wildcard
# domain, developer URLs); they must be schema-valid too.
node "$here/validate.js" "$root"/internal/manifest/testdata/*.json || fail "golden manifests do not validate"

expect_invalid broken-short-name "/name/short must NOT have more than 30 characters" \
  'm.name.short = "x".repeat(40);'
expect_invalid broken-scope "/bots/0/scopes/0 must be equal to one of the allowed values" \
  'm.bots[0].scopes[0] = "channel";'

echo "manifest-check: OK"
