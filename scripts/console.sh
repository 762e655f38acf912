#!/usr/bin/env bash
# Builds the CuTopia Console (console/, Vite + Svelte) and serves it on
# http://127.0.0.1:5173 (or $CONSOLE_PORT). It talks to the node at ws://127.0.0.1:9944 by
# default (scripts/dev.sh starts one); another node: open http://127.0.0.1:5173/?rpc=ws://HOST:PORT
# or type its address in the console's header. The built files (console/dist) are plain
# static files any web server can serve.
set -euo pipefail
cd "$(dirname "$0")/../console"
command -v npm >/dev/null 2>&1 || ../scripts/setup.sh
if [ ! -d node_modules/vite ] || [ package-lock.json -nt node_modules ]; then
	npm ci --no-audit --no-fund --loglevel=error
fi
npm run --silent build -- --logLevel warn
port="${CONSOLE_PORT:-5173}"
echo "console.sh: CuTopia Console on http://127.0.0.1:${port}/ (node: ws://127.0.0.1:9944 unless ?rpc= says otherwise)" >&2
exec npx vite preview --host 127.0.0.1 --port "$port" --strictPort
