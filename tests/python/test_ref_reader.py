"""The reference's own GGUF reader on a third-party file, and make_model's output checked
against an independent Python derivation of its weights, layout and vocabulary."""
import math
import subprocess

import numpy as np
import pytest

from ref import model as ref_model
from ref.gguf_reader import GGUFFile
from ref.random_model import (Spec, fnv1a64, splitmix64_outputs, splitmix64_scalar,
                              tensor_values)

# ---- llama-2-tiny-random.gguf (llama.cpp conversion; facts from its README and the
# Llama 2 vocabulary) ----------------------------------------------------------------

TINY_TENSORS = {
    "token_embd.weight": ((8, 32000), "F16"),
    "blk.0.attn_q.weight": ((8, 8), "F16"), "blk.0.attn_k.weight": ((8, 8), "F16"),
    "blk.0.attn_v.weight": ((8, 8), "F16"), "blk.0.attn_output.weight": ((8, 8), "F16"),
    "blk.0.ffn_gate.weight": ((8, 32), "F16"), "blk.0.ffn_up.weight": ((8, 32), "F16"),
    "blk.0.ffn_down.weight": ((32, 8), "F16"), "blk.0.attn_norm.weight": ((8,), "F32"),
    "blk.0.ffn_norm.weight": ((8,), "F32"), "output_norm.weight": ((8,), "F32"),
    "output.weight": ((8, 32000), "F16"),
}


@pytest.fixture(scope="module")
def tiny(tiny_llama_path):
    return GGUFFile(str(tiny_llama_path))


def test_tiny_llama_header_and_hyperparameters(tiny):
    assert tiny.version == 3
    assert tiny.architecture == "llama"
    assert tiny.arch_get("block_count") == 1
    assert tiny.arch_get("embedding_length") == 8
    assert tiny.arch_get("attention.head_count") == 2
    assert tiny.arch_get("feed_forward_length") == 32
    assert tiny.get("tokenizer.ggml.model") == "llama"
    assert (tiny.get("tokenizer.ggml.bos_token_id"), tiny.get("tokenizer.ggml.eos_token_id"),
            tiny.get("tokenizer.ggml.unknown_token_id")) == (1, 2, 0)


def test_tiny_llama_vocabulary_is_llama2(tiny):
    tokens = tiny.get("tokenizer.ggml.tokens")
    assert len(tokens) == 32000
    assert tokens[:4] == ["<unk>", "<s>", "</s>", "<0x00>"]
    assert tokens[3 + 255] == "<0xFF>"
    assert list(tiny.get("tokenizer.ggml.token_type")[:4]) == [2, 3, 3, 6]


def test_tiny_llama_has_twelve_tensors_with_expected_shapes_and_types(tiny):
    assert len(tiny.tensors) == 12
    got = {name: (t.dims, t.type_name) for name, t in tiny.tensors.items()}
    assert got == TINY_TENSORS


def test_tiny_llama_tensor_data_is_aligned_and_ends_at_end_of_file(tiny):
    assert tiny.data_offset % 32 == 0
    ends = []
    for t in tiny.tensors.values():
        assert t.offset % tiny.alignment == 0
        ends.append(tiny.data_offset + t.offset + t.n_bytes)
    assert max(ends) == len(tiny.mm)


def test_tiny_llama_tensors_read_as_finite_arrays_in_numpy_order(tiny):
    emb = tiny.tensor("token_embd.weight")
    assert emb.shape == (32000, 8) and emb.dtype == np.float32
    assert np.isfinite(emb).all() and np.abs(emb).max() > 0
    raw = np.frombuffer(tiny.tensors["token_embd.weight"].raw.tobytes(), dtype="<f2")
    np.testing.assert_array_equal(emb[1], raw[8:16].astype(np.float32))


# ---- the reference forward pass, properties that hold for any correct model ----------

def test_reference_incremental_decode_matches_full_prefill(tiny):
    model = ref_model.Model(tiny)
    tokens = [1, 450, 7483, 310, 3444, 338, 3681]
    full = model.logits(tokens)
    model.reset()
    parts = [model.forward(tokens[:3]), model.forward(tokens[3:5]), model.forward(tokens[5:])]
    np.testing.assert_allclose(np.vstack(parts), full, rtol=0, atol=1e-12)


def test_reference_is_causal(tiny):
    model = ref_model.Model(tiny)
    a = model.logits([1, 450, 7483, 310])
    b = model.logits([1, 450, 7483, 999])
    np.testing.assert_array_equal(a[:3], b[:3])
    assert np.abs(a[3] - b[3]).max() > 0


def _rope_by_complex_rotation(x, pos, base, pairs):
    """Rotation of each pair (i, j) by angle pos * base^(-2k/d) as a complex product."""
    d = x.shape[-1]
    out = x.copy()
    for k, (i, j) in enumerate(pairs):
        z = complex(x[i], x[j]) * complex(math.cos(pos * base ** (-2 * k / d)),
                                          math.sin(pos * base ** (-2 * k / d)))
        out[i], out[j] = z.real, z.imag
    return out


@pytest.mark.parametrize("mode", ["normal", "neox"])
def test_reference_rope_rotates_the_pairs_of_its_mode(mode):
    d, pos, base = 8, 5, 10000.0
    x = np.arange(1, d + 1, dtype=np.float64)
    pairs = [(2 * k, 2 * k + 1) for k in range(d // 2)] if mode == "normal" \
        else [(k, k + d // 2) for k in range(d // 2)]
    hp = type("HP", (), dict(n_rot=d, freq_base=base, freq_scale=1.0))()
    angles = ref_model.rope_angles(hp, [pos], None, np.float64)
    got = ref_model.apply_rope(x[None, None, :], angles, d, mode)[0, 0]
    np.testing.assert_allclose(got, _rope_by_complex_rotation(x, pos, base, pairs), atol=1e-12)


# ---- make_model's output ------------------------------------------------------------

def test_splitmix64_vectorized_matches_textbook_form():
    state = 0x1234567 ^ fnv1a64("blk.0.attn_q.weight")
    expected = []
    for _ in range(6):
        state, z = splitmix64_scalar(state)
        expected.append(z)
    assert [int(z) for z in splitmix64_outputs(0x1234567 ^ fnv1a64("blk.0.attn_q.weight"),
                                               6)] == expected
    # Published first output of splitmix64 seeded with 0 (Vigna's reference code).
    assert splitmix64_scalar(0)[1] == 0xE220A8397B1DCDAF


def _make(make_model_bin, tmp_path, spec, name, extra=()):
    out = tmp_path / name
    proc = subprocess.run([str(make_model_bin)] + spec.args() + list(extra) + [str(out)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return GGUFFile(str(out))


def _bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAC + 1)) + \
        list(range(0xAE, 0xFF + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, (chr(c) for c in cs)))


ARCH_SPECS = {
    "llama": Spec(arch="llama", embd=128, layers=2, heads=4, kv_heads=2, ff=256, seed=7),
    "llama_tied_llama3": Spec(arch="llama", embd=64, layers=1, heads=4, kv_heads=1, ff=128,
                              seed=3, tied=True, llama3=True),
    "qwen2": Spec(arch="qwen2", embd=64, layers=2, heads=4, kv_heads=2, ff=128, seed=9),
    "qwen3": Spec(arch="qwen3", embd=64, layers=2, heads=2, kv_heads=1, ff=128, seed=5,
                  head_dim=64),
}


@pytest.mark.parametrize("key", sorted(ARCH_SPECS))
def test_make_model_tensors_match_python_derivation(make_model_bin, tmp_path, key):
    spec = ARCH_SPECS[key]
    f = _make(make_model_bin, tmp_path, spec, key + ".gguf")
    expected = {name: dims for name, dims, _, _, _ in spec.tensors()}
    if spec.llama3:
        expected["rope_freqs.weight"] = (spec.head_dim // 2,)
    assert {n: t.dims for n, t in f.tensors.items()} == expected
    for name, _, _, _, _ in spec.tensors():
        np.testing.assert_array_equal(f.tensor(name), spec.values(name), err_msg=name)
    assert all(t.type_name == "F32" for t in f.tensors.values())
    if spec.llama3:
        np.testing.assert_allclose(f.tensor("rope_freqs.weight"), spec.llama3_freq_factors(),
                                   rtol=1e-6)
        assert f.tensor("rope_freqs.weight").max() == 8.0


def test_make_model_metadata_describes_the_model(make_model_bin, tmp_path):
    spec = ARCH_SPECS["qwen3"]
    f = _make(make_model_bin, tmp_path, spec, "m.gguf")
    assert f.architecture == "qwen3"
    assert (f.arch_get("embedding_length"), f.arch_get("block_count"),
            f.arch_get("feed_forward_length"), f.arch_get("attention.head_count"),
            f.arch_get("attention.head_count_kv"), f.arch_get("attention.key_length"),
            f.arch_get("context_length")) == (64, 2, 128, 2, 1, 64, 512)
    assert f.arch_get("rope.freq_base") == 1e6
    assert abs(f.arch_get("attention.layer_norm_rms_epsilon") - 1e-5) < 1e-12
    assert "<|im_start|>" in f.get("tokenizer.chat_template")


def test_make_model_first_weight_checksum(make_model_bin, tmp_path):
    """A fixed-seed fingerprint recomputed here from the documented rule alone."""
    f = _make(make_model_bin, tmp_path, Spec(seed=7), "c.gguf")
    state = 7 ^ fnv1a64("blk.0.attn_q.weight")
    first = []
    for _ in range(4):
        state, z = splitmix64_scalar(state)
        u = (z >> 11) * 2.0 ** -53
        first.append(np.float32((2.0 * u - 1.0) * (1.0 / math.sqrt(128) * math.sqrt(3.0))))
    q = f.tensor("blk.0.attn_q.weight")
    assert list(q.reshape(-1)[:4]) == first
    expected = tensor_values("blk.0.attn_q.weight", 7, 128 * 128, 1.0 / math.sqrt(128), 0.0)
    assert float(q.astype(np.float64).sum()) == float(expected.astype(np.float64).sum())


@pytest.mark.parametrize("type_name", ["F16", "BF16"])
def test_make_model_half_types_round_to_nearest_even(make_model_bin, tmp_path, type_name):
    spec = Spec(seed=11)
    f = _make(make_model_bin, tmp_path, spec, "h.gguf", ["--type", type_name])
    exact = spec.values("blk.1.ffn_down.weight")
    if type_name == "F16":
        expected = exact.astype(np.float16).astype(np.float32)
    else:
        bits = exact.view(np.uint32).astype(np.uint64)
        expected = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16 << 16).astype(np.uint32) \
            .view(np.float32)
    t = f.tensors["blk.1.ffn_down.weight"]
    assert t.type_name == type_name
    np.testing.assert_array_equal(f.tensor("blk.1.ffn_down.weight"), expected)
    assert f.tensors["blk.1.ffn_norm.weight"].type_name == "F32"


def test_make_model_vocabulary_is_valid_byte_level_bpe(make_model_bin, tmp_path):
    spec = Spec(vocab=700)
    f = _make(make_model_bin, tmp_path, spec, "v.gguf")
    tokens = f.get("tokenizer.ggml.tokens")
    types = list(f.get("tokenizer.ggml.token_type"))
    merges = f.get("tokenizer.ggml.merges")
    assert f.get("tokenizer.ggml.model") == "gpt2"
    assert len(tokens) == 700 == f.tensors["token_embd.weight"].dims[1]
    assert len(set(tokens)) == 700
    b2u = _bytes_to_unicode()
    assert tokens[:256] == [b2u[b] for b in range(256)]
    assert tokens[-3:] == ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    assert types == [1] * 697 + [3] * 3
    assert f.get("tokenizer.ggml.bos_token_id") == 697
    assert f.get("tokenizer.ggml.eos_token_id") == 699
    ids = {tok: i for i, tok in enumerate(tokens)}
    assert len(merges) == 697 - 256
    for rank, merge in enumerate(merges):
        left, right = merge.split(" ")
        merged = ids[left + right]
        assert merged == 256 + rank
        assert ids[left] < merged and ids[right] < merged
    assert merges[0] == "\u0120 e"


def test_make_model_rejects_inconsistent_shapes(make_model_bin, tmp_path):
    out = tmp_path / "bad.gguf"
    proc = subprocess.run([str(make_model_bin), "--heads", "4", "--kv-heads", "3", str(out)],
                          capture_output=True, text=True)
    assert proc.returncode != 0
    assert "kv-heads" in proc.stderr
    assert not out.exists()
