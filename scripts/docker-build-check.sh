#!/usr/bin/env bash
# Reproduces the Dockerfile's build of the bot without a Docker engine, for CI machines that have none.
#
# usage: scripts/docker-build-check.sh [--out PATH] [--healthcheck-url URL]
#
#   --out PATH              also copy the built binary to PATH (e.g. for an end-to-end run)
#   --healthcheck-url URL   afterwards run "<binary> healthcheck -url URL" (the container's
#                           HEALTHCHECK, pointed at a bot the caller has started) and require exit 0
#
# What it checks:
#   1. the Dockerfile still contains exactly the build command below and pins the go.mod Go version;
#   2. the build succeeds from a copy of the Docker build context (the "!" allowlist in .dockerignore),
#      so a package that needs a file outside the context fails here, not in the image build;
#   3. the binary is static (no dynamic section, no interpreter), stripped, and was built with
#      CGO_ENABLED=0 and -trimpath, so it runs on distroless/static.
# The image build itself (base images, COPY, USER, HEALTHCHECK) is checked only where Docker runs.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out=""
healthcheck_url=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --out) out="${2:?--out needs a path}"; shift 2 ;;
    --healthcheck-url) healthcheck_url="${2:?--healthcheck-url needs a URL}"; shift 2 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "docker-build-check: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

fail() { echo "docker-build-check: FAIL: $*" >&2; exit 1; }
note() { echo "docker-build-check: $*"; }

# 1. The Dockerfile's build line, verbatim. The build in step 2 runs the same command with /out
#    replaced by a temporary directory.
build_line='CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/bot ./cmd/bot'
grep -qF -- "$build_line" "$root/Dockerfile" ||
  fail "the Dockerfile no longer contains: $build_line (update this script together with it)"

go_mod_version="$(awk '$1 == "go" { print $2; exit }' "$root/go.mod")"
docker_go_version="$(sed -n 's/^ARG GO_VERSION=//p' "$root/Dockerfile")"
[[ "$docker_go_version" == "$go_mod_version" ]] ||
  fail "Dockerfile GO_VERSION=$docker_go_version but go.mod says go $go_mod_version"
local_go="$(go env GOVERSION)"
[[ "$local_go" == "go$go_mod_version" ]] ||
  note "warning: local toolchain is $local_go, the image builds with go$go_mod_version"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# 2. Recreate the build context from the .dockerignore allowlist ("*" then "!path" lines).
ctx="$tmp/src"
mkdir -p "$ctx"
while IFS= read -r line || [[ -n "$line" ]]; do
  line="${line%%#*}"
  line="${line//[[:space:]]/}"
  case "$line" in
    ""|"*") ;;
    !*)
      path="${line#!}"
      path="${path%/}"
      [[ -e "$root/$path" ]] || fail ".dockerignore allows $path, which does not exist"
      mkdir -p "$ctx/$(dirname "$path")"
      cp -R "$root/$path" "$ctx/$path"
      ;;
    *) fail ".dockerignore line '$line' is not supported here (use \"*\" and \"!path\" lines only)" ;;
  esac
done <"$root/.dockerignore"

bin="$tmp/out/bot"
mkdir -p "$tmp/out"
# Same environment as the golang image: no GOFLAGS, the pinned toolchain, native linux target.
(cd "$ctx" && env -u GOFLAGS -u GOOS -u GOARCH GOTOOLCHAIN=local \
  CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o "$bin" ./cmd/bot) ||
  fail "go build failed in the Docker build context"

# 3. Static, stripped, built with the intended settings.
info="$(go version -m "$bin")"
# (Go does not record -ldflags for -trimpath builds; stripping is checked with readelf below.)
for want in $'\tbuild\tCGO_ENABLED=0' $'\tbuild\t-trimpath=true' $'\tpath\tguestpass/cmd/bot'; do
  grep -qF -- "$want" <<<"$info" || fail "go version -m lacks '${want//$'\t'/ }'"
done
if command -v readelf >/dev/null; then
  readelf -d "$bin" 2>&1 | grep -q 'There is no dynamic section' || fail "binary has a dynamic section (not static)"
  ! readelf -l "$bin" | grep -q 'INTERP' || fail "binary requests a program interpreter (not static)"
  ! readelf -S "$bin" | grep -q '\.symtab' || fail "binary has a symbol table (not stripped)"
  note "readelf: static, no interpreter, stripped"
elif command -v file >/dev/null; then
  file "$bin" | grep -q 'statically linked' || fail "file(1) does not report the binary as statically linked"
  note "file: statically linked (readelf not installed, strip not checked)"
else
  note "warning: neither readelf nor file is installed; relying on the CGO_ENABLED=0 build setting"
fi
note "built $(du -h "$bin" | cut -f1) static binary with $(go version "$bin" | cut -d' ' -f2-)"

if [[ -n "$out" ]]; then
  mkdir -p "$(dirname "$out")"
  cp "$bin" "$out"
  note "copied the binary to $out"
fi

if [[ -n "$healthcheck_url" ]]; then
  "$bin" healthcheck -url "$healthcheck_url" || fail "$bin healthcheck -url $healthcheck_url failed"
  note "healthcheck against $healthcheck_url passed"
fi
note "OK"
