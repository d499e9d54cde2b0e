#!/usr/bin/env bash
# Fetches the real binaries the integration suites run: Prometheus, promtool and Alertmanager (Debian packages,
# unpacked into a cache folder rather than installed as services) and headless Chromium (installed: it needs its
# shared libraries). Idempotent: a tool already in the cache is not fetched again.
set -euo pipefail

CACHE="${FORESIGHT_CACHE:-$HOME/.cache/foresight}"
ROOT="$CACHE/root"
BIN="$CACHE/bin"
mkdir -p "$ROOT" "$BIN" "$CACHE/debs"

apt_updated=0
apt_update_once() {
  if [ "$apt_updated" = 0 ]; then
    echo "fetch-tools: apt-get update" >&2
    apt-get update -qq >&2
    apt_updated=1
  fi
}

# unpack PACKAGE BINARY...: apt-get download + dpkg-deb -x into $ROOT, then link each binary into $BIN.
unpack() {
  local pkg="$1"; shift
  local missing=0
  for b in "$@"; do [ -x "$BIN/$b" ] || missing=1; done
  if [ "$missing" = 0 ]; then echo "fetch-tools: $pkg cached" >&2; return; fi
  apt_update_once
  (cd "$CACHE/debs" && rm -f "${pkg}"_*.deb && apt-get download -q "$pkg" >&2)
  dpkg-deb -x "$CACHE/debs/${pkg}"_*.deb "$ROOT"
  for b in "$@"; do ln -sf "$ROOT/usr/bin/$b" "$BIN/$b"; done
  echo "fetch-tools: $pkg unpacked into $ROOT" >&2
}

unpack prometheus prometheus promtool
unpack prometheus-alertmanager prometheus-alertmanager amtool

# openssl makes the certificates of the TLS suite (test/helpers/tls.ts).
if ! command -v openssl >/dev/null 2>&1; then
  apt_update_once
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends openssl >&2
fi

# Chromium links against many system libraries: install it (no service is started).
if ! command -v chromium-headless-shell >/dev/null 2>&1 && ! command -v chromium >/dev/null 2>&1; then
  apt_update_once
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium-headless-shell >&2 ||
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >&2
fi
for c in chromium-headless-shell chromium; do
  if p=$(command -v "$c"); then ln -sf "$p" "$BIN/chromium"; break; fi
done

"$BIN/prometheus" --version 2>&1 | head -1 >&2
"$BIN/promtool" --version 2>&1 | head -1 >&2
"$BIN/prometheus-alertmanager" --version 2>&1 | head -1 >&2
"$BIN/chromium" --version >&2 || true
