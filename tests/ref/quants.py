"""Independent numpy dequantizers for the GGUF weight types, from ggml's block layouts.

Written from ggml-common.h (block_q4_0 ... block_q6_K) and ggml-quants.c's
dequantize_row_* functions, not from this project's C code. Every product and sum is
done in float32 in the same order as ggml's reference dequantizers, so results are
bit-exact with them. Entry point: dequantize(type_id, raw, n_elements).
"""
import numpy as np

F32, F16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1 = 0, 1, 2, 3, 6, 7, 8, 9
Q4_K, Q5_K, Q6_K, Q8_K, BF16 = 12, 13, 14, 15, 30

# type id -> (name, elements per block, bytes per block)
TYPES = {
    F32: ("F32", 1, 4), F16: ("F16", 1, 2), BF16: ("BF16", 1, 2),
    Q4_0: ("Q4_0", 32, 18), Q4_1: ("Q4_1", 32, 20), Q5_0: ("Q5_0", 32, 22),
    Q5_1: ("Q5_1", 32, 24), Q8_0: ("Q8_0", 32, 34), Q4_K: ("Q4_K", 256, 144),
    Q5_K: ("Q5_K", 256, 176), Q6_K: ("Q6_K", 256, 210),
}
TYPE_IDS = {name: tid for tid, (name, _, _) in TYPES.items()}


def _f16(raw_u8, start, stop):
    """Column [start, stop) of a (n_blocks, block_bytes) byte array as float32 halves."""
    return np.ascontiguousarray(raw_u8[:, start:stop]).view("<f2").astype(np.float32)


def _q4_0(b):
    d = _f16(b, 0, 2)
    qs = b[:, 2:18]
    lo = (qs & 0x0F).astype(np.int32) - 8
    hi = (qs >> 4).astype(np.int32) - 8
    q = np.concatenate([lo, hi], axis=1).astype(np.float32)
    return q * d


def _q4_1(b):
    d, m = _f16(b, 0, 2), _f16(b, 2, 4)
    qs = b[:, 4:20]
    q = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.float32)
    return q * d + m


def _q5_high_bits(qh_bytes):
    """qh (4 bytes, little-endian uint32): bit j is the 5th bit of element j."""
    qh = np.ascontiguousarray(qh_bytes).view("<u4").astype(np.uint32)  # (n, 1)
    bits = (qh >> np.arange(32, dtype=np.uint32)) & 1
    return (bits << 4).astype(np.int32)


def _q5_0(b):
    d = _f16(b, 0, 2)
    high = _q5_high_bits(b[:, 2:6])
    qs = b[:, 6:22]
    low = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.int32)
    q = ((low | high) - 16).astype(np.float32)
    return q * d


def _q5_1(b):
    d, m = _f16(b, 0, 2), _f16(b, 2, 4)
    high = _q5_high_bits(b[:, 4:8])
    qs = b[:, 8:24]
    low = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.int32)
    q = (low | high).astype(np.float32)
    return q * d + m


def _q8_0(b):
    d = _f16(b, 0, 2)
    q = np.ascontiguousarray(b[:, 2:34]).view(np.int8).astype(np.float32)
    return q * d


def _k_scales_mins(scales):
    """get_scale_min_k4 for j = 0..7: 6-bit scales and mins packed in 12 bytes."""
    s = scales.astype(np.int32)
    sc = np.empty((s.shape[0], 8), np.int32)
    mn = np.empty((s.shape[0], 8), np.int32)
    for j in range(8):
        if j < 4:
            sc[:, j] = s[:, j] & 63
            mn[:, j] = s[:, j + 4] & 63
        else:
            sc[:, j] = (s[:, j + 4] & 0x0F) | ((s[:, j - 4] >> 6) << 4)
            mn[:, j] = (s[:, j + 4] >> 4) | ((s[:, j] >> 6) << 4)
    return sc.astype(np.float32), mn.astype(np.float32)


def _k_dequant(d, dmin, sc, mn, q):
    """q: (n, 256) integer levels; sub-block j covers elements [32j, 32j + 32)."""
    out = np.empty(q.shape, np.float32)
    for j in range(8):
        d1 = d[:, 0] * sc[:, j]
        m1 = dmin[:, 0] * mn[:, j]
        out[:, 32 * j:32 * j + 32] = d1[:, None] * q[:, 32 * j:32 * j + 32] - m1[:, None]
    return out


def _q4_k(b):
    d, dmin = _f16(b, 0, 2), _f16(b, 2, 4)
    sc, mn = _k_scales_mins(b[:, 4:16])
    qs = b[:, 16:144]
    q = np.empty((b.shape[0], 256), np.float32)
    for chunk in range(4):  # 64 elements from 32 bytes: low nibbles, then high nibbles
        part = qs[:, 32 * chunk:32 * chunk + 32]
        q[:, 64 * chunk:64 * chunk + 32] = part & 0x0F
        q[:, 64 * chunk + 32:64 * chunk + 64] = part >> 4
    return _k_dequant(d, dmin, sc, mn, q)


def _q5_k(b):
    d, dmin = _f16(b, 0, 2), _f16(b, 2, 4)
    sc, mn = _k_scales_mins(b[:, 4:16])
    qh = b[:, 16:48].astype(np.int32)
    qs = b[:, 48:176].astype(np.int32)
    q = np.empty((b.shape[0], 256), np.float32)
    for chunk in range(4):
        part = qs[:, 32 * chunk:32 * chunk + 32]
        hi_lo = ((qh >> (2 * chunk)) & 1) << 4
        hi_hi = ((qh >> (2 * chunk + 1)) & 1) << 4
        q[:, 64 * chunk:64 * chunk + 32] = (part & 0x0F) + hi_lo
        q[:, 64 * chunk + 32:64 * chunk + 64] = (part >> 4) + hi_hi
    return _k_dequant(d, dmin, sc, mn, q)


def _q6_k(b):
    ql = b[:, 0:128].astype(np.int32)
    qh = b[:, 128:192].astype(np.int32)
    scales = np.ascontiguousarray(b[:, 192:208]).view(np.int8).astype(np.float32)
    d = _f16(b, 208, 210)
    out = np.empty((b.shape[0], 256), np.float32)
    for half in range(2):  # 128 elements from 64 bytes of ql and 32 of qh
        l64 = ql[:, 64 * half:64 * half + 64]
        h32 = qh[:, 32 * half:32 * half + 32]
        quads = [
            (l64[:, 0:32] & 0x0F) | (((h32 >> 0) & 3) << 4),
            (l64[:, 32:64] & 0x0F) | (((h32 >> 2) & 3) << 4),
            (l64[:, 0:32] >> 4) | (((h32 >> 4) & 3) << 4),
            (l64[:, 32:64] >> 4) | (((h32 >> 6) & 3) << 4),
        ]
        for k, quad in enumerate(quads):
            q = (quad - 32).astype(np.float32)
            base = 128 * half + 32 * k
            for sub in range(2):  # 16 elements per scale
                scale = d[:, 0] * scales[:, 8 * half + 2 * k + sub]
                cols = slice(base + 16 * sub, base + 16 * sub + 16)
                out[:, cols] = scale[:, None] * q[:, 16 * sub:16 * sub + 16]
    return out


_BLOCK_DEQUANT = {
    Q4_0: _q4_0, Q4_1: _q4_1, Q5_0: _q5_0, Q5_1: _q5_1, Q8_0: _q8_0,
    Q4_K: _q4_k, Q5_K: _q5_k, Q6_K: _q6_k,
}


def row_bytes(type_id, n_elements):
    _, block, size = TYPES[type_id]
    if n_elements % block:
        raise ValueError(f"{TYPES[type_id][0]}: {n_elements} is not a multiple of {block}")
    return n_elements // block * size


def dequantize(type_id, raw, n_elements):
    """Dequantizes n_elements of ggml type `type_id` from raw bytes to float32."""
    if type_id not in TYPES:
        raise ValueError(f"unsupported ggml type id {type_id}")
    data = np.frombuffer(raw, dtype=np.uint8) if not isinstance(raw, np.ndarray) \
        else np.ascontiguousarray(raw).reshape(-1).view(np.uint8)
    nbytes = row_bytes(type_id, n_elements)
    if data.size < nbytes:
        raise ValueError(f"{TYPES[type_id][0]}: need {nbytes} bytes, got {data.size}")
    data = data[:nbytes]
    if type_id == F32:
        return data.view("<f4").astype(np.float32)
    if type_id == F16:
        return data.view("<f2").astype(np.float32)
    if type_id == BF16:
        return (data.view("<u2").astype(np.uint32) << 16).view(np.float32)
    _, block, size = TYPES[type_id]
    blocks = data.reshape(-1, size)
    return _BLOCK_DEQUANT[type_id](blocks).reshape(-1).astype(np.float32)
