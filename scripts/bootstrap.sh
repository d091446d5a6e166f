#!/usr/bin/env bash
# Make `uv` available without anything installed by hand: use one on PATH, else install it
# into .uv/ with the machine's Python (venv, or pip --target when venv is missing).
set -euo pipefail
cd "$(dirname "$0")/.."
UV_VERSION="0.13.9"

if command -v uv >/dev/null 2>&1; then
  command -v uv
  exit 0
fi
if [ -x .uv/bin/uv ]; then
  echo .uv/bin/uv
  exit 0
fi
PY=$(command -v python3 || command -v python || true)
if [ -z "$PY" ]; then
  echo "需要 Python 3.11+ / Python 3.11+ is required" >&2
  exit 1
fi
echo "安装 uv $UV_VERSION 到 .uv/ / installing uv $UV_VERSION into .uv/" >&2
if "$PY" -m venv .uv >/dev/null 2>&1 && [ -x .uv/bin/pip ]; then
  .uv/bin/pip install --quiet --disable-pip-version-check "uv==$UV_VERSION" >&2
else
  rm -rf .uv
  "$PY" -m pip install --quiet --disable-pip-version-check --target .uv/lib "uv==$UV_VERSION" >&2
  mkdir -p .uv/bin
  ln -sf ../lib/bin/uv .uv/bin/uv
fi
echo .uv/bin/uv
