#!/usr/bin/env bash
# `make serve`: a local Prefect server on loopback (SQLite under var/prefect), the work pool,
# every deployment from prefect.yaml, and a process worker. Ctrl-C stops the worker, then the server.
set -euo pipefail
cd "$(dirname "$0")/.."
HOST=${LIANDONG_SERVE_HOST:-127.0.0.1}
PORT=${LIANDONG_SERVE_PORT:-4200}
export PREFECT_HOME=${PREFECT_HOME:-$PWD/var/prefect}
export PREFECT_API_URL="http://$HOST:$PORT/api"
export PREFECT_SERVER_ANALYTICS_ENABLED=false
LOG_DIR=${LIANDONG_HOME:-var}/log
mkdir -p "$PREFECT_HOME" "$LOG_DIR"
PREFECT=.venv/bin/prefect

"$PREFECT" server start --host "$HOST" --port "$PORT" >"$LOG_DIR/prefect-server.log" 2>&1 &
server=$!
worker=""
stop() {
  trap - INT TERM EXIT
  # The worker first: a worker whose server vanished keeps retrying instead of exiting. It gets
  # 20 s to hand back its runs, then it is killed.
  if [ -n "$worker" ]; then
    kill -INT "$worker" 2>/dev/null || true
    for _ in $(seq 1 20); do kill -0 "$worker" 2>/dev/null || break; sleep 1; done
    kill -KILL "$worker" 2>/dev/null || true
  fi
  kill -TERM "$server" 2>/dev/null && wait "$server" 2>/dev/null || true
  echo "已停止 / stopped"
}
trap stop INT TERM EXIT

echo "启动 Prefect 服务 / starting the Prefect server on $PREFECT_API_URL (log: $LOG_DIR/prefect-server.log)"
for _ in $(seq 1 180); do
  if .venv/bin/python -c "import httpx,sys; sys.exit(httpx.get('$PREFECT_API_URL/health', timeout=2).status_code != 200)" 2>/dev/null; then
    break
  fi
  kill -0 "$server" 2>/dev/null || { echo "Prefect 服务启动失败 / the server failed:"; tail -20 "$LOG_DIR/prefect-server.log"; exit 1; }
  sleep 1
done
"$PREFECT" work-pool inspect liandong >/dev/null 2>&1 || "$PREFECT" work-pool create liandong --type process >/dev/null
"$PREFECT" --no-prompt deploy --all
echo
echo "界面 / UI: http://$HOST:$PORT   (Ctrl-C 停止 / to stop)"
"$PREFECT" worker start --pool liandong --limit 2 &
worker=$!
wait "$worker"
