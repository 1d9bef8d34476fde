"""Python re-derivation of tests/tools/make_model's seeded weights and tensor layout.

Reimplemented from make_model's documented rule, not shared with it, so a test can
check the C tool's output value by value:
    stream(name) = splitmix64 seeded with seed ^ fnv1a64(name)
    value_i      = float32(offset + (2 u_i - 1) * std * sqrt(3)),  u_i = (z_i >> 11) * 2^-53
splitmix64 is counter based (z_i = mix(state0 + (i + 1) * golden)), so whole tensors are
generated with vectorized uint64 arithmetic; splitmix64_scalar is the textbook form.
InMemoryModel exposes the same interface as gguf_reader.GGUFFile to model.Model, which
lets tolerance experiments run on a model without writing a file."""

import math

import numpy as np

MASK64 = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15


def fnv1a64(text):
    h = 0xCBF29CE484222325
    for byte in text.encode():
        h ^= byte
        h = (h * 0x100000001B3) & MASK64
    return h


def splitmix64_scalar(state):
    """One step of splitmix64: returns (new_state, output)."""
    state = (state + GOLDEN) & MASK64
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return state, z ^ (z >> 31)


def splitmix64_outputs(state0, count):
    """The first `count` outputs of splitmix64 from state0, vectorized."""
    with np.errstate(over="ignore"):
        z = np.uint64(state0) + (np.arange(1, count + 1, dtype=np.uint64) * np.uint64(GOLDEN))
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def tensor_values(name, seed, count, std, offset):
    z = splitmix64_outputs((seed ^ fnv1a64(name)) & MASK64, count)
    u = (z >> np.uint64(11)).astype(np.float64) * 2.0 ** -53
    return (offset + (2.0 * u - 1.0) * (std * math.sqrt(3.0))).astype(np.float32)


class Spec:
    """The shape options of make_model, with its defaults."""

    def __init__(self, arch="llama", embd=128, layers=2, heads=4, kv_heads=2, ff=256,
                 vocab=512, ctx=512, seed=7, head_dim=None, tied=False, llama3=False,
                 freq_base=None, eps=1e-5):
        self.arch, self.embd, self.layers, self.heads = arch, embd, layers, heads
        self.kv_heads, self.ff, self.vocab, self.ctx, self.seed = kv_heads, ff, vocab, ctx, seed
        self.head_dim = head_dim or embd // heads
        self.tied, self.llama3, self.eps = tied, llama3, eps
        if freq_base is None:
            freq_base = 500000.0 if llama3 else 1e6 if arch.startswith("qwen") else 10000.0
        self.freq_base = freq_base

    def args(self):
        """make_model command-line options for this spec."""
        out = ["--arch", self.arch, "--embd", self.embd, "--layers", self.layers,
               "--heads", self.heads, "--kv-heads", self.kv_heads, "--ff", self.ff,
               "--vocab", self.vocab, "--ctx", self.ctx, "--seed", self.seed,
               "--head-dim", self.head_dim, "--freq-base", repr(self.freq_base),
               "--eps", repr(self.eps)]
        if self.tied:
            out.append("--tied")
        if self.llama3:
            out += ["--rope-scaling", "llama3"]
        return [str(a) for a in out]

    def tensors(self):
        """[(name, dims, std, offset, is_matrix)] in make_model's file order (rope_freqs,
        which is not random, excluded)."""
        e, f, hd = self.embd, self.ff, self.head_dim
        q, kv = self.heads * hd, self.kv_heads * hd
        s = 1.0 / math.sqrt(e)
        out = [("token_embd.weight", (e, self.vocab), 0.02, 0.0, True)]
        for i in range(self.layers):
            p = "blk.%d." % i
            out += [(p + "attn_norm.weight", (e,), 0.1, 1.0, False),
                    (p + "attn_q.weight", (e, q), s, 0.0, True),
                    (p + "attn_k.weight", (e, kv), s, 0.0, True),
                    (p + "attn_v.weight", (e, kv), s, 0.0, True),
                    (p + "attn_output.weight", (q, e), 1.0 / math.sqrt(q), 0.0, True),
                    (p + "ffn_norm.weight", (e,), 0.1, 1.0, False),
                    (p + "ffn_gate.weight", (e, f), s, 0.0, True),
                    (p + "ffn_up.weight", (e, f), s, 0.0, True),
                    (p + "ffn_down.weight", (f, e), 1.0 / math.sqrt(f), 0.0, True)]
            if self.arch == "qwen2":
                out += [(p + "attn_q.bias", (q,), 0.2, 0.0, False),
                        (p + "attn_k.bias", (kv,), 0.2, 0.0, False),
                        (p + "attn_v.bias", (kv,), 0.2, 0.0, False)]
            if self.arch == "qwen3":
                out += [(p + "attn_q_norm.weight", (hd,), 0.1, 1.0, False),
                        (p + "attn_k_norm.weight", (hd,), 0.1, 1.0, False)]
        out.append(("output_norm.weight", (e,), 0.1, 1.0, False))
        if not self.tied:
            out.append(("output.weight", (e, self.vocab), 1.0 / math.sqrt(e), 0.0, True))
        return out

    def values(self, name):
        for n, dims, std, offset, _ in self.tensors():
            if n == name:
                count = int(np.prod(dims))
                return tensor_values(n, self.seed, count, std, offset).reshape(dims[::-1])
        raise KeyError(name)

    def llama3_freq_factors(self):
        """Llama 3 rope factors as Hugging Face computes them (factor 8, low 1, high 4,
        original context 8192)."""
        factor, low, high, orig = 8.0, 1.0, 4.0, 8192.0
        out = []
        for i in range(self.head_dim // 2):
            freq = 1.0 / self.freq_base ** (2 * i / self.head_dim)
            wavelen = 2 * math.pi / freq
            if wavelen < orig / high:
                out.append(1.0)
            elif wavelen > orig / low:
                out.append(factor)
            else:
                smooth = (orig / wavelen - low) / (high - low)
                out.append(1.0 / ((1 - smooth) / factor + smooth))
        return np.array(out, dtype=np.float32)


class _Info:
    def __init__(self, dims):
        self.dims = tuple(dims)


class InMemoryModel:
    """GGUFFile look-alike holding a Spec's float32 weights (optionally rounded by
    `round_weights(name, array) -> array`, e.g. to model a weight type)."""

    def __init__(self, spec, round_weights=None):
        self.architecture = spec.arch
        self.metadata = {
            "general.architecture": spec.arch,
            spec.arch + ".embedding_length": spec.embd,
            spec.arch + ".block_count": spec.layers,
            spec.arch + ".feed_forward_length": spec.ff,
            spec.arch + ".attention.head_count": spec.heads,
            spec.arch + ".attention.head_count_kv": spec.kv_heads,
            spec.arch + ".attention.key_length": spec.head_dim,
            spec.arch + ".attention.value_length": spec.head_dim,
            spec.arch + ".attention.layer_norm_rms_epsilon": spec.eps,
            spec.arch + ".rope.freq_base": spec.freq_base,
        }
        self.arrays = {}
        self.tensors = {}
        for name, dims, _, _, is_matrix in spec.tensors():
            arr = spec.values(name)
            if round_weights is not None and is_matrix:
                arr = round_weights(name, arr)
            self.arrays[name] = arr
            self.tensors[name] = _Info(dims)
        if spec.llama3:
            self.arrays["rope_freqs.weight"] = spec.llama3_freq_factors()
            self.tensors["rope_freqs.weight"] = _Info((spec.head_dim // 2,))

    def arch_get(self, suffix, default=None):
        return self.metadata.get("%s.%s" % (self.architecture, suffix), default)

    def has(self, name):
        return name in self.arrays

    def tensor(self, name, dtype=np.float32):
        return self.arrays[name].astype(dtype)
