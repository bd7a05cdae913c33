#!/usr/bin/env bash
# One entry point for a fresh Debian machine (run as root, or with sudo):
#   ./setup.sh run    set everything up, then run the application's main job
#   ./setup.sh gui    set everything up, then open the desktop application
#   ./setup.sh test   set everything up, then run the whole test suite
#   ./setup.sh env    only set everything up
# Idempotent: Debian packages and the virtual environment are installed only
# when missing or out of date.
set -euo pipefail
cd "$(dirname "$0")"

VENV=.venv
PY="$VENV/bin/python"
# Xvfb and the xcb/EGL libraries that Qt and VTK need on a machine without a screen.
DEBIAN_PACKAGES=(xvfb xauth libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0
  libxcb-render-util0 libxcb-xinerama0 libxcb-xkb1 libxkbcommon-x11-0 libxcb-shape0
  libegl1 libgl1 libpulse0 libfontconfig1 libdbus-1-3)

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

ensure_debian_packages() {
  local wanted=("${DEBIAN_PACKAGES[@]}")
  command -v python3 >/dev/null || wanted+=(python3)
  python3 -c 'import venv, ensurepip' 2>/dev/null || wanted+=(python3-venv)
  local missing=()
  for pkg in "${wanted[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing Debian packages: ${missing[*]}"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

ensure_venv() {
  [ -x "$PY" ] || python3 -m venv "$VENV"
  # Reinstall only when the declared dependencies change.
  local stamp="$VENV/.svr-desktop-installed"
  local digest
  digest=$(cat pyproject.toml constraints.txt | sha256sum | cut -d' ' -f1)
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$digest" ]; then
    echo "setup: installing Python packages into $VENV"
    "$PY" -m pip install -q --disable-pip-version-check -c constraints.txt -e '.[test]'
    echo "$digest" > "$stamp"
  fi
}

with_display() {
  # Qt and VTK's Qt widget need an X server; use the real one when there is one.
  if [ -n "${DISPLAY:-}" ]; then "$@"; else xvfb-run -a -s "-screen 0 1920x1080x24" "$@"; fi
}

ensure_debian_packages
ensure_venv
case "${1:-env}" in
  env) ;;
  run)
    # The main job on the shipped default model: a product photo in, a
    # watertight STL out (extra arguments go to `svr-desktop reconstruct`).
    shift
    mkdir -p out
    "$VENV/bin/svr-desktop" reconstruct resources/samples/flange_studio.png \
      --out out/flange_studio.stl --force "$@" ;;
  gui) shift; with_display "$VENV/bin/svr-desktop" gui "$@" ;;
  test) shift; with_display "$PY" -m pytest "$@" ;;
  *) echo "usage: ./setup.sh [env|run|gui|test] [args...]" >&2; exit 2 ;;
esac
