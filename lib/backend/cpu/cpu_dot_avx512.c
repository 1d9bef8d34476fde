/* AVX-512 (F, BW, VL, VNNI) kernels: 16-row tiles with one row per zmm lane.
 *
 * Every kernel here computes each (row, token) output with exactly the float chain
 * cpu_dot.c defines (exact int32 block sums, then one fmaf per block in block order);
 * the zmm lanes hold 16 ROWS, so the vector fmadd performs 16 independent scalar chains
 * and the results are bit-identical to the scalar kernels whatever the tiling.
 *
 * 32-element types (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0): levels are unsigned bytes for
 * vpdpbusd (nibbles as stored; Q8_0 xor 0x80), and the zero point (8, 16, 128) is removed
 * exactly in the integer sum through the activation block's sum of quants.
 *  - decode (under 4 tokens): the tile's rows are read one after the other over a whole
 *    row (or a chunk of up to 192 blocks), one sequential stream with the next rows
 *    prefetched to L2; per row, vpdpbusd leaves one 128-bit lane per block (4 blocks per
 *    zmm) in L1, and a fixed transpose-and-add tree then sums 16 rows at once into one
 *    int32 per row and block, so there is no horizontal sum per row. Stack use is about
 *    72 KiB (decode) or 24 KiB (prefill); the kernels keep no state between calls.
 *  - prefill: a 16-row tile is unpacked once into a VNNI layout (4 bytes of each of 16
 *    rows per zmm) and reused for every token; each token broadcasts 4 activation bytes.
 * K-quants: the same two shapes, with vpmaddubsw + vpdpwssd against the sub-block scales
 * widened to int16 (decode) or vpdpbusd per sub-block then vpmulld by the int32 scales
 * (prefill); mins and Q6_K's -32 go through the activation bsums, exactly.
 * Float weights: 4-row x 6-token register tiles, one 16-lane accumulator per pair.
 * Decode and prefill paths give bit-identical results (both equal the scalar chain), so
 * choosing by n_tokens never breaks batch invariance. Odd block counts fall back to the
 * shared x86 kernels (cpu_dot_x86.h), also bit-identical. */
#include "backend/cpu/cpu_kernels.h"
#include "backend/cpu/cpu_tile.h"
#include "backend/cpu/cpu_tile_simd.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")
#endif

#define X86_DOT_U8_I8(u, s) _mm256_dpbusd_epi32(_mm256_setzero_si256(), (u), (s))
#include "backend/cpu/cpu_dot_x86.h"

#define AVX512_INLINE static inline __attribute__((always_inline))
/* Register tiles only work when these small loops are fully unrolled. */
#if defined(__clang__)
#define AVX512_UNROLL _Pragma("unroll")
#else
#define AVX512_UNROLL _Pragma("GCC unroll 16")
#endif
/* Decode reads a tile's rows chunk by chunk; while it reads one row's chunk it
 * prefetches the bytes it will read from that row next (the following chunk, or the
 * same row of the next tile), a whole tile-chunk ahead, enough to cover DRAM latency. */
#ifndef AVX512_PREFETCH_HINT
#define AVX512_PREFETCH_HINT _MM_HINT_T1
#endif
AVX512_INLINE void avx512_prefetch_next(const uint8_t *row, size_t chunk_bytes, size_t w_row_bytes, int last_chunk) {
    const uint8_t *next = last_chunk ? row - (w_row_bytes - chunk_bytes) + 16 * w_row_bytes : row + chunk_bytes;
    for (size_t offset = 0; offset < chunk_bytes; offset += 64) _mm_prefetch((const char *)next + offset, AVX512_PREFETCH_HINT);
}

enum { Q32_PREFILL_MIN_TOKENS = 4, Q32_CHUNK_BLOCKS = 32, Q32_TOKEN_GROUP = 8, Q32_DECODE_PAIRS = 16,
       Q32_DECODE_QUADS = 48 };

AVX512_INLINE int q32_block_bytes(uint32_t type) {
    switch (type) {
    case GGML_TYPE_Q4_0: return 18;
    case GGML_TYPE_Q4_1: return 20;
    case GGML_TYPE_Q5_0: return 22;
    case GGML_TYPE_Q5_1: return 24;
    default: return 34;
    }
}

AVX512_INLINE int q32_qs_offset(uint32_t type) {
    switch (type) {
    case GGML_TYPE_Q4_0: return 2;
    case GGML_TYPE_Q4_1: return 4;
    case GGML_TYPE_Q5_0: return 6;
    case GGML_TYPE_Q5_1: return 8;
    default: return 2;
    }
}

/* The value subtracted from the unsigned byte levels to give the signed weight level. */
AVX512_INLINE int q32_zero_point(uint32_t type) {
    switch (type) {
    case GGML_TYPE_Q4_0: return 8;
    case GGML_TYPE_Q5_0: return 16;
    case GGML_TYPE_Q8_0: return 128;
    default: return 0;
    }
}

AVX512_INLINE int q32_has_min(uint32_t type) { return type == GGML_TYPE_Q4_1 || type == GGML_TYPE_Q5_1; }
AVX512_INLINE int q32_is_q5(uint32_t type) { return type == GGML_TYPE_Q5_0 || type == GGML_TYPE_Q5_1; }

AVX512_INLINE uint32_t q32_qh(uint32_t type, const uint8_t *block) {
    uint32_t qh;
    memcpy(&qh, block + (type == GGML_TYPE_Q5_0 ? 2 : 4), 4);
    return qh;
}

/* Unsigned levels of one block in element order. */
AVX512_INLINE __m256i q32_levels1(uint32_t type, const uint8_t *block) {
    if (type == GGML_TYPE_Q8_0)
        return _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(block + 2)), _mm256_set1_epi8((char)0x80));
    __m128i packed = _mm_loadu_si128((const __m128i *)(block + q32_qs_offset(type)));
    __m256i levels = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(packed, 4), packed), _mm256_set1_epi8(0x0f));
    if (q32_is_q5(type))
        levels = _mm256_mask_add_epi8(levels, (__mmask32)q32_qh(type, block), levels, _mm256_set1_epi8(16));
    return levels;
}

/* Unsigned levels of blocks b and b+1 (block points at b). Q8_0: [b | b+1] in element
 * order; nibble types: 16-byte quarters [b 0-15 | b+1 0-15 | b 16-31 | b+1 16-31]. */
AVX512_INLINE __m512i q32_levels2(uint32_t type, const uint8_t *block) {
    const int bytes = q32_block_bytes(type);
    if (type == GGML_TYPE_Q8_0) {
        __m512i both = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)(block + 2))),
                                          _mm256_loadu_si256((const __m256i *)(block + bytes + 2)), 1);
        return _mm512_xor_si512(both, _mm512_set1_epi8((char)0x80));
    }
    const int qs = q32_qs_offset(type);
    __m256i packed = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)(block + qs))),
                                             _mm_loadu_si128((const __m128i *)(block + bytes + qs)), 1);
    const __m256i low_mask = _mm256_set1_epi8(0x0f);
    __m512i levels = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_and_si256(packed, low_mask)),
                                        _mm256_and_si256(_mm256_srli_epi16(packed, 4), low_mask), 1);
    if (q32_is_q5(type)) {
        uint32_t h0 = q32_qh(type, block), h1 = q32_qh(type, block + bytes);
        uint64_t bits = (uint64_t)(h0 & 0xffffu) | (uint64_t)(h1 & 0xffffu) << 16 |
                        (uint64_t)(h0 >> 16) << 32 | (uint64_t)(h1 >> 16) << 48;
        levels = _mm512_mask_add_epi8(levels, (__mmask64)bits, levels, _mm512_set1_epi8(16));
    }
    return levels;
}

/* The activation quants of blocks b, b+1 in the byte order q32_levels2 uses. */
AVX512_INLINE __m512i q32_act2(uint32_t type, const cpu_block_q8a *x) {
    __m512i both = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)x[0].qs)),
                                      _mm256_loadu_si256((const __m256i *)x[1].qs), 1);
    if (type == GGML_TYPE_Q8_0) return both;
    return _mm512_shuffle_i64x2(both, both, _MM_SHUFFLE(3, 1, 2, 0));
}

/* Sums each of 16 row vectors (from q32_levels2 x q32_act2) over the lanes of block b
 * and of block b+1: out[0] lane r = row r's block-b sum, out[1] the same for b+1. */
AVX512_INLINE void q32_reduce16(uint32_t type, const __m512i *rows, __m512i *out) {
    __m512i pairs[8], quads[4], halves[2];
    AVX512_UNROLL for (int i = 0; i < 8; i++)
        pairs[i] = _mm512_add_epi32(_mm512_unpacklo_epi32(rows[2 * i], rows[2 * i + 1]),
                                    _mm512_unpackhi_epi32(rows[2 * i], rows[2 * i + 1]));
    /* quads[q], 128-bit lane j: rows 4q..4q+3 summed over the source's lane j */
    AVX512_UNROLL for (int i = 0; i < 4; i++)
        quads[i] = _mm512_add_epi32(_mm512_unpacklo_epi64(pairs[2 * i], pairs[2 * i + 1]),
                                    _mm512_unpackhi_epi64(pairs[2 * i], pairs[2 * i + 1]));
    /* halves[h] lanes: [quad 2h block b, quad 2h block b+1, quad 2h+1 b, quad 2h+1 b+1] */
    AVX512_UNROLL for (int i = 0; i < 2; i++) {
        __m512i a = quads[2 * i], c = quads[2 * i + 1];
        if (type == GGML_TYPE_Q8_0)
            halves[i] = _mm512_add_epi32(_mm512_shuffle_i32x4(a, c, _MM_SHUFFLE(2, 0, 2, 0)),
                                         _mm512_shuffle_i32x4(a, c, _MM_SHUFFLE(3, 1, 3, 1)));
        else
            halves[i] = _mm512_add_epi32(_mm512_shuffle_i32x4(a, c, _MM_SHUFFLE(1, 0, 1, 0)),
                                         _mm512_shuffle_i32x4(a, c, _MM_SHUFFLE(3, 2, 3, 2)));
    }
    out[0] = _mm512_shuffle_i32x4(halves[0], halves[1], _MM_SHUFFLE(2, 0, 2, 0));
    out[1] = _mm512_shuffle_i32x4(halves[0], halves[1], _MM_SHUFFLE(3, 1, 3, 1));
}

/* Block scale (and min) of 16 rows: the first dword of each row's block. */
AVX512_INLINE void q32_scales16(uint32_t type, const uint8_t *block0, __m512i row_offsets, __m512 *d, __m512 *m) {
    __m512i words = _mm512_i32gather_epi32(row_offsets, (const void *)block0, 1);
    *d = _mm512_cvtph_ps(_mm512_cvtepi32_epi16(words));
    if (q32_has_min(type)) *m = _mm512_cvtph_ps(_mm512_cvtepi32_epi16(_mm512_srli_epi32(words, 16)));
}

/* The same from the 16 rows' first dwords, collected with scalar loads while the rows
 * were read (cheaper than a gather on the decode path). */
AVX512_INLINE void q32_scales_from(uint32_t type, const uint32_t *words16, __m512 *d, __m512 *m) {
    __m512i words = _mm512_loadu_si512((const void *)words16);
    *d = _mm512_cvtph_ps(_mm512_cvtepi32_epi16(words));
    if (q32_has_min(type)) *m = _mm512_cvtph_ps(_mm512_cvtepi32_epi16(_mm512_srli_epi32(words, 16)));
}

AVX512_INLINE uint32_t q32_first_word(const uint8_t *block) {
    uint32_t word;
    memcpy(&word, block, 4);
    return word;
}

/* The per-block float chain of cpu_dot.c for 16 rows at once. */
AVX512_INLINE __m512 q32_chain(uint32_t type, __m512 acc, __m512i sums, __m512 d, __m512 m, const cpu_block_q8a *x) {
    acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sums), _mm512_mul_ps(d, _mm512_set1_ps(x->d)), acc);
    if (q32_has_min(type)) acc = _mm512_fmadd_ps(m, _mm512_set1_ps(x->s), acc);
    return acc;
}

AVX512_INLINE __m512i q32_row_offsets(size_t w_row_bytes, int n_rows) {
    __m512i rows = _mm512_min_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
                                    _mm512_set1_epi32(n_rows - 1));
    return _mm512_mullo_epi32(rows, _mm512_set1_epi32((int)w_row_bytes));
}

/* Up to 16 rows (n_rows), one token, an even number of blocks. Rows are read one after
 * the other through a chunk of Q32_DECODE_PAIRS block pairs (one sequential stream, as
 * the 16 rows are contiguous), the per-row partial vectors are kept in L1, then reduced
 * across rows block by block. */
AVX512_INLINE void q32_decode_tile(uint32_t type, const uint8_t *w, size_t w_row_bytes, int n_rows,
                                   const cpu_block_q8a *x, int64_t n_blocks, float *y) {
    const int bytes = q32_block_bytes(type);
    const __m512i zero_point = _mm512_set1_epi8((char)q32_zero_point(type));
    __m512i act[Q32_DECODE_PAIRS], correction[Q32_DECODE_PAIRS], partial[Q32_DECODE_PAIRS][16];
    uint32_t scale_words[Q32_DECODE_PAIRS][2][16];
    __m512 acc = _mm512_setzero_ps(), m0 = acc, m1 = acc;
    for (int64_t b0 = 0; b0 < n_blocks; b0 += 2 * Q32_DECODE_PAIRS) {
        int n_pairs = n_blocks - b0 < 2 * Q32_DECODE_PAIRS ? (int)(n_blocks - b0) / 2 : Q32_DECODE_PAIRS;
        for (int p = 0; p < n_pairs; p++) {
            act[p] = q32_act2(type, x + b0 + 2 * p);
            correction[p] = q32_zero_point(type) == 0 ? _mm512_setzero_si512()
                : _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_dpbusd_epi32(_mm512_setzero_si512(), zero_point, act[p]));
        }
        for (int r = 0; r < 16; r++) {
            const uint8_t *row = w + (size_t)(r < n_rows ? r : n_rows - 1) * w_row_bytes + (size_t)b0 * (size_t)bytes;
            avx512_prefetch_next(row, (size_t)(2 * n_pairs * bytes), w_row_bytes, b0 + 2 * n_pairs >= n_blocks);
            for (int p = 0; p < n_pairs; p++) {
                const uint8_t *pair = row + (size_t)(2 * p * bytes);
                scale_words[p][0][r] = q32_first_word(pair);
                scale_words[p][1][r] = q32_first_word(pair + bytes);
                partial[p][r] = _mm512_dpbusd_epi32(correction[p], q32_levels2(type, pair), act[p]);
            }
        }
        for (int p = 0; p < n_pairs; p++) {
            __m512i sums[2];
            q32_reduce16(type, partial[p], sums);
            __m512 d0, d1;
            q32_scales_from(type, scale_words[p][0], &d0, &m0);
            q32_scales_from(type, scale_words[p][1], &d1, &m1);
            acc = q32_chain(type, acc, sums[0], d0, m0, x + b0 + 2 * p);
            acc = q32_chain(type, acc, sums[1], d1, m1, x + b0 + 2 * p + 1);
        }
    }
    _mm512_mask_storeu_ps(y, (__mmask16)((1u << n_rows) - 1), acc);
}

/* Nibble types, four blocks per row step: 128-bit lane i of the levels holds block i's
 * elements 0-15 (lo) or 16-31 (hi), so a row's partial vector has one lane per block and
 * one reduction serves 64 (row, block) pairs. */
AVX512_INLINE void q32_levels4(uint32_t type, const uint8_t *block, __m512i *lo, __m512i *hi) {
    const int bytes = q32_block_bytes(type), qs = q32_qs_offset(type);
    __m512i packed = _mm512_castsi128_si512(_mm_loadu_si128((const __m128i *)(block + qs)));
    packed = _mm512_inserti32x4(packed, _mm_loadu_si128((const __m128i *)(block + bytes + qs)), 1);
    packed = _mm512_inserti32x4(packed, _mm_loadu_si128((const __m128i *)(block + 2 * bytes + qs)), 2);
    packed = _mm512_inserti32x4(packed, _mm_loadu_si128((const __m128i *)(block + 3 * bytes + qs)), 3);
    const __m512i low_mask = _mm512_set1_epi8(0x0f);
    *lo = _mm512_and_si512(packed, low_mask);
    *hi = _mm512_and_si512(_mm512_srli_epi16(packed, 4), low_mask);
    if (q32_is_q5(type)) {
        uint64_t lo_bits = 0, hi_bits = 0;
        AVX512_UNROLL for (int i = 0; i < 4; i++) {
            uint32_t qh = q32_qh(type, block + i * bytes);
            lo_bits |= (uint64_t)(qh & 0xffffu) << (16 * i);
            hi_bits |= (uint64_t)(qh >> 16) << (16 * i);
        }
        const __m512i sixteen = _mm512_set1_epi8(16);
        *lo = _mm512_mask_add_epi8(*lo, (__mmask64)lo_bits, *lo, sixteen);
        *hi = _mm512_mask_add_epi8(*hi, (__mmask64)hi_bits, *hi, sixteen);
    }
}

AVX512_INLINE __m512i q32_lanes4(const int8_t *a, const int8_t *b, const int8_t *c, const int8_t *d) {
    __m512i v = _mm512_castsi128_si512(_mm_loadu_si128((const __m128i *)a));
    v = _mm512_inserti32x4(v, _mm_loadu_si128((const __m128i *)b), 1);
    v = _mm512_inserti32x4(v, _mm_loadu_si128((const __m128i *)c), 2);
    return _mm512_inserti32x4(v, _mm_loadu_si128((const __m128i *)d), 3);
}

AVX512_INLINE void q32_act4(const cpu_block_q8a *x, __m512i *lo, __m512i *hi) {
    *lo = q32_lanes4(x[0].qs, x[1].qs, x[2].qs, x[3].qs);
    *hi = q32_lanes4(x[0].qs + 16, x[1].qs + 16, x[2].qs + 16, x[3].qs + 16);
}

/* rows[r] lane block L (4 int32) -> out[L] lane r = row r's block-L sum. */
AVX512_INLINE void q32_reduce16x4(const __m512i *rows, __m512i *out) {
    __m512i pairs[8], quads[4];
    AVX512_UNROLL for (int i = 0; i < 8; i++)
        pairs[i] = _mm512_add_epi32(_mm512_unpacklo_epi32(rows[2 * i], rows[2 * i + 1]),
                                    _mm512_unpackhi_epi32(rows[2 * i], rows[2 * i + 1]));
    AVX512_UNROLL for (int i = 0; i < 4; i++)
        quads[i] = _mm512_add_epi32(_mm512_unpacklo_epi64(pairs[2 * i], pairs[2 * i + 1]),
                                    _mm512_unpackhi_epi64(pairs[2 * i], pairs[2 * i + 1]));
    __m512i s0 = _mm512_shuffle_i32x4(quads[0], quads[1], _MM_SHUFFLE(1, 0, 1, 0));
    __m512i s1 = _mm512_shuffle_i32x4(quads[0], quads[1], _MM_SHUFFLE(3, 2, 3, 2));
    __m512i s2 = _mm512_shuffle_i32x4(quads[2], quads[3], _MM_SHUFFLE(1, 0, 1, 0));
    __m512i s3 = _mm512_shuffle_i32x4(quads[2], quads[3], _MM_SHUFFLE(3, 2, 3, 2));
    out[0] = _mm512_shuffle_i32x4(s0, s2, _MM_SHUFFLE(2, 0, 2, 0));
    out[1] = _mm512_shuffle_i32x4(s0, s2, _MM_SHUFFLE(3, 1, 3, 1));
    out[2] = _mm512_shuffle_i32x4(s1, s3, _MM_SHUFFLE(2, 0, 2, 0));
    out[3] = _mm512_shuffle_i32x4(s1, s3, _MM_SHUFFLE(3, 1, 3, 1));
}

/* Q8_0 in the same shape: two vpdpbusd of two blocks each, folded to one lane per block. */
AVX512_INLINE __m512i q32_fold_pairs(__m512i first, __m512i second) {
    return _mm512_add_epi32(_mm512_shuffle_i32x4(first, second, _MM_SHUFFLE(2, 0, 2, 0)),
                            _mm512_shuffle_i32x4(first, second, _MM_SHUFFLE(3, 1, 3, 1)));
}

AVX512_INLINE __m512i q32_negated_zero_sums(uint32_t type, __m512i act) {
    if (q32_zero_point(type) == 0) return _mm512_setzero_si512();
    const __m512i zero_point = _mm512_set1_epi8((char)q32_zero_point(type));
    return _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_dpbusd_epi32(_mm512_setzero_si512(), zero_point, act));
}

/* As q32_decode_tile with n_blocks a multiple of 4: one lane per block per row. */
AVX512_INLINE void q32_decode_tile4(uint32_t type, const uint8_t *w, size_t w_row_bytes, int n_rows,
                                    const cpu_block_q8a *x, int64_t n_blocks, float *y) {
    const int bytes = q32_block_bytes(type);
    __m512i act_lo[Q32_DECODE_QUADS], act_hi[Q32_DECODE_QUADS];
    __m512i correction_lo[Q32_DECODE_QUADS], correction_hi[Q32_DECODE_QUADS];
    __m512i partial[Q32_DECODE_QUADS][16];
    uint32_t scale_words[Q32_DECODE_QUADS][4][16];
    __m512 acc = _mm512_setzero_ps(), m = acc;
    for (int64_t b0 = 0; b0 < n_blocks; b0 += 4 * Q32_DECODE_QUADS) {
        int n_quads = n_blocks - b0 < 4 * Q32_DECODE_QUADS ? (int)(n_blocks - b0) / 4 : Q32_DECODE_QUADS;
        for (int q = 0; q < n_quads; q++) {
            if (type == GGML_TYPE_Q8_0) {
                act_lo[q] = q32_act2(type, x + b0 + 4 * q);
                act_hi[q] = q32_act2(type, x + b0 + 4 * q + 2);
            } else {
                q32_act4(x + b0 + 4 * q, &act_lo[q], &act_hi[q]);
            }
            correction_lo[q] = q32_negated_zero_sums(type, act_lo[q]);
            correction_hi[q] = q32_negated_zero_sums(type, act_hi[q]);
            if (type != GGML_TYPE_Q8_0) correction_lo[q] = _mm512_add_epi32(correction_lo[q], correction_hi[q]);
        }
        for (int r = 0; r < 16; r++) {
            const uint8_t *row = w + (size_t)(r < n_rows ? r : n_rows - 1) * w_row_bytes + (size_t)b0 * (size_t)bytes;
            avx512_prefetch_next(row, (size_t)(4 * n_quads * bytes), w_row_bytes, b0 + 4 * n_quads >= n_blocks);
            for (int q = 0; q < n_quads; q++) {
                __m512i lo, hi;
                const uint8_t *quad = row + (size_t)(4 * q * bytes);
                AVX512_UNROLL for (int i = 0; i < 4; i++) scale_words[q][i][r] = q32_first_word(quad + i * bytes);
                if (type == GGML_TYPE_Q8_0) {
                    partial[q][r] = q32_fold_pairs(_mm512_dpbusd_epi32(correction_lo[q], q32_levels2(type, quad), act_lo[q]),
                                                   _mm512_dpbusd_epi32(correction_hi[q], q32_levels2(type, quad + 2 * bytes), act_hi[q]));
                } else {
                    q32_levels4(type, quad, &lo, &hi);
                    partial[q][r] = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(correction_lo[q], lo, act_lo[q]),
                                                        hi, act_hi[q]);
                }
            }
        }
        for (int q = 0; q < n_quads; q++) {
            __m512i sums[4];
            q32_reduce16x4(partial[q], sums);
            AVX512_UNROLL for (int i = 0; i < 4; i++) {
                __m512 d;
                q32_scales_from(type, scale_words[q][i], &d, &m);
                acc = q32_chain(type, acc, sums[i], d, m, x + b0 + 4 * q + i);
            }
        }
    }
    _mm512_mask_storeu_ps(y, (__mmask16)((1u << n_rows) - 1), acc);
}

/* A 16-row tile of Q32_CHUNK_BLOCKS blocks in VNNI layout: levels[b][k] holds bytes
 * 4k..4k+3 of block b for each of the 16 rows. */
typedef struct {
    __m512i levels[Q32_CHUNK_BLOCKS][8];
    __m512 d[Q32_CHUNK_BLOCKS], m[Q32_CHUNK_BLOCKS];
} q32_tile;

AVX512_INLINE void q32_unpack_tile(uint32_t type, const uint8_t *const *rows, int64_t b0, int64_t n_blocks,
                                   __m512i row_offsets, q32_tile *tile) {
    const int bytes = q32_block_bytes(type);
    const __m512i low_halves = _mm512_set_epi64(13, 12, 5, 4, 9, 8, 1, 0);
    const __m512i high_halves = _mm512_set_epi64(15, 14, 7, 6, 11, 10, 3, 2);
    for (int64_t b = 0; b < n_blocks; b++) {
        size_t offset = (size_t)(b0 + b) * (size_t)bytes;
        /* An 8x8 dword transpose in each 256-bit half: half 0 rows 0-7, half 1 rows 8-15. */
        __m512i in[8], pairs[8], quads[8];
        AVX512_UNROLL for (int r = 0; r < 8; r++)
            in[r] = _mm512_inserti64x4(_mm512_castsi256_si512(q32_levels1(type, rows[r] + offset)),
                                       q32_levels1(type, rows[r + 8] + offset), 1);
        AVX512_UNROLL for (int i = 0; i < 4; i++) {
            pairs[2 * i] = _mm512_unpacklo_epi32(in[2 * i], in[2 * i + 1]);
            pairs[2 * i + 1] = _mm512_unpackhi_epi32(in[2 * i], in[2 * i + 1]);
        }
        /* quads[j] (j < 4: rows 0-3, else rows 4-7 of each half) holds dwords j%4 and j%4+4 */
        AVX512_UNROLL for (int i = 0; i < 2; i++) {
            quads[4 * i + 0] = _mm512_unpacklo_epi64(pairs[4 * i], pairs[4 * i + 2]);
            quads[4 * i + 1] = _mm512_unpackhi_epi64(pairs[4 * i], pairs[4 * i + 2]);
            quads[4 * i + 2] = _mm512_unpacklo_epi64(pairs[4 * i + 1], pairs[4 * i + 3]);
            quads[4 * i + 3] = _mm512_unpackhi_epi64(pairs[4 * i + 1], pairs[4 * i + 3]);
        }
        AVX512_UNROLL for (int k = 0; k < 4; k++) {
            tile->levels[b][k] = _mm512_permutex2var_epi64(quads[k], low_halves, quads[k + 4]);
            tile->levels[b][k + 4] = _mm512_permutex2var_epi64(quads[k], high_halves, quads[k + 4]);
        }
        q32_scales16(type, rows[0] + offset, row_offsets, &tile->d[b], &tile->m[b]);
    }
}

/* n_tokens (1..Q32_TOKEN_GROUP, a constant after inlining) tokens against one chunk. */
AVX512_INLINE void q32_prefill_group(uint32_t type, const q32_tile *tile, int64_t n_blocks, const uint8_t *x,
                                     size_t x_row_bytes, int64_t b0, const int n_tokens, __m512 *acc) {
    const int zero_point = q32_zero_point(type);
    for (int64_t b = 0; b < n_blocks; b++) {
        const cpu_block_q8a *xb[Q32_TOKEN_GROUP];
        __m512i sums[Q32_TOKEN_GROUP];
        AVX512_UNROLL for (int t = 0; t < n_tokens; t++) {
            xb[t] = (const cpu_block_q8a *)(x + (size_t)t * x_row_bytes) + b0 + b;
            sums[t] = _mm512_set1_epi32(-zero_point * xb[t]->sum);
        }
        AVX512_UNROLL for (int k = 0; k < 8; k++) {
            __m512i levels = _mm512_load_si512(&tile->levels[b][k]);
            AVX512_UNROLL for (int t = 0; t < n_tokens; t++) {
                int32_t quads;
                memcpy(&quads, xb[t]->qs + 4 * k, 4);
                sums[t] = _mm512_dpbusd_epi32(sums[t], levels, _mm512_set1_epi32(quads));
            }
        }
        AVX512_UNROLL for (int t = 0; t < n_tokens; t++) acc[t] = q32_chain(type, acc[t], sums[t], tile->d[b], tile->m[b], xb[t]);
    }
}

#define Q32_GROUP_CASE(count) \
    case count: q32_prefill_group(type, tile, n_blocks, x, x_row_bytes, b0, count, acc); break;

AVX512_INLINE void q32_prefill_tokens(uint32_t type, const q32_tile *tile, int64_t n_blocks, const uint8_t *x,
                                      size_t x_row_bytes, int64_t b0, int n_tokens, __m512 *acc) {
    switch (n_tokens) {
        Q32_GROUP_CASE(1) Q32_GROUP_CASE(2) Q32_GROUP_CASE(3) Q32_GROUP_CASE(4)
        Q32_GROUP_CASE(5) Q32_GROUP_CASE(6) Q32_GROUP_CASE(7) Q32_GROUP_CASE(8)
    default: break;
    }
}

/* Up to 16 rows against up to 64 tokens; acc[t] holds token t's 16 row chains. */
AVX512_INLINE void q32_prefill_tile(uint32_t type, const uint8_t *w, size_t w_row_bytes, int n_rows,
                                    const uint8_t *x, size_t x_row_bytes, int64_t n_tokens, int64_t n_blocks,
                                    q32_tile *tile, float *y, int64_t y_stride) {
    const uint8_t *rows[16];
    for (int r = 0; r < 16; r++) rows[r] = w + (size_t)(r < n_rows ? r : n_rows - 1) * w_row_bytes;
    __m512i row_offsets = q32_row_offsets(w_row_bytes, n_rows);
    __m512 acc[64];
    for (int64_t t = 0; t < n_tokens; t++) acc[t] = _mm512_setzero_ps();
    for (int64_t b0 = 0; b0 < n_blocks; b0 += Q32_CHUNK_BLOCKS) {
        int64_t chunk = n_blocks - b0 < Q32_CHUNK_BLOCKS ? n_blocks - b0 : Q32_CHUNK_BLOCKS;
        q32_unpack_tile(type, rows, b0, chunk, row_offsets, tile);
        for (int64_t t = 0; t < n_tokens; t += Q32_TOKEN_GROUP) {
            int group = n_tokens - t < Q32_TOKEN_GROUP ? (int)(n_tokens - t) : Q32_TOKEN_GROUP;
            q32_prefill_tokens(type, tile, chunk, x + (size_t)t * x_row_bytes, x_row_bytes, b0, group, acc + t);
        }
    }
    for (int64_t t = 0; t < n_tokens; t++) _mm512_mask_storeu_ps(y + t * y_stride, (__mmask16)((1u << n_rows) - 1), acc[t]);
}

AVX512_INLINE void q32_gemm(uint32_t type, const uint8_t *w, size_t w_row_bytes, int64_t n_rows, const uint8_t *x,
                            size_t x_row_bytes, int64_t n_tokens, int64_t n_cols, float *y, int64_t y_stride) {
    int64_t n_blocks = n_cols / 32;
    if (n_tokens >= Q32_PREFILL_MIN_TOKENS) {
        q32_tile tile_storage; /* 20 KiB on the stack: kernels keep no state between calls */
        for (int64_t t0 = 0; t0 < n_tokens; t0 += 64) {
            int64_t nt = n_tokens - t0 < 64 ? n_tokens - t0 : 64;
            for (int64_t r = 0; r < n_rows; r += 16)
                q32_prefill_tile(type, w + (size_t)r * w_row_bytes, w_row_bytes, n_rows - r < 16 ? (int)(n_rows - r) : 16,
                                 x + (size_t)t0 * x_row_bytes, x_row_bytes, nt, n_blocks, &tile_storage,
                                 y + t0 * y_stride + r, y_stride);
        }
        return;
    }
    int by_four = n_blocks % 4 == 0;
    for (int64_t r = 0; r < n_rows; r += 16)
        for (int64_t t = 0; t < n_tokens; t++)
            if (by_four)
                q32_decode_tile4(type, w + (size_t)r * w_row_bytes, w_row_bytes, n_rows - r < 16 ? (int)(n_rows - r) : 16,
                                 (const cpu_block_q8a *)(x + (size_t)t * x_row_bytes), n_blocks, y + t * y_stride + r);
            else
                q32_decode_tile(type, w + (size_t)r * w_row_bytes, w_row_bytes, n_rows - r < 16 ? (int)(n_rows - r) : 16,
                            (const cpu_block_q8a *)(x + (size_t)t * x_row_bytes), n_blocks, y + t * y_stride + r);
}

#define AVX512_GEMM32(name, type, fallback)                                                          \
    static void name(const uint8_t *w, size_t w_row_bytes, int64_t n_rows, const uint8_t *x,          \
                     size_t x_row_bytes, int64_t n_tokens, int64_t n_cols, float *y, int64_t y_stride) { \
        if ((n_cols / 32) % 2 != 0) {                                                                 \
            fallback(w, w_row_bytes, n_rows, x, x_row_bytes, n_tokens, n_cols, y, y_stride);          \
            return;                                                                                   \
        }                                                                                             \
        q32_gemm(type, w, w_row_bytes, n_rows, x, x_row_bytes, n_tokens, n_cols, y, y_stride);        \
    }

AVX512_GEMM32(avx512_gemm_q4_0, GGML_TYPE_Q4_0, x86_gemm_q4_0)
AVX512_GEMM32(avx512_gemm_q4_1, GGML_TYPE_Q4_1, x86_gemm_q4_1)
AVX512_GEMM32(avx512_gemm_q5_0, GGML_TYPE_Q5_0, x86_gemm_q5_0)
AVX512_GEMM32(avx512_gemm_q5_1, GGML_TYPE_Q5_1, x86_gemm_q5_1)
AVX512_GEMM32(avx512_gemm_q8_0, GGML_TYPE_Q8_0, x86_gemm_q8_0)

/* ---- K-quants (Q4_K, Q5_K, Q6_K): one super-block of a 16-row tile at a time ----
 * Each row's super-block is unpacked once (levels as unsigned bytes, sub-block scales
 * widened to int16 lanes) and reused for every token: vpmaddubsw then vpdpwssd with the
 * scales gives exact int32 partial sums, reduced across rows by q32_reduce16. Q6_K's -32
 * and Q4_K/Q5_K's mins use the activation block's bsums (exact integers too). */

enum { KQ_DECODE_BLOCKS = 24, KQ_PREFILL_BLOCKS = 4, KQ_TOKEN_GROUP = 6 };

AVX512_INLINE int kq_block_bytes(uint32_t type) {
    return type == GGML_TYPE_Q4_K ? 144 : type == GGML_TYPE_Q5_K ? 176 : 210;
}

/* Six-bit scales and mins of a Q4_K/Q5_K block as bytes (ggml's bit shuffle). */
AVX512_INLINE void kq_scales_mins(const uint8_t *packed, uint32_t out[4]) {
    uint32_t words[3];
    memcpy(words, packed, 12);
    out[0] = words[0] & 0x3f3f3f3fu;
    out[1] = (words[2] & 0x0f0f0f0fu) | (((words[0] >> 6) & 0x03030303u) << 4);
    out[2] = words[1] & 0x3f3f3f3fu;
    out[3] = ((words[2] >> 4) & 0x0f0f0f0fu) | (((words[1] >> 6) & 0x03030303u) << 4);
}

/* Levels j = 0..3 of a Q4_K/Q5_K row: [sub-blocks 0|2], [1|3], [4|6], [5|7]. */
AVX512_INLINE void kq_unpack_q45(uint32_t type, const uint8_t *block, __m512i *levels, __m512i *scales, __m256i *mins) {
    const uint8_t *qs = block + (type == GGML_TYPE_Q4_K ? 16 : 48);
    const __m512i low_mask = _mm512_set1_epi8(0x0f);
    AVX512_UNROLL for (int half = 0; half < 2; half++) {
        __m512i packed = _mm512_loadu_si512((const void *)(qs + 64 * half));
        levels[2 * half] = _mm512_and_si512(packed, low_mask);
        levels[2 * half + 1] = _mm512_and_si512(_mm512_srli_epi16(packed, 4), low_mask);
    }
    if (type == GGML_TYPE_Q5_K) {
        __m512i qh = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(block + 16)));
        const __m512i sixteen = _mm512_set1_epi8(16);
        AVX512_UNROLL for (int j = 0; j < 4; j++) {
            /* levels[j] holds sub-blocks (j/2)*4 + j%2 and +2: qh bits of those sub-blocks */
            int bit = (j / 2) * 4 + j % 2;
            __m512i select = _mm512_inserti64x4(_mm512_set1_epi8((char)(1 << bit)), _mm256_set1_epi8((char)(1 << (bit + 2))), 1);
            levels[j] = _mm512_mask_add_epi8(levels[j], _mm512_test_epi8_mask(qh, select), levels[j], sixteen);
        }
    }
    uint32_t bytes[4];
    kq_scales_mins(block + 4, bytes);
    __m512i scale16 = _mm512_castsi128_si512(_mm_cvtepu8_epi16(_mm_set_epi32(0, 0, (int)bytes[1], (int)bytes[0])));
    AVX512_UNROLL for (int j = 0; j < 4; j++) {
        int first = (j / 2) * 4 + j % 2;
        __m512i index = _mm512_inserti64x4(_mm512_set1_epi16((short)first), _mm256_set1_epi16((short)(first + 2)), 1);
        scales[j] = _mm512_permutexvar_epi16(index, scale16);
    }
    *mins = _mm256_castsi128_si256(_mm_cvtepu8_epi16(_mm_set_epi32(0, 0, (int)bytes[3], (int)bytes[2])));
}

/* Levels j = 0..3 of a Q6_K row: elements 64j..64j+63 in order. */
AVX512_INLINE void kq_unpack_q6(const uint8_t *block, __m512i *levels, __m512i *scales, __m256i *extra) {
    const cpu_block_q6_K *q6 = (const cpu_block_q6_K *)block;
    const __m512i low_mask = _mm512_set1_epi8(0x0f), two_bits = _mm512_set1_epi8(3);
    AVX512_UNROLL for (int half = 0; half < 2; half++) {
        __m512i ql = _mm512_loadu_si512((const void *)(q6->ql + 64 * half));
        __m512i qh = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(q6->qh + 32 * half)));
        /* quarters 0|1 take qh bits 0-1|2-3, quarters 2|3 bits 4-5|6-7 */
        __m512i high01 = _mm512_and_si512(_mm512_srlv_epi16(qh, _mm512_inserti64x4(_mm512_set1_epi16(0), _mm256_set1_epi16(2), 1)), two_bits);
        __m512i high23 = _mm512_and_si512(_mm512_srlv_epi16(qh, _mm512_inserti64x4(_mm512_set1_epi16(4), _mm256_set1_epi16(6), 1)), two_bits);
        levels[2 * half] = _mm512_or_si512(_mm512_and_si512(ql, low_mask), _mm512_slli_epi16(high01, 4));
        levels[2 * half + 1] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(ql, 4), low_mask), _mm512_slli_epi16(high23, 4));
    }
    __m256i scale16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)q6->scales));
    AVX512_UNROLL for (int j = 0; j < 4; j++) {
        __m512i index = _mm512_add_epi16(_mm512_set1_epi16((short)(4 * j)),
                                         _mm512_srli_epi16(_mm512_set_epi16(31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16,
                                                                            15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0), 3));
        scales[j] = _mm512_permutexvar_epi16(index, _mm512_castsi256_si512(scale16));
    }
    *extra = _mm256_mullo_epi16(scale16, _mm256_set1_epi16(-32));
}

/* The activation quants in the byte order of the unpacked levels. */
AVX512_INLINE void kq_act(uint32_t type, const cpu_block_q8k *x, __m512i *act) {
    if (type == GGML_TYPE_Q6_K) {
        AVX512_UNROLL for (int j = 0; j < 4; j++) act[j] = _mm512_loadu_si512((const void *)(x->qs + 64 * j));
        return;
    }
    AVX512_UNROLL for (int j = 0; j < 4; j++) {
        const int8_t *first = x->qs + 128 * (j / 2) + 32 * (j % 2);
        act[j] = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)first)),
                                    _mm256_loadu_si256((const __m256i *)(first + 64)), 1);
    }
}

/* Sums the four int32 lanes of each of 16 rows (xmm per row): lane r = row r. */
AVX512_INLINE __m512i kq_reduce16_x4(const __m128i *rows) {
    __m512i quads[4], pairs[2];
    AVX512_UNROLL for (int q = 0; q < 4; q++)
        quads[q] = _mm512_inserti32x4(_mm512_inserti32x4(_mm512_inserti32x4(_mm512_castsi128_si512(rows[q]), rows[q + 4], 1),
                                                         rows[q + 8], 2), rows[q + 12], 3);
    /* quads[q] 128-bit lane i holds row 4i + q */
    AVX512_UNROLL for (int i = 0; i < 2; i++)
        pairs[i] = _mm512_add_epi32(_mm512_unpacklo_epi32(quads[2 * i], quads[2 * i + 1]),
                                    _mm512_unpackhi_epi32(quads[2 * i], quads[2 * i + 1]));
    return _mm512_add_epi32(_mm512_unpacklo_epi64(pairs[0], pairs[1]), _mm512_unpackhi_epi64(pairs[0], pairs[1]));
}

/* One row's exact partial sums against one activation block: a vector whose lanes sum
 * to sumi (Q6_K: with the -32 folded in), and for Q4_K/Q5_K four lanes summing to summ. */
AVX512_INLINE void kq_dot_row(uint32_t type, const __m512i *levels, const __m512i *scales, __m256i extra,
                              const __m512i *act, __m256i bsums, __m128i bsum8, __m512i *partial, __m128i *min_part) {
    __m512i sum = type == GGML_TYPE_Q6_K ? _mm512_inserti64x4(_mm512_setzero_si512(), _mm256_madd_epi16(extra, bsums), 0)
                                         : _mm512_setzero_si512();
    AVX512_UNROLL for (int j = 0; j < 4; j++)
        sum = _mm512_dpwssd_epi32(sum, _mm512_maddubs_epi16(levels[j], act[j]), scales[j]);
    *partial = sum;
    if (type != GGML_TYPE_Q6_K) *min_part = _mm_madd_epi16(_mm256_castsi256_si128(extra), bsum8);
}

AVX512_INLINE __m128i kq_bsum8(__m256i bsums) {
    return _mm256_cvtepi32_epi16(_mm256_madd_epi16(bsums, _mm256_set1_epi16(1)));
}

/* d (and dmin) of 16 rows' block at w + offset. */
AVX512_INLINE void kq_scales16(uint32_t type, const uint8_t *block0, __m512i row_offsets, __m512 *d, __m512 *dmin) {
    /* Q4_K/Q5_K: d and dmin are the block's first two halves; Q6_K: d is its last */
    __m512i words = _mm512_i32gather_epi32(row_offsets, (const void *)(block0 + (type == GGML_TYPE_Q6_K ? 206 : 0)), 1);
    if (type == GGML_TYPE_Q6_K) {
        *d = _mm512_cvtph_ps(_mm512_cvtepi32_epi16(_mm512_srli_epi32(words, 16)));
        *dmin = _mm512_setzero_ps();
    } else {
        *d = _mm512_cvtph_ps(_mm512_cvtepi32_epi16(words));
        *dmin = _mm512_cvtph_ps(_mm512_cvtepi32_epi16(_mm512_srli_epi32(words, 16)));
    }
}

/* The float chain of cpu_dot.c for 16 rows and one super-block. */
AVX512_INLINE __m512 kq_chain(uint32_t type, __m512 acc, const __m512i *partial, const __m128i *min_parts,
                              __m512 d, __m512 dmin, float x_d) {
    __m512i sums[2];
    q32_reduce16(GGML_TYPE_Q8_0, partial, sums);
    acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(sums[0], sums[1])), _mm512_mul_ps(d, _mm512_set1_ps(x_d)), acc);
    if (type != GGML_TYPE_Q6_K)
        acc = _mm512_fnmadd_ps(_mm512_cvtepi32_ps(kq_reduce16_x4(min_parts)), _mm512_mul_ps(dmin, _mm512_set1_ps(x_d)), acc);
    return acc;
}

AVX512_INLINE void kq_unpack(uint32_t type, const uint8_t *block, __m512i *levels, __m512i *scales, __m256i *extra) {
    if (type == GGML_TYPE_Q6_K) kq_unpack_q6(block, levels, scales, extra);
    else kq_unpack_q45(type, block, levels, scales, extra);
}

/* Up to 16 rows, one token: rows read one after the other through KQ_DECODE_BLOCKS
 * super-blocks (a sequential stream), partial vectors kept in L1 for the row reduction. */
AVX512_INLINE void kq_decode_tile(uint32_t type, const uint8_t *w, size_t w_row_bytes, int n_rows,
                                  const cpu_block_q8k *x, int64_t n_blocks, float *y) {
    const int bytes = kq_block_bytes(type);
    __m512i row_offsets = q32_row_offsets(w_row_bytes, n_rows);
    __m512i partial[KQ_DECODE_BLOCKS][16];
    __m128i min_parts[KQ_DECODE_BLOCKS][16];
    __m512 acc = _mm512_setzero_ps();
    for (int64_t b0 = 0; b0 < n_blocks; b0 += KQ_DECODE_BLOCKS) {
        int n = n_blocks - b0 < KQ_DECODE_BLOCKS ? (int)(n_blocks - b0) : KQ_DECODE_BLOCKS;
        for (int r = 0; r < 16; r++) {
            const uint8_t *row = w + (size_t)(r < n_rows ? r : n_rows - 1) * w_row_bytes + (size_t)b0 * (size_t)bytes;
            avx512_prefetch_next(row, (size_t)(n * bytes), w_row_bytes, b0 + n >= n_blocks);
            for (int b = 0; b < n; b++) {
                __m512i levels[4], scales[4], act[4];
                __m256i extra, bsums = _mm256_loadu_si256((const __m256i *)x[b0 + b].bsums);
                kq_unpack(type, row + (size_t)b * (size_t)bytes, levels, scales, &extra);
                kq_act(type, x + b0 + b, act);
                kq_dot_row(type, levels, scales, extra, act, bsums, kq_bsum8(bsums), &partial[b][r], &min_parts[b][r]);
            }
        }
        for (int b = 0; b < n; b++) {
            __m512 d, dmin;
            kq_scales16(type, w + (size_t)(b0 + b) * (size_t)bytes, row_offsets, &d, &dmin);
            acc = kq_chain(type, acc, partial[b], min_parts[b], d, dmin, x[b0 + b].d);
        }
    }
    _mm512_mask_storeu_ps(y, (__mmask16)((1u << n_rows) - 1), acc);
}

/* Prefill: a 16-row tile of KQ_PREFILL_BLOCKS super-blocks in VNNI layout (levels[b][k]:
 * 4 level bytes of each of 16 rows, in kq_act's element order), with the per-row
 * sub-block scales as int32 vectors and Q4_K/Q5_K's mins paired as int16 for vpdpwssd. */
typedef struct {
    __m512i levels[KQ_PREFILL_BLOCKS][64];
    __m512i scales[KQ_PREFILL_BLOCKS][16];  /* Q4_K/Q5_K: sub-block s < 8; Q6_K: group g < 16 */
    __m512i min_pairs[KQ_PREFILL_BLOCKS][4];
    __m512 d[KQ_PREFILL_BLOCKS], dmin[KQ_PREFILL_BLOCKS];
} kq_tile;

/* in[r] = 16 dwords of row r; out[d] = dword d of rows 0..15. */
AVX512_INLINE void kq_transpose16(const __m512i *in, __m512i *out) {
    __m512i pairs[16], quads[16];
    AVX512_UNROLL for (int i = 0; i < 8; i++) {
        pairs[2 * i] = _mm512_unpacklo_epi32(in[2 * i], in[2 * i + 1]);
        pairs[2 * i + 1] = _mm512_unpackhi_epi32(in[2 * i], in[2 * i + 1]);
    }
    /* quads[4i + c], 128-bit lane L: dword 4L + c of rows 4i..4i+3 */
    AVX512_UNROLL for (int i = 0; i < 4; i++) {
        quads[4 * i + 0] = _mm512_unpacklo_epi64(pairs[4 * i], pairs[4 * i + 2]);
        quads[4 * i + 1] = _mm512_unpackhi_epi64(pairs[4 * i], pairs[4 * i + 2]);
        quads[4 * i + 2] = _mm512_unpacklo_epi64(pairs[4 * i + 1], pairs[4 * i + 3]);
        quads[4 * i + 3] = _mm512_unpackhi_epi64(pairs[4 * i + 1], pairs[4 * i + 3]);
    }
    AVX512_UNROLL for (int c = 0; c < 4; c++) {
        __m512i s0 = _mm512_shuffle_i32x4(quads[c], quads[4 + c], _MM_SHUFFLE(2, 0, 2, 0));
        __m512i s1 = _mm512_shuffle_i32x4(quads[c], quads[4 + c], _MM_SHUFFLE(3, 1, 3, 1));
        __m512i s2 = _mm512_shuffle_i32x4(quads[8 + c], quads[12 + c], _MM_SHUFFLE(2, 0, 2, 0));
        __m512i s3 = _mm512_shuffle_i32x4(quads[8 + c], quads[12 + c], _MM_SHUFFLE(3, 1, 3, 1));
        out[c] = _mm512_shuffle_i32x4(s0, s2, _MM_SHUFFLE(2, 0, 2, 0));
        out[c + 8] = _mm512_shuffle_i32x4(s0, s2, _MM_SHUFFLE(3, 1, 3, 1));
        out[c + 4] = _mm512_shuffle_i32x4(s1, s3, _MM_SHUFFLE(2, 0, 2, 0));
        out[c + 12] = _mm512_shuffle_i32x4(s1, s3, _MM_SHUFFLE(3, 1, 3, 1));
    }
}

AVX512_INLINE void kq_unpack_tile(uint32_t type, const uint8_t *const *rows, int64_t b0, int64_t n_blocks,
                                  __m512i row_offsets, const uint8_t *w, kq_tile *tile) {
    const int bytes = kq_block_bytes(type);
    for (int64_t b = 0; b < n_blocks; b++) {
        size_t offset = (size_t)(b0 + b) * (size_t)bytes;
        __m512i levels[16][4], unused_scales[4], in[16];
        int8_t scale_bytes[16][16];   /* [scale index][row] */
        uint8_t min_bytes[8][16];
        for (int r = 0; r < 16; r++) {
            __m256i extra;
            kq_unpack(type, rows[r] + offset, levels[r], unused_scales, &extra);
            if (type == GGML_TYPE_Q6_K) {
                for (int g = 0; g < 16; g++) scale_bytes[g][r] = ((const cpu_block_q6_K *)(rows[r] + offset))->scales[g];
            } else {
                uint32_t packed[4];
                kq_scales_mins(rows[r] + offset + 4, packed);
                for (int j = 0; j < 8; j++) {
                    scale_bytes[j][r] = (int8_t)((packed[j / 4] >> (8 * (j % 4))) & 0xff);
                    min_bytes[j][r] = (uint8_t)((packed[2 + j / 4] >> (8 * (j % 4))) & 0xff);
                }
            }
        }
        AVX512_UNROLL for (int j = 0; j < 4; j++) {
            AVX512_UNROLL for (int r = 0; r < 16; r++) in[r] = levels[r][j];
            kq_transpose16(in, &tile->levels[b][16 * j]);
        }
        if (type == GGML_TYPE_Q6_K) {
            for (int g = 0; g < 16; g++) tile->scales[b][g] = _mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)scale_bytes[g]));
        } else {
            for (int j = 0; j < 8; j++)
                tile->scales[b][j] = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(const void *)scale_bytes[j]));
            for (int i = 0; i < 4; i++)
                tile->min_pairs[b][i] = _mm512_or_si512(_mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)min_bytes[2 * i])),
                                                        _mm512_slli_epi32(_mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)min_bytes[2 * i + 1])), 16));
        }
        kq_scales16(type, w + offset, row_offsets, &tile->d[b], &tile->dmin[b]);
    }
}

AVX512_INLINE __m512i kq_bcast_quads(const int8_t *qs) {
    int32_t quads;
    memcpy(&quads, qs, 4);
    return _mm512_set1_epi32(quads);
}

/* n_tokens (1..KQ_TOKEN_GROUP, a constant after inlining) tokens against one chunk. */
AVX512_INLINE void kq_prefill_group(uint32_t type, const kq_tile *tile, int64_t n_blocks, const uint8_t *x,
                                    size_t x_row_bytes, int64_t b0, const int n_tokens, __m512 *acc) {
    for (int64_t b = 0; b < n_blocks; b++) {
        const cpu_block_q8k *xb[KQ_TOKEN_GROUP];
        __m512i sumi[KQ_TOKEN_GROUP], summ[KQ_TOKEN_GROUP], isum[KQ_TOKEN_GROUP];
        AVX512_UNROLL for (int t = 0; t < n_tokens; t++) {
            xb[t] = (const cpu_block_q8k *)(x + (size_t)t * x_row_bytes) + b0 + b;
            sumi[t] = summ[t] = _mm512_setzero_si512();
        }
        if (type == GGML_TYPE_Q6_K) {
            AVX512_UNROLL for (int g = 0; g < 16; g++) {
                AVX512_UNROLL for (int t = 0; t < n_tokens; t++) isum[t] = _mm512_set1_epi32(-32 * xb[t]->bsums[g]);
                AVX512_UNROLL for (int k = 4 * g; k < 4 * g + 4; k++) {
                    __m512i levels = _mm512_load_si512(&tile->levels[b][k]);
                    AVX512_UNROLL for (int t = 0; t < n_tokens; t++)
                        isum[t] = _mm512_dpbusd_epi32(isum[t], levels, kq_bcast_quads(xb[t]->qs + 4 * k));
                }
                AVX512_UNROLL for (int t = 0; t < n_tokens; t++)
                    sumi[t] = _mm512_add_epi32(sumi[t], _mm512_mullo_epi32(isum[t], tile->scales[b][g]));
            }
        } else {
            AVX512_UNROLL for (int j = 0; j < 4; j++) {
                AVX512_UNROLL for (int half = 0; half < 2; half++) {
                    int sub_block = (j / 2) * 4 + j % 2 + 2 * half, x_first = 128 * (j / 2) + 32 * (j % 2) + 64 * half;
                    AVX512_UNROLL for (int t = 0; t < n_tokens; t++) isum[t] = _mm512_setzero_si512();
                    AVX512_UNROLL for (int m = 0; m < 8; m++) {
                        __m512i levels = _mm512_load_si512(&tile->levels[b][16 * j + 8 * half + m]);
                        AVX512_UNROLL for (int t = 0; t < n_tokens; t++)
                            isum[t] = _mm512_dpbusd_epi32(isum[t], levels, kq_bcast_quads(xb[t]->qs + x_first + 4 * m));
                    }
                    AVX512_UNROLL for (int t = 0; t < n_tokens; t++)
                        sumi[t] = _mm512_add_epi32(sumi[t], _mm512_mullo_epi32(isum[t], tile->scales[b][sub_block]));
                }
            }
            AVX512_UNROLL for (int t = 0; t < n_tokens; t++) {
                int32_t pairs[4];
                _mm_storeu_si128((__m128i *)pairs, kq_bsum8(_mm256_loadu_si256((const __m256i *)xb[t]->bsums)));
                AVX512_UNROLL for (int i = 0; i < 4; i++)
                    summ[t] = _mm512_dpwssd_epi32(summ[t], tile->min_pairs[b][i], _mm512_set1_epi32(pairs[i]));
            }
        }
        AVX512_UNROLL for (int t = 0; t < n_tokens; t++) {
            acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sumi[t]), _mm512_mul_ps(tile->d[b], _mm512_set1_ps(xb[t]->d)), acc[t]);
            if (type != GGML_TYPE_Q6_K)
                acc[t] = _mm512_fnmadd_ps(_mm512_cvtepi32_ps(summ[t]), _mm512_mul_ps(tile->dmin[b], _mm512_set1_ps(xb[t]->d)), acc[t]);
        }
    }
}

#define KQ_GROUP_CASE(count) \
    case count: kq_prefill_group(type, tile, n_blocks, x, x_row_bytes, b0, count, acc); break;

AVX512_INLINE void kq_prefill_tokens(uint32_t type, const kq_tile *tile, int64_t n_blocks, const uint8_t *x,
                                     size_t x_row_bytes, int64_t b0, int n_tokens, __m512 *acc) {
    switch (n_tokens) {
        KQ_GROUP_CASE(1) KQ_GROUP_CASE(2) KQ_GROUP_CASE(3) KQ_GROUP_CASE(4)
        KQ_GROUP_CASE(5) KQ_GROUP_CASE(6)
    default: break;
    }
}

AVX512_INLINE void kq_prefill_tile(uint32_t type, const uint8_t *w, size_t w_row_bytes, int n_rows, const uint8_t *x,
                                   size_t x_row_bytes, int64_t n_tokens, int64_t n_blocks, kq_tile *tile, float *y,
                                   int64_t y_stride) {
    const uint8_t *rows[16];
    for (int r = 0; r < 16; r++) rows[r] = w + (size_t)(r < n_rows ? r : n_rows - 1) * w_row_bytes;
    __m512i row_offsets = q32_row_offsets(w_row_bytes, n_rows);
    __m512 acc[64];
    for (int64_t t = 0; t < n_tokens; t++) acc[t] = _mm512_setzero_ps();
    for (int64_t b0 = 0; b0 < n_blocks; b0 += KQ_PREFILL_BLOCKS) {
        int64_t chunk = n_blocks - b0 < KQ_PREFILL_BLOCKS ? n_blocks - b0 : KQ_PREFILL_BLOCKS;
        kq_unpack_tile(type, rows, b0, chunk, row_offsets, w, tile);
        for (int64_t t = 0; t < n_tokens; t += KQ_TOKEN_GROUP) {
            int group = n_tokens - t < KQ_TOKEN_GROUP ? (int)(n_tokens - t) : KQ_TOKEN_GROUP;
            kq_prefill_tokens(type, tile, chunk, x + (size_t)t * x_row_bytes, x_row_bytes, b0, group, acc + t);
        }
    }
    for (int64_t t = 0; t < n_tokens; t++) _mm512_mask_storeu_ps(y + t * y_stride, (__mmask16)((1u << n_rows) - 1), acc[t]);
}

AVX512_INLINE void kq_gemm(uint32_t type, const uint8_t *w, size_t w_row_bytes, int64_t n_rows, const uint8_t *x,
                           size_t x_row_bytes, int64_t n_tokens, int64_t n_cols, float *y, int64_t y_stride) {
    if (n_tokens < Q32_PREFILL_MIN_TOKENS) {
        for (int64_t r = 0; r < n_rows; r += 16)
            for (int64_t t = 0; t < n_tokens; t++)
                kq_decode_tile(type, w + (size_t)r * w_row_bytes, w_row_bytes, n_rows - r < 16 ? (int)(n_rows - r) : 16,
                               (const cpu_block_q8k *)(x + (size_t)t * x_row_bytes), n_cols / 256, y + t * y_stride + r);
        return;
    }
    kq_tile tile; /* 22 KiB on the stack: kernels keep no state between calls */
    for (int64_t t0 = 0; t0 < n_tokens; t0 += 64) {
        int64_t nt = n_tokens - t0 < 64 ? n_tokens - t0 : 64;
        for (int64_t r = 0; r < n_rows; r += 16)
            kq_prefill_tile(type, w + (size_t)r * w_row_bytes, w_row_bytes, n_rows - r < 16 ? (int)(n_rows - r) : 16,
                            x + (size_t)t0 * x_row_bytes, x_row_bytes, nt, n_cols / 256, &tile, y + t0 * y_stride + r, y_stride);
    }
}

#define AVX512_GEMM_K(name, type)                                                                    \
    static void name(const uint8_t *w, size_t w_row_bytes, int64_t n_rows, const uint8_t *x,          \
                     size_t x_row_bytes, int64_t n_tokens, int64_t n_cols, float *y, int64_t y_stride) { \
        kq_gemm(type, w, w_row_bytes, n_rows, x, x_row_bytes, n_tokens, n_cols, y, y_stride);         \
    }

AVX512_GEMM_K(avx512_gemm_q4_K, GGML_TYPE_Q4_K)
AVX512_GEMM_K(avx512_gemm_q5_K, GGML_TYPE_Q5_K)
AVX512_GEMM_K(avx512_gemm_q6_K, GGML_TYPE_Q6_K)

/* ---- float weights (F32, F16, BF16): register tiles of rows x tokens ----
 * Each (row, token) pair keeps its own 16-lane accumulator (element i in lane i % 16,
 * as cpu_dot.c defines), so a tile only shares the weight conversion and the activation
 * loads; the lanes are summed in the canonical pairwise order at the end. Rows layout
 * and tile16 differ only in where a row's 16 elements at column i lie:
 * w + r * row_stride + (i / 16) * step (cpu_tile.h). */
enum { FLOAT_ROWS = 4, FLOAT_TOKENS = 6, FLOAT_DECODE_ROWS = 16 };

AVX512_INLINE int float_bytes(uint32_t type) { return type == GGML_TYPE_F32 ? 4 : 2; }

AVX512_INLINE __m512 float_load16(uint32_t type, const uint8_t *p) {
    if (type == GGML_TYPE_F32) return _mm512_loadu_ps((const float *)p);
    __m256i halves = _mm256_loadu_si256((const __m256i *)p);
    if (type == GGML_TYPE_F16) return _mm512_cvtph_ps(halves);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(halves), 16));
}

/* n_rows x n_tokens outputs; tail columns (n_cols % 16, rows layout only) one by one. */
AVX512_INLINE void float_tile(uint32_t type, const uint8_t *w, size_t row_stride, size_t step, const int n_rows,
                              const uint8_t *x, size_t x_row_bytes, const int n_tokens, int64_t n_cols, float *y,
                              int64_t y_stride) {
    __m512 acc[FLOAT_DECODE_ROWS][FLOAT_TOKENS];
    AVX512_UNROLL for (int r = 0; r < n_rows; r++)
        AVX512_UNROLL for (int t = 0; t < n_tokens; t++) acc[r][t] = _mm512_setzero_ps();
    int64_t n_main = n_cols - n_cols % 16;
    const uint8_t *column = w;
    for (int64_t i = 0; i < n_main; i += 16, column += step) {
        if (n_tokens == 1) {    /* each weight used once: convert and multiply row by row */
            __m512 xv = _mm512_loadu_ps((const float *)x + i);
            AVX512_UNROLL for (int r = 0; r < n_rows; r++)
                acc[r][0] = _mm512_fmadd_ps(float_load16(type, column + (size_t)r * row_stride), xv, acc[r][0]);
            continue;
        }
        __m512 weights[FLOAT_DECODE_ROWS];
        AVX512_UNROLL for (int r = 0; r < n_rows; r++) weights[r] = float_load16(type, column + (size_t)r * row_stride);
        AVX512_UNROLL for (int t = 0; t < n_tokens; t++) {
            __m512 xv = _mm512_loadu_ps((const float *)(x + (size_t)t * x_row_bytes) + i);
            AVX512_UNROLL for (int r = 0; r < n_rows; r++) acc[r][t] = _mm512_fmadd_ps(weights[r], xv, acc[r][t]);
        }
    }
    AVX512_UNROLL for (int r = 0; r < n_rows; r++) {
        const uint8_t *row = w + (size_t)r * row_stride;
        AVX512_UNROLL for (int t = 0; t < n_tokens; t++) {
            const float *xt = (const float *)(x + (size_t)t * x_row_bytes);
            float sum = x86_lanes16_sum(_mm512_castps512_ps256(acc[r][t]),
                                        _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(acc[r][t]), 1)));
            for (int64_t i = n_main; i < n_cols; i++) sum = fmaf(x86_weight_at(type, row, i), xt[i], sum);
            y[t * y_stride + r] = sum;
        }
    }
}

#define FLOAT_TILE_CASE(rows, count)                                                                           \
    case count: float_tile(type, w, row_stride, step, rows, x, x_row_bytes, count, n_cols, y, y_stride); break;

/* n_tokens (1 to FLOAT_TOKENS) as a constant: FLOAT_ROWS rows or one. */
AVX512_INLINE void float_tile_rows(uint32_t type, const uint8_t *w, size_t row_stride, size_t step, const int n_rows,
                                   const uint8_t *x, size_t x_row_bytes, int n_tokens, int64_t n_cols, float *y,
                                   int64_t y_stride) {
    if (n_rows == FLOAT_ROWS) {
        switch (n_tokens) {
            FLOAT_TILE_CASE(FLOAT_ROWS, 1) FLOAT_TILE_CASE(FLOAT_ROWS, 2) FLOAT_TILE_CASE(FLOAT_ROWS, 3)
            FLOAT_TILE_CASE(FLOAT_ROWS, 4) FLOAT_TILE_CASE(FLOAT_ROWS, 5) FLOAT_TILE_CASE(FLOAT_ROWS, 6)
        default: break;
        }
        return;
    }
    switch (n_tokens) {
        FLOAT_TILE_CASE(1, 1) FLOAT_TILE_CASE(1, 2) FLOAT_TILE_CASE(1, 3)
        FLOAT_TILE_CASE(1, 4) FLOAT_TILE_CASE(1, 5) FLOAT_TILE_CASE(1, 6)
    default: break;
    }
}

/* Rows [0, n_rows) with FLOAT_ROWS-row tiles (the last rows one at a time). */
AVX512_INLINE void float_rows_by_tokens(uint32_t type, const uint8_t *w, size_t row_stride, size_t step, int64_t n_rows,
                                        const uint8_t *x, size_t x_row_bytes, int64_t n_tokens, int64_t n_cols,
                                        float *y, int64_t y_stride) {
    for (int64_t r = 0; r < n_rows; r += FLOAT_ROWS) {
        int full = n_rows - r >= FLOAT_ROWS;
        for (int k = 0; k < (full ? 1 : (int)(n_rows - r)); k++) {
            for (int64_t t = 0; t < n_tokens; t += FLOAT_TOKENS) {
                int group = n_tokens - t < FLOAT_TOKENS ? (int)(n_tokens - t) : FLOAT_TOKENS;
                float_tile_rows(type, w + (size_t)(r + k) * row_stride, row_stride, step, full ? FLOAT_ROWS : 1,
                                x + (size_t)t * x_row_bytes, x_row_bytes, group, n_cols, y + t * y_stride + r + k,
                                y_stride);
            }
        }
    }
}

#define AVX512_GEMM_FLOAT(name, type)                                                                           \
    static void name(const uint8_t *w, size_t w_row_bytes, int64_t n_rows, const uint8_t *x,                    \
                     size_t x_row_bytes, int64_t n_tokens, int64_t n_cols, float *y, int64_t y_stride) {           \
        float_rows_by_tokens(type, w, w_row_bytes, (size_t)(16 * float_bytes(type)), n_rows, x, x_row_bytes,    \
                             n_tokens, n_cols, y, y_stride);                                                    \
    }

AVX512_GEMM_FLOAT(avx512_gemm_f32, GGML_TYPE_F32)
AVX512_GEMM_FLOAT(avx512_gemm_f16, GGML_TYPE_F16)
AVX512_GEMM_FLOAT(avx512_gemm_bf16, GGML_TYPE_BF16)

/* tile16 float matrices (n_rows a multiple of 16, n_cols of 16): a decode token takes a
 * tile's 16 rows at once, so the matrix is read front to back in one stream; more
 * tokens take it FLOAT_ROWS rows at a time (compute-bound; the tile stays in L2). */
AVX512_INLINE void float_tile16_gemm(uint32_t type, const uint8_t *w, size_t w_row_bytes, int64_t n_rows,
                                     const uint8_t *x, size_t x_row_bytes, int64_t n_tokens, int64_t n_cols,
                                     float *y, int64_t y_stride) {
    const size_t row_stride = (size_t)(16 * float_bytes(type)), step = CPU_TILE_ROWS * row_stride;
    for (int64_t r = 0; r < n_rows; r += CPU_TILE_ROWS) {
        const uint8_t *tile = w + (size_t)r * w_row_bytes;
        if (n_tokens == 1)
            float_tile(type, tile, row_stride, step, FLOAT_DECODE_ROWS, x, x_row_bytes, 1, n_cols, y + r, y_stride);
        else
            float_rows_by_tokens(type, tile, row_stride, step, CPU_TILE_ROWS, x, x_row_bytes, n_tokens, n_cols, y + r,
                                 y_stride);
    }
}

#define AVX512_TILE16_FLOAT(name, type)                                                                   \
    static void name(const uint8_t *w, size_t w_row_bytes, int64_t n_rows, const uint8_t *x,              \
                     size_t x_row_bytes, int64_t n_tokens, int64_t n_cols, float *y, int64_t y_stride) {     \
        float_tile16_gemm(type, w, w_row_bytes, n_rows, x, x_row_bytes, n_tokens, n_cols, y, y_stride);   \
    }

AVX512_TILE16_FLOAT(avx512_tile16_f32, GGML_TYPE_F32)
AVX512_TILE16_FLOAT(avx512_tile16_f16, GGML_TYPE_F16)
AVX512_TILE16_FLOAT(avx512_tile16_bf16, GGML_TYPE_BF16)

static const cpu_kernels avx512_kernels = {
    .name = "avx512",
    .gemm = {
        [GGML_TYPE_F32] = avx512_gemm_f32, [GGML_TYPE_F16] = avx512_gemm_f16, [GGML_TYPE_BF16] = avx512_gemm_bf16,
        [GGML_TYPE_Q4_0] = avx512_gemm_q4_0, [GGML_TYPE_Q4_1] = avx512_gemm_q4_1,
        [GGML_TYPE_Q5_0] = avx512_gemm_q5_0, [GGML_TYPE_Q5_1] = avx512_gemm_q5_1,
        [GGML_TYPE_Q8_0] = avx512_gemm_q8_0, [GGML_TYPE_Q4_K] = avx512_gemm_q4_K,
        [GGML_TYPE_Q5_K] = avx512_gemm_q5_K, [GGML_TYPE_Q6_K] = avx512_gemm_q6_K,
    },
    .gemm_tile16 = {
        [GGML_TYPE_F32] = avx512_tile16_f32, [GGML_TYPE_F16] = avx512_tile16_f16, [GGML_TYPE_BF16] = avx512_tile16_bf16,
        CPU_TILE_KERNELS_TABLE(avx512),
    },
    .quantize_q8a = cpu_quantize_act_q8a_avx512,
    .quantize_q8k = cpu_quantize_act_q8k_avx512,
};

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

const cpu_kernels *cpu_kernels_avx512(void) { return &avx512_kernels; }

#else
const cpu_kernels *cpu_kernels_avx512(void) { return NULL; }
#endif
