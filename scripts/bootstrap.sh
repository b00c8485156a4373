#!/usr/bin/env bash
# Prepare .venv with mvm-tui and its test tools. Installs the Debian/Ubuntu packages that
# libvirt-python needs to build (libvirt-dev, pkg-config, gcc, python3-dev, python3-venv)
# when they are missing and we run as root; otherwise says what to install. As root it also
# installs libvirt-clients and libxml2-utils (virt-xml-validate checks the XML provisioning
# writes against libvirt's schemas; those tests skip without them).
set -euo pipefail
cd "$(dirname "$0")/.."

need_pkgs=()
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
if command -v dpkg-query >/dev/null; then
  for p in libvirt-dev pkg-config gcc; do have_pkg "$p" || need_pkgs+=("$p"); done
  # python3-dev / python3-venv only matter for the system python; a pyenv or other build
  # brings its own headers and venv.
  py=$(command -v python3)
  if [[ "$py" == /usr/bin/* ]]; then
    for p in python3-dev python3-venv; do have_pkg "$p" || need_pkgs+=("$p"); done
  fi
  if [[ $(id -u) -eq 0 ]]; then
    for p in libvirt-clients libxml2-utils; do have_pkg "$p" || need_pkgs+=("$p"); done
  fi
fi
if ((${#need_pkgs[@]})); then
  if [[ $(id -u) -eq 0 ]]; then
    echo "bootstrap: installing ${need_pkgs[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
  else
    echo "bootstrap: missing system packages: ${need_pkgs[*]}" >&2
    echo "bootstrap: run as root, or: sudo apt-get install ${need_pkgs[*]}" >&2
    exit 1
  fi
fi

stamp=.venv/.installed
if [[ ! -x .venv/bin/python ]]; then
  python3 -m venv .venv
fi
# The exact versions of requirements.lock (hash-checked), then mvm-tui itself without
# dependencies: installs are the same everywhere until scripts/lock refreshes the lock.
if [[ ! -f $stamp || pyproject.toml -nt $stamp || requirements.lock -nt $stamp ]]; then
  echo "bootstrap: installing mvm-tui and its locked dependencies into .venv" >&2
  log=$(mktemp)
  if ! { .venv/bin/pip install --require-hashes -r requirements.lock \
         && .venv/bin/pip install --no-deps -e .; } >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    echo "bootstrap: pip install failed (full log: $log)" >&2
    exit 1
  fi
  rm -f "$log"
  touch "$stamp"
fi
