#!/usr/bin/env bash
# The scale-out stack on this machine (docs/scale-out.md): PostgreSQL (Debian's, a throwaway
# cluster), a Prefect server on it, two process workers splitting the communities, and the
# warehouse on DuckLake; runs one export per community through both and prints who ran what.
#   scripts/scale_out_demo.sh [--rows N] [--home DIR] [--no-wait]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/system_deps.sh postgresql
export PREFECT_SERVER_ANALYTICS_ENABLED=false
exec .venv/bin/python scripts/scale_out/demo.py "$@"
