#!/bin/sh
# Runs every Check test binary given as arguments; prints each suite's result and a total.
# Environment: SLLM_TESTDATA (default ../shared/testdata), SLLM_MODELS_DIR (default models).
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
export SLLM_TESTDATA="${SLLM_TESTDATA:-$root/../shared/testdata}"
export SLLM_MODELS_DIR="$(cd "$root" && cd "${SLLM_MODELS_DIR:-models}" 2>/dev/null && pwd || echo "$root/models")"
export SLLM_ROOT="$root"
export CK_DEFAULT_TIMEOUT="${CK_DEFAULT_TIMEOUT:-600}"
failed=0
passed=0
for t in "$@"; do
    if "$t"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAILED: $t"; fi
done
echo "C test programs: $passed passed, $failed failed"
[ "$failed" = 0 ]
