#!/usr/bin/env bash
# Pin every package intake installs, with hashes, for Python 3.11 on Linux (CI's, Debian 12's):
# requirements-dev.lock (runtime + the dev extra, what `make` installs) and requirements.lock
# (runtime only, for deployments). Called by `make lock`; extra arguments go to pip-compile,
# e.g. `make lock LOCK_ARGS=--upgrade` or `LOCK_ARGS="--upgrade-package Pillow"`.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
PIP_TOOLS=pip-tools==7.6.2

"$PYTHON" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || {
  echo "make lock needs Python 3.11, the version CI runs: PYTHON=python3.11 make lock" >&2
  exit 1
}

# pip-tools goes in a scratch venv: the project's own venv is installed from the lock.
tools=$(mktemp -d)
trap 'rm -rf "$tools"' EXIT
"$PYTHON" -m venv "$tools"
"$tools/bin/python" -m pip install --quiet "$PIP_TOOLS"

# setuptools and Babel (the build requirements) are pinned too, so that `pip install
# --no-build-isolation` builds intake from hash-checked tools. Index settings stay in pip's
# own configuration, never in the lock files.
export CUSTOM_COMPILE_COMMAND="make lock"
compile() {
  "$tools/bin/pip-compile" --quiet --generate-hashes --strip-extras --allow-unsafe \
    --all-build-deps --no-emit-index-url --no-emit-find-links "$@" pyproject.toml
}

compile --extra dev --output-file requirements-dev.lock "${@}"
# Start the runtime lock from the dev lock's pins, so that both install the same versions.
cp requirements-dev.lock requirements.lock
compile --output-file requirements.lock
