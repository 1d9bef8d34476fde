"""Numpy reference forward pass for llama, qwen2 and qwen3 GGUF models (tests only)."""
# Written from llama.cpp's graph semantics, independently of lib/model and lib/backend:
#   x = token_embd[tok]
#   per layer:  h = x + Wo · attn(rope(Wq·n + bq), rope(Wk·n + bk), Wv·n + bv),  n = rms(x)*attn_norm
#               x = h + Wdown · (silu(Wgate·m) * (Wup·m)),                       m = rms(h)*ffn_norm
#   logits = W_out · (rms(x)*output_norm), W_out = output.weight or (tied) token_embd.weight
# Details that differ between architectures (llama.cpp's llama_model_rope_type):
#   llama: RoPE "normal" mode, rotating adjacent pairs (x[2i], x[2i+1]) (GGUF's llama Q/K
#          weights are permuted at conversion so that this is right);
#   qwen2, qwen3: RoPE "neox" mode, rotating pairs (x[i], x[i + n_rot/2]);
#   qwen2: Q/K/V biases; qwen3: per-head RMSNorm of Q and K (attn_q_norm/attn_k_norm,
#   length head_dim) before RoPE. Any *.bias tensor present is added for every arch.
# RoPE angle for pair i at position p: p * freq_scale * base^(-2i/n_rot) / freq_factor[i],
# freq_factor from the optional rope_freqs.weight tensor (Llama 3 scaling, precomputed by
# the converter), freq_scale = 1/rope.scaling.factor for "linear" scaling, else 1.
# Attention: causal, scale 1/sqrt(head_dim), query head h reads KV head h // (n_head/n_head_kv).
# Precision: everything (weights after dequantization, activations, softmax) is computed in
# the dtype given to Model (float64 for the exact F32 comparison, float32 for big models).

import math
import os

import numpy as np

from .gguf_reader import GGUFFile

SUPPORTED_ARCHS = ("llama", "qwen2", "qwen3")
ROPE_MODE = {"llama": "normal", "qwen2": "neox", "qwen3": "neox"}


class HParams:
    def __init__(self, gguf):
        arch = gguf.architecture
        if arch not in SUPPORTED_ARCHS:
            raise ValueError("unsupported architecture %r" % arch)
        self.arch = arch
        self.n_embd = int(gguf.arch_get("embedding_length"))
        self.n_layer = int(gguf.arch_get("block_count"))
        self.n_ff = int(gguf.arch_get("feed_forward_length"))
        self.n_head = int(gguf.arch_get("attention.head_count"))
        self.n_head_kv = int(gguf.arch_get("attention.head_count_kv", self.n_head))
        self.head_dim = int(gguf.arch_get("attention.key_length", self.n_embd // self.n_head))
        self.head_dim_v = int(gguf.arch_get("attention.value_length", self.head_dim))
        self.n_rot = int(gguf.arch_get("rope.dimension_count", self.head_dim))
        self.eps = float(gguf.arch_get("attention.layer_norm_rms_epsilon", 1e-5))
        self.freq_base = float(gguf.arch_get("rope.freq_base", 10000.0))
        scaling = gguf.arch_get("rope.scaling.type", "none")
        factor = float(gguf.arch_get("rope.scaling.factor", 0.0) or 0.0)
        if scaling == "linear" and factor > 0:
            self.freq_scale = 1.0 / factor
        elif scaling in ("none", "linear"):
            self.freq_scale = 1.0
        else:
            raise ValueError("rope scaling type %r not supported by the reference" % scaling)
        self.n_vocab = gguf.tensors["token_embd.weight"].dims[1]
        self.rope_mode = ROPE_MODE[arch]


def rms_norm(x, weight, eps):
    """RMSNorm over the last axis: x / sqrt(mean(x^2) + eps) * weight."""
    ms = np.mean(x * x, axis=-1, keepdims=True)
    return x / np.sqrt(ms + eps) * weight


def silu(x):
    return x / (1.0 + np.exp(-x))


def _round_blocks_int8(x, block, scale_dtype):
    """Rounds x (last axis a multiple of `block`) to int8 blocks sharing a scale
    d = amax/127 (stored as `scale_dtype`), values round(x/d): what an int8-activation
    kernel computes with. Used only to model the C side when deriving tolerances."""
    shape = x.shape
    blocks = x.reshape(-1, block)
    amax = np.max(np.abs(blocks), axis=1, keepdims=True)
    d = (amax / 127.0).astype(scale_dtype).astype(blocks.dtype)
    safe = np.where(d == 0, 1.0, d)
    q = np.clip(np.round(blocks / safe), -127, 127)
    return (q * d).reshape(shape)


def round_activations(x, scheme):
    """x as the C side might see it: "q8_0" (blocks of 32, F16 scale, as ggml's Q8_0),
    "q8_K" (blocks of 256, F32 scale), "f16" or "bf16" (element-wise rounding)."""
    if scheme == "q8_0" and x.shape[-1] % 32 == 0:
        return _round_blocks_int8(x, 32, np.float16)
    if scheme == "q8_K" and x.shape[-1] % 256 == 0:
        return _round_blocks_int8(x, 256, np.float32)
    if scheme == "q8_K" and x.shape[-1] % 32 == 0:
        return _round_blocks_int8(x, 32, np.float16)
    if scheme == "f16":
        return x.astype(np.float16).astype(x.dtype)
    if scheme == "bf16":
        bits = x.astype(np.float32).view(np.uint32).astype(np.uint64)
        bits = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16 << 16).astype(np.uint32)
        return bits.view(np.float32).astype(x.dtype)
    return x


def rope_angles(hp, positions, freq_factors, dtype):
    """[n_pos, n_rot/2] angles for the pairs of one head."""
    i = np.arange(hp.n_rot // 2, dtype=np.float64)
    inv_freq = hp.freq_base ** (-2.0 * i / hp.n_rot) * hp.freq_scale
    if freq_factors is not None:
        inv_freq = inv_freq / freq_factors.astype(np.float64)
    return (np.asarray(positions, dtype=np.float64)[:, None] * inv_freq[None, :]).astype(dtype)


def apply_rope(x, angles, n_rot, mode):
    """x: [n_tokens, n_heads, head_dim]; rotates the first n_rot dims of each head."""
    cos = np.cos(angles)[:, None, :]
    sin = np.sin(angles)[:, None, :]
    out = x.copy()
    if mode == "normal":
        x0 = x[..., 0:n_rot:2]
        x1 = x[..., 1:n_rot:2]
        out[..., 0:n_rot:2] = x0 * cos - x1 * sin
        out[..., 1:n_rot:2] = x0 * sin + x1 * cos
    else:
        half = n_rot // 2
        x0 = x[..., :half]
        x1 = x[..., half:n_rot]
        out[..., :half] = x0 * cos - x1 * sin
        out[..., half:n_rot] = x0 * sin + x1 * cos
    return out


class Model:
    """Weights of one GGUF file (a path, a GGUFFile or a look-alike such as
    random_model.InMemoryModel), dequantized to `dtype`, and a forward pass with a KV cache.

    act_quant: None, or a round_activations scheme applied to every matmul input; kv_f16:
    round K and V to F16 as an F16 KV cache would. Both only for tolerance experiments;
    the comparisons use the exact defaults."""

    def __init__(self, path_or_gguf, dtype=np.float64, act_quant=None, kv_f16=False):
        self.gguf = GGUFFile(path_or_gguf) if isinstance(path_or_gguf, (str, os.PathLike)) \
            else path_or_gguf
        self.hp = HParams(self.gguf)
        self.dtype = dtype
        self.act_quant = act_quant
        self.kv_f16 = kv_f16
        g = self.gguf
        self.tok_embd = g.tensor("token_embd.weight", dtype)
        self.output = g.tensor("output.weight", dtype) if g.has("output.weight") else self.tok_embd
        self.output_norm = g.tensor("output_norm.weight", dtype)
        self.freq_factors = g.tensor("rope_freqs.weight", np.float64) \
            if g.has("rope_freqs.weight") else None
        self.layers = [self._load_layer(i) for i in range(self.hp.n_layer)]
        self.reset()

    def _load_layer(self, i):
        g = self.gguf
        names = ["attn_norm.weight", "attn_q.weight", "attn_k.weight", "attn_v.weight",
                 "attn_output.weight", "ffn_norm.weight", "ffn_gate.weight", "ffn_up.weight",
                 "ffn_down.weight"]
        optional = ["attn_q.bias", "attn_k.bias", "attn_v.bias", "attn_output.bias",
                    "attn_q_norm.weight", "attn_k_norm.weight"]
        if self.hp.arch == "qwen2":
            names += ["attn_q.bias", "attn_k.bias", "attn_v.bias"]
        if self.hp.arch == "qwen3":
            names += ["attn_q_norm.weight", "attn_k_norm.weight"]
        layer = {}
        for n in names + optional:
            full = "blk.%d.%s" % (i, n)
            if g.has(full):
                layer[n] = g.tensor(full, self.dtype)
            elif n in names:
                raise KeyError("missing tensor %s" % full)
        return layer

    def reset(self):
        """Forgets the KV cache (positions restart at 0)."""
        self.k_cache = [None] * self.hp.n_layer
        self.v_cache = [None] * self.hp.n_layer
        self.n_past = 0

    def _matmul(self, x, w, bias=None):
        if self.act_quant is not None:
            x = round_activations(x, self.act_quant)
        y = x @ w.T
        if bias is not None:
            y = y + bias
        return y

    def _attention(self, layer, il, x, angles):
        hp = self.hp
        n_tok = x.shape[0]
        q = self._matmul(x, layer["attn_q.weight"], layer.get("attn_q.bias"))
        k = self._matmul(x, layer["attn_k.weight"], layer.get("attn_k.bias"))
        v = self._matmul(x, layer["attn_v.weight"], layer.get("attn_v.bias"))
        q = q.reshape(n_tok, hp.n_head, hp.head_dim)
        k = k.reshape(n_tok, hp.n_head_kv, hp.head_dim)
        v = v.reshape(n_tok, hp.n_head_kv, hp.head_dim_v)
        if "attn_q_norm.weight" in layer:
            q = rms_norm(q, layer["attn_q_norm.weight"], hp.eps)
        if "attn_k_norm.weight" in layer:
            k = rms_norm(k, layer["attn_k_norm.weight"], hp.eps)
        q = apply_rope(q, angles, hp.n_rot, hp.rope_mode)
        k = apply_rope(k, angles, hp.n_rot, hp.rope_mode)
        if self.kv_f16:
            k = k.astype(np.float16).astype(self.dtype)
            v = v.astype(np.float16).astype(self.dtype)
        if self.k_cache[il] is not None:
            k = np.concatenate([self.k_cache[il], k], axis=0)
            v = np.concatenate([self.v_cache[il], v], axis=0)
        self.k_cache[il], self.v_cache[il] = k, v
        n_kv = k.shape[0]
        group = hp.n_head // hp.n_head_kv
        kh = np.repeat(k.transpose(1, 0, 2), group, axis=0)       # [n_head, n_kv, hd]
        vh = np.repeat(v.transpose(1, 0, 2), group, axis=0)
        qh = q.transpose(1, 0, 2)                                  # [n_head, n_tok, hd]
        scores = qh @ kh.transpose(0, 2, 1) * (1.0 / math.sqrt(hp.head_dim))
        q_pos = self.n_past + np.arange(n_tok)
        mask = np.arange(n_kv)[None, :] > q_pos[:, None]
        scores = np.where(mask[None], -np.inf, scores)
        scores = scores - scores.max(axis=-1, keepdims=True)
        probs = np.exp(scores)
        probs = probs / probs.sum(axis=-1, keepdims=True)
        out = (probs @ vh).transpose(1, 0, 2).reshape(n_tok, hp.n_head * hp.head_dim_v)
        return self._matmul(out, layer["attn_output.weight"], layer.get("attn_output.bias"))

    def _ffn(self, layer, x):
        gate = self._matmul(x, layer["ffn_gate.weight"])
        up = self._matmul(x, layer["ffn_up.weight"])
        return self._matmul(silu(gate) * up, layer["ffn_down.weight"])

    def forward(self, tokens):
        """Appends `tokens` after the cached ones; returns their logits [n_tokens, n_vocab]."""
        hp = self.hp
        tokens = np.asarray(tokens, dtype=np.int64)
        if tokens.min() < 0 or tokens.max() >= hp.n_vocab:
            raise ValueError("token id out of range [0, %d)" % hp.n_vocab)
        x = self.tok_embd[tokens].astype(self.dtype)
        positions = self.n_past + np.arange(len(tokens))
        angles = rope_angles(hp, positions, self.freq_factors, self.dtype)
        for il, layer in enumerate(self.layers):
            h = rms_norm(x, layer["attn_norm.weight"], hp.eps)
            x = x + self._attention(layer, il, h, angles)
            h = rms_norm(x, layer["ffn_norm.weight"], hp.eps)
            x = x + self._ffn(layer, h)
        self.n_past += len(tokens)
        x = rms_norm(x, self.output_norm, hp.eps)
        return self._matmul(x, self.output)

    def logits(self, tokens):
        """Logits of every position of `tokens` from an empty cache."""
        self.reset()
        return self.forward(tokens)

    def greedy(self, tokens, n_steps):
        """Greedy continuation of `tokens`: (generated ids, logits row used for each step)."""
        self.reset()
        last = self.forward(tokens)[-1]
        out, rows = [], []
        for _ in range(n_steps):
            tok = int(np.argmax(last))
            out.append(tok)
            rows.append(last)
            last = self.forward([tok])[-1]
        return out, rows
