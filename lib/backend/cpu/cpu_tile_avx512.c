/* AVX-512 VNNI matrix kernels over tile16 weights (layout in cpu_tile.h).
 *
 * A tile's 16 rows sit one per 32-bit lane, so each 64-byte load of levels is a ready
 * vpdpbusd operand against 4 broadcast activation bytes: no shuffles, no horizontal
 * sums. Each (row, token) output is the float chain of cpu_dot.c (exact int32 block
 * sum, zero point removed through the activation block's sum, then one fmaf per block in
 * block order), the lanes being 16 independent chains, so results are bit-identical to
 * the row-layout kernels and to the scalar table.
 *  - decode (under 4 tokens): the matrix is one linear stream (tiles are contiguous);
 *    every cache line is prefetched a fixed distance ahead, which is what lets 2 cores
 *    reach the memory's streaming bandwidth (demand misses alone stall at ~60% of it).
 *  - prefill: a tile's levels are read per chunk of blocks (L1-resident) for groups of
 *    8 tokens, each token broadcasting 4 activation bytes per load. */
#include "backend/cpu/cpu_tile_avx512.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))

#include <immintrin.h>
#include <string.h>

#include "backend/cpu/cpu_quant.h"
#include "backend/cpu/cpu_tile.h"

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni"))), apply_to = function)
#define TILE_UNROLL _Pragma("unroll")
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")
#define TILE_UNROLL _Pragma("GCC unroll 16")
#endif

#define TILE_INLINE static inline __attribute__((always_inline))

/* Prefetch distance of the decode stream, in bytes (measured: 1-16 KiB all saturate the
 * memory of the 2-core VM; 2 KiB keeps the lines in flight within L1's reach). */
#ifndef TILE_PREFETCH_BYTES
#define TILE_PREFETCH_BYTES 2048
#endif
enum { DECODE_PREFETCH_BYTES = TILE_PREFETCH_BYTES, PREFILL_MIN_TOKENS = 4, PREFILL_CHUNK_BLOCKS = 32, PREFILL_TOKEN_GROUP = 8 };

TILE_INLINE int quant_bytes(uint32_t type) { return type == GGML_TYPE_Q8_0 ? 32 : 16; }
TILE_INLINE int header_fields(uint32_t type) { return type == GGML_TYPE_Q4_1 ? 2 : 1; }
TILE_INLINE int zero_point(uint32_t type) { return type == GGML_TYPE_Q4_0 ? 8 : type == GGML_TYPE_Q8_0 ? 128 : 0; }
TILE_INLINE int has_min(uint32_t type) { return type == GGML_TYPE_Q4_1; }

/* Word k (0..7) of block `levels`: 16 rows' unsigned levels of elements 4k..4k+3. */
TILE_INLINE __m512i tile_levels(uint32_t type, const uint8_t *levels, int k) {
    if (type == GGML_TYPE_Q8_0) return _mm512_loadu_si512((const void *)(levels + 64 * k));
    __m512i packed = _mm512_loadu_si512((const void *)(levels + 64 * (k % 4)));
    if (k >= 4) packed = _mm512_srli_epi16(packed, 4);
    return _mm512_and_si512(packed, _mm512_set1_epi8(0x0f));
}

TILE_INLINE __m512i act_word(const cpu_block_q8a *x, int k) {
    int32_t word;
    memcpy(&word, x->qs + 4 * k, 4);
    return _mm512_set1_epi32(word);
}

/* The per-block float chain of cpu_dot.c for 16 rows. */
TILE_INLINE __m512 tile_chain(uint32_t type, __m512 acc, __m512i sums, const uint8_t *header, const cpu_block_q8a *x) {
    __m512 d = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)header));
    acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sums), _mm512_mul_ps(d, _mm512_set1_ps(x->d)), acc);
    if (has_min(type)) {
        __m512 m = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(header + 32)));
        acc = _mm512_fmadd_ps(m, _mm512_set1_ps(x->s), acc);
    }
    return acc;
}

/* Block b's exact integer sums for one token: two chains of four vpdpbusd for overlap. */
TILE_INLINE __m512i block_sums(uint32_t type, const uint8_t *levels, const cpu_block_q8a *x) {
    __m512i even = _mm512_set1_epi32(-zero_point(type) * x->sum), odd = _mm512_setzero_si512();
    TILE_UNROLL for (int k = 0; k < 8; k += 2) {
        even = _mm512_dpbusd_epi32(even, tile_levels(type, levels, k), act_word(x, k));
        odd = _mm512_dpbusd_epi32(odd, tile_levels(type, levels, k + 1), act_word(x, k + 1));
    }
    return _mm512_add_epi32(even, odd);
}

TILE_INLINE void prefetch_lines(const uint8_t *from, int n_lines) {
    for (int i = 0; i < n_lines; i++) _mm_prefetch((const char *)from + 64 * i, _MM_HINT_T0);
}

/* One tile, one token. Prefetches the levels stream ahead and, at the start, the next
 * tile's first headers (they sit after that tile's levels, out of the stream's order). */
TILE_INLINE void tile_decode(uint32_t type, const uint8_t *tile, size_t tile_bytes, int64_t n_blocks,
                             const cpu_block_q8a *x, float *y) {
    const size_t level_bytes = (size_t)(16 * quant_bytes(type)), header_bytes = (size_t)(32 * header_fields(type));
    const uint8_t *levels = tile, *headers = tile + (size_t)n_blocks * level_bytes;
    prefetch_lines(tile + tile_bytes + (size_t)n_blocks * level_bytes, 4);
    __m512 acc = _mm512_setzero_ps();
    for (int64_t b = 0; b < n_blocks; b += 2) {
        const uint8_t *pair = levels + (size_t)b * level_bytes;
        prefetch_lines(pair + DECODE_PREFETCH_BYTES, (int)(2 * level_bytes / 64));
        _mm_prefetch((const char *)headers + (size_t)b * header_bytes + 512, _MM_HINT_T0);
        TILE_UNROLL for (int j = 0; j < 2; j++)
            acc = tile_chain(type, acc, block_sums(type, pair + j * level_bytes, x + b + j),
                             headers + (size_t)(b + j) * header_bytes, x + b + j);
    }
    _mm512_storeu_ps(y, acc);
}

/* n_tokens (a constant after inlining) tokens against blocks [b0, b0 + n) of a tile. */
TILE_INLINE void tile_prefill_group(uint32_t type, const uint8_t *levels, const uint8_t *headers, int64_t b0, int64_t n,
                                    const uint8_t *x, size_t x_row_bytes, const int n_tokens, __m512 *acc) {
    const size_t level_bytes = (size_t)(16 * quant_bytes(type)), header_bytes = (size_t)(32 * header_fields(type));
    for (int64_t b = b0; b < b0 + n; b++) {
        const cpu_block_q8a *xb[PREFILL_TOKEN_GROUP];
        __m512i sums[PREFILL_TOKEN_GROUP];
        TILE_UNROLL for (int t = 0; t < n_tokens; t++) {
            xb[t] = (const cpu_block_q8a *)(x + (size_t)t * x_row_bytes) + b;
            sums[t] = _mm512_set1_epi32(-zero_point(type) * xb[t]->sum);
        }
        TILE_UNROLL for (int k = 0; k < 8; k++) {
            __m512i word = tile_levels(type, levels + (size_t)b * level_bytes, k);
            TILE_UNROLL for (int t = 0; t < n_tokens; t++) sums[t] = _mm512_dpbusd_epi32(sums[t], word, act_word(xb[t], k));
        }
        TILE_UNROLL for (int t = 0; t < n_tokens; t++)
            acc[t] = tile_chain(type, acc[t], sums[t], headers + (size_t)b * header_bytes, xb[t]);
    }
}

#define PREFILL_CASE(count) \
    case count: tile_prefill_group(type, levels, headers, b0, n, x, x_row_bytes, count, acc); break;

TILE_INLINE void tile_prefill_tokens(uint32_t type, const uint8_t *levels, const uint8_t *headers, int64_t b0, int64_t n,
                                     const uint8_t *x, size_t x_row_bytes, int n_tokens, __m512 *acc) {
    switch (n_tokens) {
        PREFILL_CASE(1) PREFILL_CASE(2) PREFILL_CASE(3) PREFILL_CASE(4)
        PREFILL_CASE(5) PREFILL_CASE(6) PREFILL_CASE(7) PREFILL_CASE(8)
    default: break;
    }
}

/* One tile against up to 64 tokens. */
TILE_INLINE void tile_prefill(uint32_t type, const uint8_t *tile, int64_t n_blocks, const uint8_t *x,
                              size_t x_row_bytes, int64_t n_tokens, float *y, int64_t y_stride) {
    const uint8_t *headers = tile + (size_t)n_blocks * (size_t)(16 * quant_bytes(type));
    __m512 acc[64];
    for (int64_t t = 0; t < n_tokens; t++) acc[t] = _mm512_setzero_ps();
    for (int64_t b0 = 0; b0 < n_blocks; b0 += PREFILL_CHUNK_BLOCKS) {
        int64_t n = n_blocks - b0 < PREFILL_CHUNK_BLOCKS ? n_blocks - b0 : PREFILL_CHUNK_BLOCKS;
        for (int64_t t = 0; t < n_tokens; t += PREFILL_TOKEN_GROUP) {
            int group = n_tokens - t < PREFILL_TOKEN_GROUP ? (int)(n_tokens - t) : PREFILL_TOKEN_GROUP;
            tile_prefill_tokens(type, tile, headers, b0, n, x + (size_t)t * x_row_bytes, x_row_bytes, group, acc + t);
        }
    }
    for (int64_t t = 0; t < n_tokens; t++) _mm512_storeu_ps(y + t * y_stride, acc[t]);
}

TILE_INLINE void tile_gemm(uint32_t type, const uint8_t *w, size_t w_row_bytes, int64_t n_rows, const uint8_t *x,
                           size_t x_row_bytes, int64_t n_tokens, int64_t n_cols, float *y, int64_t y_stride) {
    const int64_t n_blocks = n_cols / 32;
    const size_t tile_bytes = w_row_bytes * CPU_TILE_ROWS;
    for (int64_t r = 0; r < n_rows; r += CPU_TILE_ROWS) {
        const uint8_t *tile = w + (size_t)(r / CPU_TILE_ROWS) * tile_bytes;
        if (n_tokens >= PREFILL_MIN_TOKENS) {
            for (int64_t t0 = 0; t0 < n_tokens; t0 += 64) {
                int64_t nt = n_tokens - t0 < 64 ? n_tokens - t0 : 64;
                tile_prefill(type, tile, n_blocks, x + (size_t)t0 * x_row_bytes, x_row_bytes, nt, y + t0 * y_stride + r,
                             y_stride);
            }
        } else {
            for (int64_t t = 0; t < n_tokens; t++)
                tile_decode(type, tile, tile_bytes, n_blocks, (const cpu_block_q8a *)(x + (size_t)t * x_row_bytes),
                            y + t * y_stride + r);
        }
    }
}

#define TILE_GEMM(name, type)                                                                              \
    void name(const uint8_t *w, size_t w_row_bytes, int64_t n_rows, const uint8_t *x, size_t x_row_bytes, \
                     int64_t n_tokens, int64_t n_cols, float *y, int64_t y_stride) {                       \
        tile_gemm(type, w, w_row_bytes, n_rows, x, x_row_bytes, n_tokens, n_cols, y, y_stride);           \
    }

TILE_GEMM(cpu_tile16_avx512_q4_0, GGML_TYPE_Q4_0)
TILE_GEMM(cpu_tile16_avx512_q4_1, GGML_TYPE_Q4_1)
TILE_GEMM(cpu_tile16_avx512_q8_0, GGML_TYPE_Q8_0)

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

#endif
