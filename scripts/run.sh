#!/usr/bin/env bash
# One command for everything on a fresh Debian machine that has only Python 3.10+ and apt:
#   bash scripts/run.sh demo [--screenshot PATH]   write a demo recording and open it in napari
#   bash scripts/run.sh test [PYTEST ARGS...]       run the whole test suite headless (Xvfb)
# Both install what they need first: Debian packages for Qt/OpenGL/Xvfb (when missing),
# a virtual environment in .venv, and the project with its test extras.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { sed -n '2,6p' "$0" >&2; exit 2; }
[ $# -ge 1 ] || usage
cmd=$1; shift

# Qt's xcb platform plugin and a virtual X server. Mesa GL, fontconfig, dbus and xkbcommon are in
# the Debian image already; listed so a barer image works too. Only missing ones are installed.
APT_PKGS="xvfb xauth libgl1 libegl1 libgl1-mesa-dri libglib2.0-0 libfontconfig1 libdbus-1-3 \
  libxkbcommon-x11-0 libx11-xcb1 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 \
  libxcb-randr0 libxcb-render-util0 libxcb-shape0 libxcb-xfixes0 libxcb-xkb1 fonts-dejavu-core"

ensure_apt() {
  command -v dpkg >/dev/null 2>&1 || { echo "not a Debian system: install Xvfb and Qt's xcb libraries by hand" >&2; return 0; }
  local missing="" p
  for p in $APT_PKGS; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
  [ -z "$missing" ] && return 0
  echo "apt: installing$missing"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  # shellcheck disable=SC2086
  $sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
}

ensure_venv() {
  local py=${PYTHON:-python3}
  if [ ! -x .venv/bin/python ]; then
    # uv resolves and installs napari's ~110 packages in seconds instead of minutes; pip fallback.
    if "$py" -m pip install -q --disable-pip-version-check uv >/dev/null 2>&1 && "$py" -m uv --version >/dev/null 2>&1; then
      "$py" -m uv venv -q .venv
    else
      "$py" -m venv .venv
    fi
  fi
  if "$py" -m uv --version >/dev/null 2>&1; then
    "$py" -m uv pip install -q --python .venv/bin/python -e ".[testing]"
  else
    .venv/bin/python -m pip install -q --progress-bar off -e ".[testing]" 2>&1 \
      | { grep -v "^WARNING: Location 'file:" || true; }
  fi
}

headless_env() {
  # NOT QT_QPA_PLATFORM=offscreen: it has no OpenGL and napari's canvas fails (shared/ci-notes.md).
  unset QT_QPA_PLATFORM
  XDG_RUNTIME_DIR="$(mktemp -d)"; export XDG_RUNTIME_DIR; chmod 700 "$XDG_RUNTIME_DIR"
  export PYTEST_QT_API=pyqt6
}

with_display() {
  if [ -n "${DISPLAY:-}" ]; then "$@"; else xvfb-run -a -s "-screen 0 1280x1024x24" "$@"; fi
}

case "$cmd" in
  demo)
    ensure_apt; ensure_venv; headless_env
    with_display .venv/bin/napari-tvips demo "$@"
    ;;
  test)
    ensure_apt; ensure_venv; headless_env
    .venv/bin/npe2 validate napari-tvips --imports
    .venv/bin/ruff check src tests benchmarks
    set +e
    xvfb-run -a -s "-screen 0 1280x1024x24" .venv/bin/python -m pytest -ra -p no:cacheprovider "$@"
    rc=$?
    set -e
    if [ "$rc" -eq 5 ]; then echo "pytest collected no tests" >&2; exit 1; fi
    exit "$rc"
    ;;
  *) usage ;;
esac
