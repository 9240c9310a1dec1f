#!/usr/bin/env bash
# Set up everything lui needs on a fresh Debian machine with Python 3.11: system packages for
# audio (and, when asked, the browser and PostgreSQL used by tests), a virtual environment in
# .venv, the CPU build of torch, and the project with all extras. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_packages=(espeak-ng sox ffmpeg postgresql chromium fonts-wqy-microhei)
# several workers: redis-server holds shared limits and session ownership (tests start their own)
apt_packages+=(redis-server)
missing=()
for pkg in "${apt_packages[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "setup: please install: ${missing[*]} (sudo apt-get install ${missing[*]})" >&2
  fi
fi

PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
# the CPU build of torch (any other torch request pulls gigabytes of CUDA wheels)
.venv/bin/python -m pip install -q torch==2.13.0
.venv/bin/python -m pip install -q -e ".[st,voice,evals,postgres,dev]"
echo "setup: done (.venv ready)"

# prepare once what would make the first `lui serve` slow (router training, catalogue index, models),
# with progress shown; cached under .lui/ (git-ignored), retrained only when data or code change
.venv/bin/lui prepare
