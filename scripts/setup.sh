#!/usr/bin/env bash
# Installs what `make dev` and `make test` need: PostgreSQL's server binaries and the Python venv.
# Safe to run any number of times; says nothing when there is nothing to do.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

say() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: %s\n' "$*" >&2; exit 1; }

# The same search as devtools.cluster.find_pg_bin.
has_server_tools() { [ -x "$1/initdb" ] && [ -x "$1/pg_ctl" ] && [ -x "$1/postgres" ]; }

have_pg_server() {
  local dir
  if [ -n "${UGIG_PG_BIN:-}" ]; then
    has_server_tools "$UGIG_PG_BIN" || die "UGIG_PG_BIN=$UGIG_PG_BIN does not hold initdb, pg_ctl and postgres"
    return 0
  fi
  for dir in /usr/lib/postgresql/*/bin; do
    if has_server_tools "$dir"; then return 0; fi
  done
  if command -v pg_config >/dev/null 2>&1 && dir=$(pg_config --bindir 2>/dev/null); then
    if has_server_tools "$dir"; then return 0; fi
  fi
  return 1
}

as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    die "installing system packages needs root: run this as root or install sudo"
  fi
}

apt_install() {
  command -v apt-get >/dev/null 2>&1 || die "cannot install $* without apt-get: install it yourself"
  as_root apt-get update -qq
  # confold/UCF_FORCE_CONFFOLD: keep the createcluster.conf written below instead of asking.
  as_root env DEBIAN_FRONTEND=noninteractive UCF_FORCE_CONFFOLD=1 apt-get install -y -qq \
    --no-install-recommends -o Dpkg::Options::=--force-confold "$@" >/dev/null
}

install_postgres() {
  say "installing PostgreSQL server binaries (apt-get)"
  # Debian's package would otherwise create and start a system-wide "main" cluster; ugig runs its own.
  local conf=/etc/postgresql-common/createcluster.conf
  as_root mkdir -p /etc/postgresql-common
  if [ -f "$conf" ] && grep -Eq '^[[:space:]]*#?[[:space:]]*create_main_cluster' "$conf"; then
    as_root sed -i -E 's/^[[:space:]]*#?[[:space:]]*create_main_cluster.*/create_main_cluster = false/' "$conf"
  else
    echo 'create_main_cluster = false' | as_root tee -a "$conf" >/dev/null
  fi
  apt_install postgresql postgresql-contrib
  have_pg_server || die "PostgreSQL was installed but initdb/pg_ctl/postgres are still not found"
}

find_python() {
  local candidate
  for candidate in python3 python3.13 python3.12 python3.11; do
    if command -v "$candidate" >/dev/null 2>&1 &&
      "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      command -v "$candidate"
      return 0
    fi
  done
  return 1
}

ensure_venv() {
  local python stamp want
  # A venv whose interpreter moved or vanished reads as missing and is rebuilt.
  if [ ! -x .venv/bin/python ]; then
    python=$(find_python) || {
      apt_install python3 python3-venv
      python=$(find_python) || die "Python 3.11 or newer is required"
    }
    say "creating .venv with $python"
    if ! "$python" -m venv --clear .venv >/dev/null 2>&1; then
      # Debian splits ensurepip into python3-venv.
      apt_install python3-venv
      "$python" -m venv --clear .venv
    fi
  fi
  stamp=.venv/.ugig-installed
  want=$(.venv/bin/python -c 'import hashlib; print(hashlib.sha256(open("pyproject.toml", "rb").read()).hexdigest())')
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    say "installing Python dependencies into .venv"
    .venv/bin/python -m pip install -qq --disable-pip-version-check -e '.[dev]'
    echo "$want" >"$stamp"
  fi
}

have_pg_server || install_postgres
ensure_venv
