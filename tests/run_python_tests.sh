#!/bin/sh
# Runs the pytest suites (tests/python and bindings) with the given interpreter.
# pytest's exit 5 ("no tests collected") is not a failure while no suite exists yet.
set -u
python=${1:-/usr/bin/python3}
root=$(cd "$(dirname "$0")/.." && pwd)
export SLLM_TESTDATA="${SLLM_TESTDATA:-$root/../shared/testdata}"
export SLLM_ROOT="$root"
export SLLM_BUILD="$root/${BUILD:-build}"
dirs=""
for d in tests/python bindings/python/tests; do [ -d "$root/$d" ] && dirs="$dirs $root/$d"; done
if [ -z "$dirs" ]; then echo "no Python test suites yet"; exit 0; fi
cd "$root" && "$python" -m pytest -q $dirs
rc=$?
[ "$rc" = 5 ] && exit 0
exit $rc
