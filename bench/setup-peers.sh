#!/usr/bin/env bash
# Install, outside the repository, what `bench/run` needs besides the repo's own venv:
#   - wrk (Debian package)            -> /usr/bin/wrk
#   - valgrind (Debian package)       -> /usr/bin/valgrind  (python -m bench.instructions)
#   - Stoplight Prism CLI (npm)       -> $PEERS_DIR/node_modules/.bin/prism   (PEERS_DIR defaults to /tmp/peers)
# Idempotent: whatever is already installed is left alone. Nothing is written under the repository.
# PostgreSQL (for the passbox-postgres rows) is not installed here: `apt-get install -y postgresql` if you want them.
#
# Usage: bench/setup-peers.sh          SKIP_PRISM=1 bench/setup-peers.sh
set -euo pipefail

PEERS_DIR="${PEERS_DIR:-/tmp/peers}"
log() { printf '[setup-peers] %s\n' "$*" >&2; }

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

if ! command -v wrk >/dev/null 2>&1; then
  log "installing wrk (apt)"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq wrk >/dev/null
fi
log "wrk: $(wrk --version 2>&1 | head -1 | cut -c1-60)"

if ! command -v valgrind >/dev/null 2>&1; then
  log "installing valgrind (apt)"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq valgrind >/dev/null
fi
log "valgrind: $(valgrind --version)"

if [ "${SKIP_PRISM:-0}" != 1 ]; then
  if ! command -v npm >/dev/null 2>&1; then
    log "npm missing: apt-get install -y nodejs npm (node >= 18), or SKIP_PRISM=1"
    exit 1
  fi
  mkdir -p "$PEERS_DIR"
  if [ ! -x "$PEERS_DIR/node_modules/.bin/prism" ]; then
    log "installing @stoplight/prism-cli into $PEERS_DIR"
    npm install --prefix "$PEERS_DIR" --no-audit --no-fund --loglevel=error @stoplight/prism-cli
  fi
  log "prism: $("$PEERS_DIR/node_modules/.bin/prism" --version)"
fi
log "done; run: bench/run   (bench/run --help for options)"
