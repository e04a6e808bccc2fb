#!/usr/bin/env bash
# Install the system tools comfylock's tests and benchmarks use, where this machine allows it.
# Never fails the build: tests that need a missing tool skip and say why.
set -u
want=()
command -v aria2c >/dev/null 2>&1 || want+=(aria2)
command -v b3sum  >/dev/null 2>&1 || want+=(b3sum)
command -v git    >/dev/null 2>&1 || want+=(git)
# nginx: the HTTP mirror in the remote tests, and the capped server of `make bench`
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || want+=(nginx-light)
if [ "${1:-}" = "--bench" ]; then  # what `make bench` compares against
  command -v curl  >/dev/null 2>&1 || want+=(curl)
  command -v openssl >/dev/null 2>&1 || want+=(openssl)
fi
[ ${#want[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing ${want[*]} (Debian packages)…"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${want[@]}"; } >/dev/null 2>&1 \
    || echo "note: could not install ${want[*]}; tests that need them will skip"
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  { sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${want[@]}"; } >/dev/null 2>&1 \
    || echo "note: could not install ${want[*]}; tests that need them will skip"
else
  echo "note: ${want[*]} not installed (no root); tests that need them will skip"
fi
exit 0
