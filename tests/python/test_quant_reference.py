"""C (de)quantization vs the independent numpy dequantizers in tests/ref/quants.py.

The C tool build/tests/tools/dump_quant quantizes seeded random data to each type; the
bytes are then dequantized by both the C code and tests/ref/quants.py and must agree
bit for bit. The quantization error must stay within the same bounds as
tests/test_cpu_kernels.c (relative RMS error on N(0, 1) data).
"""
import os
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "ref"))
import quants  # noqa: E402

TOOL = os.path.join(ROOT, os.environ.get("BUILD", "build"), "tests", "tools", "dump_quant")

# relative RMS error bounds, justified in tests/test_cpu_kernels.c
BOUNDS = {"F32": 0.0, "F16": 0.00025, "BF16": 0.002, "Q8_0": 0.0065, "Q4_0": 0.095,
          "Q4_1": 0.1, "Q5_0": 0.048, "Q5_1": 0.048, "Q4_K": 0.09, "Q5_K": 0.045,
          "Q6_K": 0.023}

pytestmark = pytest.mark.skipif(not os.access(TOOL, os.X_OK),
                                reason=f"{TOOL} not built (make test-tools)")


def run_tool(*args):
    subprocess.run([TOOL, *map(str, args)], check=True, capture_output=True)


@pytest.mark.parametrize("name", sorted(BOUNDS))
def test_c_and_numpy_dequantize_identically(tmp_path, name):
    type_id = quants.TYPE_IDS[name]
    rng = np.random.default_rng(1234 + type_id)
    x = rng.standard_normal(256 * 40).astype(np.float32)
    x[256:512] *= 1e-3           # a block of small values (fp16 scale precision)
    x[512:768] = 0.0             # an all-zero super-block
    x[768:1024] += 3.0           # offset values (min/scale types)
    src, packed, out = tmp_path / "x.f32", tmp_path / "q.bin", tmp_path / "y.f32"
    x.tofile(src)
    run_tool("quantize", name, src, packed)
    raw = packed.read_bytes()
    assert len(raw) == quants.row_bytes(type_id, x.size)
    run_tool("dequantize", name, packed, x.size, out)
    y_c = np.fromfile(out, dtype=np.float32)
    y_ref = quants.dequantize(type_id, raw, x.size)
    assert y_c.dtype == y_ref.dtype == np.float32
    mismatch = np.flatnonzero(y_c.view(np.uint32) != y_ref.view(np.uint32))
    assert mismatch.size == 0, f"{name}: {mismatch.size} differ, first at {mismatch[:5]}"
    normal = np.r_[0:256, 1024:x.size]
    err = np.sqrt(np.mean((y_ref[normal].astype(np.float64) - x[normal]) ** 2))
    rms = np.sqrt(np.mean(x[normal].astype(np.float64) ** 2))
    assert err / rms <= BOUNDS[name], f"{name}: relative RMS error {err / rms:.5f}"
    assert np.all(y_ref[512:768] == 0.0)


def test_random_bytes_dequantize_identically(tmp_path):
    """Arbitrary block contents (not just what our quantizer writes), finite scales."""
    rng = np.random.default_rng(77)
    for name in ("Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q4_K", "Q5_K", "Q6_K"):
        type_id = quants.TYPE_IDS[name]
        _, block, size = quants.TYPES[type_id]
        n = block * 16
        raw = rng.integers(0, 256, size=n // block * size, dtype=np.uint8)
        blocks = raw.reshape(-1, size)
        # keep fp16 scales finite: clear the exponent's top bit of every half field
        half_fields = {"Q6_K": [208]}.get(name, [0, 2] if name in ("Q4_1", "Q5_1", "Q4_K", "Q5_K") else [0])
        for off in half_fields:
            blocks[:, off + 1] &= 0x3F
        packed, out = tmp_path / f"{name}.bin", tmp_path / f"{name}.f32"
        blocks.tofile(packed)
        run_tool("dequantize", name, packed, n, out)
        y_c = np.fromfile(out, dtype=np.float32)
        y_ref = quants.dequantize(type_id, blocks.tobytes(), n)
        assert np.array_equal(y_c.view(np.uint32), y_ref.view(np.uint32)), name
