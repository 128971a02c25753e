#!/usr/bin/env bash
# Renders every golden Adaptive Card (internal/cards/testdata/golden) with the official adaptivecards
# renderer in headless Chromium (Debian's chromium, driven by playwright-core; versions pinned in
# package-lock.json) and fails on any renderer error, parse or validation warning, page or console
# error.
#
#   bash tools/gallery/check.sh           CI: render into a temporary directory and fail when the
#                                         committed docs/cards (README.md, one PNG per card) is stale
#   bash tools/gallery/check.sh --write   regenerate docs/cards
#
# Chromium and the fonts the theme uses (Roboto, the fallback in Teams' own font stack, and colour
# emoji) are installed from Debian only when missing. Playwright never downloads a browser here.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

write=false
case "${1:-}" in
  "") ;;
  --write) write=true ;;
  *) echo "usage: bash tools/gallery/check.sh [--write]" >&2; exit 2 ;;
esac

has_font() { command -v fc-list >/dev/null && fc-list -q "$1"; }
packages=()
[[ -x /usr/bin/chromium ]] || packages+=(chromium)
has_font Roboto || packages+=(fonts-roboto-unhinted)
has_font 'Noto Color Emoji' || packages+=(fonts-noto-color-emoji)
if ((${#packages[@]} > 0)); then
  echo "installing ${packages[*]} from Debian" >&2
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
fi

npm ci --quiet --no-audit --no-fund --loglevel=error >/dev/null

if $write; then
  node render.mjs --out ../../docs/cards
else
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  node render.mjs --out "$tmp" --expect ../../docs/cards
fi
