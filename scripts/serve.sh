#!/usr/bin/env bash
# Install redswf into .venv and start `redswf serve` on the embedded default
# (its own valkey-server with AOF in ~/.local/share/redswf). Extra arguments go to serve.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
exec .venv/bin/redswf serve "$@"
