#!/usr/bin/env bash
# `make demo`: comfylock's main job on bundled fixtures, no network.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=.venv/bin/comfylock
out=demo-out
rm -rf "$out" && mkdir -p "$out"
cp -R fixtures/demo/. "$out/"
export COMFYLOCK_CACHE_DIR="$PWD/$out/.cache" COMFYLOCK_STORE="$PWD/$out/.store"
if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then b=$'\033[1m' r=$'\033[0m'; else b="" r=""; fi
run() { printf '\n%s$ comfylock %s%s\n' "$b" "$*" "$r"; "$bin" "$@"; }

run inspect "$out/workflows"
run --comfyui-root "$out/ComfyUI" scan
run --comfyui-root "$out/ComfyUI" report "$out/workflows" || test $? -eq 1   # exit 1 = something is missing
printf '\ndemo finished: files are in %s/\n' "$out"
