#!/usr/bin/env bash
# Install redswf into .venv and start `redswf serve` on the embedded default
# (its own valkey-server with AOF in ~/.local/share/redswf). Extra arguments go to serve,
# and a relative path among them is taken from the directory this script was called from.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/bootstrap.sh"
exec "$root/.venv/bin/redswf" serve "$@"
