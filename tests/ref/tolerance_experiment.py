"""Measures how far logits move when a forward pass rounds its activations the way the C
kernels may (int8 blocks, F16/BF16, F16 KV cache): the basis of the per-type tolerances
in tests/python/test_reference_forward.py. Run: cd tests && /usr/bin/python3 -m ref.tolerance_experiment
"""
import sys

import numpy as np

from .model import Model
from .random_model import InMemoryModel, Spec

# Weight type -> how the C side may round matmul inputs for it (llama.cpp's choices:
# F16 activations for F16 weights, BF16 for BF16, Q8_0/Q8_1 blocks of 32 for the
# 32-element types, Q8_K blocks of 256 for the k-quants).
SCHEMES = {
    "F16": "f16", "BF16": "bf16",
    "Q8_0": "q8_0", "Q4_0": "q8_0", "Q4_1": "q8_0", "Q5_0": "q8_0", "Q5_1": "q8_0",
    "Q4_K": "q8_K", "Q5_K": "q8_K", "Q6_K": "q8_K",
}

CONFIGS = [
    dict(arch="llama", embd=256, ff=512),
    dict(arch="llama", embd=192, ff=384, heads=6, kv_heads=2, tied=True),
    dict(arch="llama", embd=256, ff=512, llama3=True),
    dict(arch="qwen2", embd=256, ff=512),
    dict(arch="qwen3", embd=256, ff=512),
    dict(arch="qwen3", embd=256, ff=512, head_dim=128),
]


def measure(seeds=(1, 2, 3), n_tokens=48):
    """{scheme: (max |delta logit|, worst per-model RMS of delta)} over configs, seeds and
    positions, with an F16 KV cache."""
    worst, worst_rms = {}, {}
    for config in CONFIGS:
        for seed in seeds:
            spec = Spec(seed=seed, **config)
            weights = InMemoryModel(spec)
            tokens = np.random.default_rng(seed).integers(0, spec.vocab, n_tokens)
            exact = Model(weights).logits(tokens)
            for scheme in sorted(set(SCHEMES.values())):
                rounded = Model(weights, act_quant=scheme, kv_f16=True).logits(tokens)
                delta = rounded - exact
                worst[scheme] = max(worst.get(scheme, 0.0), float(np.abs(delta).max()))
                rms = float(np.sqrt(np.mean(delta * delta)))
                worst_rms[scheme] = max(worst_rms.get(scheme, 0.0), rms)
    return {scheme: (worst[scheme], worst_rms[scheme]) for scheme in worst}


def main():
    for scheme, (delta, rms) in sorted(measure().items()):
        print("%-5s max |delta logit| = %.5f   rms = %.5f" % (scheme, delta, rms))
    return 0


if __name__ == "__main__":
    sys.exit(main())
