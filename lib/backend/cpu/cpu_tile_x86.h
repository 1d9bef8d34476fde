/* Matrix kernels over tile16 weights (layout in cpu_tile.h), written once over 16-lane
 * vectors and included by cpu_tile_avx512.c (one zmm per vector, vpdpbusd) and
 * cpu_tile_avx2.c (two ymm, vpmaddubsw + vpmaddwd), each under its target pragma.
 *
 * A tile's 16 rows sit one per 32-bit lane, so each 64-byte load of levels is a ready
 * 4-byte dot operand against 4 broadcast activation bytes: no shuffles, no horizontal
 * sums. Each (row, token) output is the float chain of cpu_dot.c (exact int32 block
 * sum, zero point removed through the activation block's sum, then one fmaf per block in
 * block order), the lanes being 16 independent chains, so results are bit-identical to
 * the row-layout kernels and to the scalar table.
 *  - decode (under 4 tokens): the matrix is one linear stream (tiles are contiguous,
 *    each block group's scales follow its levels), prefetched ahead in software where
 *    that measured faster than the hardware prefetcher alone (below).
 *  - prefill: a tile's blocks are read per chunk (L1-resident) for groups of tokens
 *    (TILE_TOKEN_GROUP; K-quants: 4 super-blocks, TILE_K_TOKEN_GROUP tokens), each token
 *    broadcasting 4 activation bytes per load.
 *
 * The includer defines, as always-inline functions over its types:
 *   vi (16 int32 lanes, lane r = row r of the tile) and vf (16 floats);
 *   vi_load(p) (64 bytes), vi_zero(), vi_set1(int32), vi_bytes(int8, in every byte),
 *   vi_and, vi_or, vi_add, vi_mullo (32-bit), vi_srli16/vi_slli16 (16-bit shifts),
 *   vi_srli32/vi_slli32/vi_srai32;
 *   vp, partial sums of dot steps: vp_begin(acc), vp_dot(p, w, x) (one step: per lane
 *     the sum of its 4 unsigned bytes of w times the 4 signed bytes of x, a broadcast
 *     word), vp_end(acc, p) (acc plus the steps since vp_begin, exactly). AVX2 keeps
 *     them in int16 lanes (one vpmaddwd per flush instead of per step), so at most
 *     words_per_flush() steps of levels up to 15, 31 or 63 go between a vp_begin and
 *     its vp_end;
 *   vi_dot_q8(acc, w, x): one step into acc directly, for Q8_0's levels, with
 *     TILE_Q8_ZERO_POINT the zero point they carry (128: flipped unsigned; 0: signed);
 *   vf_zero(), vf_set1(f), vf_fmadd(a, b, c) (a * b + c, one rounding), vf_mul,
 *   vf_from_vi (int32 -> float), vf_halves(p) (16 fp16 at p), vf_store(p, v);
 *   TILE_FN(name) (the exported name of kernel `name`), TILE_UNROLL, TILE_INLINE,
 *   TILE_TOKEN_GROUP (at most 8) and TILE_K_TOKEN_GROUP (at most 4);
 *   TILE_SCALED_HIGH_NIBBLES: 1 where vi_dot_q8 sums unsigned bytes up to 240 into int32
 *     exactly (vpdpbusd), 0 otherwise. */

/* Decode of Q8_0 prefetches every line of the stream 2 KiB ahead into L2 (T1), and Q6_K
 * 8 KiB ahead (its ql and qh parts are two streams a few KiB apart, which the hardware
 * prefetcher alone follows at about half speed), a quarter of a super-block's 53 lines
 * before each quarter of its work (one burst of 53: one thread ~21 GB/s, spread: ~25).
 * Q4_0, Q4_1, Q5_0, Q5_1 and Q4_K have no software prefetch: the hardware prefetcher
 * alone did as well or better (bench_matmul, 2 threads, 15 alternating pairs of
 * binaries: Q4_0 35.3 -> 36.0 GB/s, Q4_1 38.0 -> 38.3, Q5_0 30.5 -> 33.2; Q4_0 reached
 * 49-54 GB/s in the VM's high-bandwidth moments without, 43-48 with; Q4_K's 36-line
 * bursts measured ~20% slower, one thread 19 -> 24 GB/s). Q5_K needs it (2 threads:
 * ~18 GB/s without, 24-31 with), 8 KiB ahead, a quarter of a super-block's 44 lines per
 * chunk of 64 elements (all 44 at once: 23-27 GB/s). Measured on the 2-core VM,
 * whose memory bandwidth itself varies from run to run: T1 did at least as well as T0.
 * Build with -DTILE_PREFETCH_HINT=... and -DQ4_PREFETCH_BYTES=... (Q5_, Q8_, Q5K_, Q6K_)
 * to measure other choices (0 turns a type's prefetch off). */
#ifndef TILE_PREFETCH_HINT
#define TILE_PREFETCH_HINT _MM_HINT_T1
#endif
#ifndef Q4_PREFETCH_BYTES
#define Q4_PREFETCH_BYTES 0
#endif
#ifndef Q5_PREFETCH_BYTES
#define Q5_PREFETCH_BYTES 0
#endif
#ifndef Q8_PREFETCH_BYTES
#define Q8_PREFETCH_BYTES 2048
#endif
#ifndef Q5K_PREFETCH_BYTES
#define Q5K_PREFETCH_BYTES 8192
#endif
#ifndef Q6K_PREFETCH_BYTES
#define Q6K_PREFETCH_BYTES 8192
#endif

/* How far ahead decode prefetches a matrix of this type (0: not at all). */
TILE_INLINE size_t decode_prefetch_bytes(uint32_t type) {
    switch (type) {
    case GGML_TYPE_Q4_0: case GGML_TYPE_Q4_1: return Q4_PREFETCH_BYTES;
    case GGML_TYPE_Q5_0: case GGML_TYPE_Q5_1: return Q5_PREFETCH_BYTES;
    case GGML_TYPE_Q8_0: return Q8_PREFETCH_BYTES;
    case GGML_TYPE_Q5_K: return Q5K_PREFETCH_BYTES;
    case GGML_TYPE_Q6_K: return Q6K_PREFETCH_BYTES;
    default: return 0;
    }
}
enum { PREFILL_MIN_TOKENS = 4, PREFILL_CHUNK_BLOCKS = 32,
       PREFILL_TOKEN_GROUP = TILE_TOKEN_GROUP, K_PREFILL_BLOCKS = 4, K_TOKEN_GROUP = TILE_K_TOKEN_GROUP };

/* The grouped layout of cpu_tile.h: per block (16 rows) level bytes and header bytes,
 * and how many blocks form a group (their levels, then their headers). */
TILE_INLINE size_t block_level_bytes(uint32_t type) {
    switch (type) {
    case GGML_TYPE_Q8_0: return 512;
    case GGML_TYPE_Q5_0: case GGML_TYPE_Q5_1: return 320;
    case GGML_TYPE_Q4_K: return 2048;
    case GGML_TYPE_Q5_K: return 2560;
    case GGML_TYPE_Q6_K: return 3072;
    default: return 256;
    }
}

TILE_INLINE size_t block_header_bytes(uint32_t type) {
    switch (type) {
    case GGML_TYPE_Q4_1: case GGML_TYPE_Q5_1: return 64;
    case GGML_TYPE_Q4_K: case GGML_TYPE_Q5_K: return 256;
    case GGML_TYPE_Q6_K: return 288;
    default: return 32;
    }
}

TILE_INLINE size_t group_blocks(uint32_t type) {
    return type == GGML_TYPE_Q4_1 || type == GGML_TYPE_Q5_1 || type == GGML_TYPE_Q4_K || type == GGML_TYPE_Q5_K ? 1 : 2;
}

TILE_INLINE const uint8_t *group_of(uint32_t type, const uint8_t *tile, int64_t b) {
    size_t g = group_blocks(type);
    return tile + (size_t)b / g * g * (block_level_bytes(type) + block_header_bytes(type));
}

TILE_INLINE const uint8_t *block_levels(uint32_t type, const uint8_t *tile, int64_t b) {
    return group_of(type, tile, b) + (size_t)b % group_blocks(type) * block_level_bytes(type);
}

TILE_INLINE const uint8_t *block_header(uint32_t type, const uint8_t *tile, int64_t b) {
    return group_of(type, tile, b) + group_blocks(type) * block_level_bytes(type) +
           (size_t)b % group_blocks(type) * block_header_bytes(type);
}

/* Block b's share of the tile's byte stream starts here (exact at group starts). */
TILE_INLINE const uint8_t *stream_at(uint32_t type, const uint8_t *tile, int64_t b) {
    return tile + (size_t)b * (block_level_bytes(type) + block_header_bytes(type));
}
TILE_INLINE int zero_point(uint32_t type) {
    return type == GGML_TYPE_Q4_0 ? 8 : type == GGML_TYPE_Q5_0 ? 16 : type == GGML_TYPE_Q8_0 ? TILE_Q8_ZERO_POINT : 0;
}
TILE_INLINE int has_min(uint32_t type) { return type == GGML_TYPE_Q4_1 || type == GGML_TYPE_Q5_1; }

/* Bit `from` of every byte moved to bit 4, the rest cleared. Shifts are 16-bit (there
 * are no byte shifts), but by at most 4 places, so bit 4 of each byte comes from its own
 * byte. */
TILE_INLINE vi fifth_bit(vi bits, const int from) {
    vi moved = from < 4 ? vi_slli16(bits, (unsigned)(4 - from))
                  : from > 4 ? vi_srli16(bits, (unsigned)(from - 4)) : bits;
    return vi_and(moved, vi_bytes(0x10));
}

/* Word k (0..7) of block `levels`: 16 rows' unsigned levels of elements 4k..4k+3
 * (Q5_0/Q5_1: the nibbles, then one line of fifth bits, bit-major: word k's at bit k). */
TILE_INLINE vi tile_levels(uint32_t type, const uint8_t *levels, int k) {
    if (type == GGML_TYPE_Q8_0) return vi_load(levels + 64 * k);
    vi packed = vi_load(levels + 64 * (k % 4));
    if (k >= 4) packed = vi_srli16(packed, 4);
    vi nibbles = vi_and(packed, vi_bytes(0x0f));
    if (type != GGML_TYPE_Q5_0 && type != GGML_TYPE_Q5_1) return nibbles;
    return vi_or(nibbles, fifth_bit(vi_load(levels + 256), k));
}

/* How many 4-byte dot steps of this type's levels a vp may hold: each int16 lane of it
 * gains at most 2 x 127 x the top level per step, and must stay within 32767. */
TILE_INLINE int words_per_flush(uint32_t type) {
    switch (type) {
    case GGML_TYPE_Q5_0: case GGML_TYPE_Q5_1: case GGML_TYPE_Q5_K: return 4;    /* levels <= 31 */
    case GGML_TYPE_Q6_K: return 2;                                               /* <= 63 */
    default: return 8;                                                           /* <= 15 */
    }
}

/* Whether step k (from 0) of a run of steps ends a flush group. */
TILE_INLINE int flush_after(uint32_t type, int k) { return (k + 1) % words_per_flush(type) == 0; }

TILE_INLINE vi act_word(const cpu_block_q8a *x, int k) {
    int32_t word;
    memcpy(&word, x->qs + 4 * k, 4);
    return vi_set1(word);
}

/* The per-block float chain of cpu_dot.c for 16 rows. */
TILE_INLINE vf tile_chain(uint32_t type, vf acc, vi sums, const uint8_t *header, const cpu_block_q8a *x) {
    vf d = vf_halves(header);
    acc = vf_fmadd(vf_from_vi(sums), vf_mul(d, vf_set1(x->d)), acc);
    if (has_min(type)) {
        vf m = vf_halves(header + 32);
        acc = vf_fmadd(m, vf_set1(x->s), acc);
    }
    return acc;
}

/* Q4_0/Q4_1 decode with TILE_SCALED_HIGH_NIBBLES: the low nibbles (words 0-3) and the
 * high nibbles left in place (words 4-7, each level times 16: one and instead of a shift
 * and an and) in two chains; the second chain's sum, a multiple of 16, is shifted back
 * exactly once. Only for int32 steps (vpdpbusd): int16 pairs would saturate. */
TILE_INLINE vi block_sums_scaled_high(const uint8_t *levels, const cpu_block_q8a *x, int zero) {
    const vi low_mask = vi_bytes(0x0f), high_mask = vi_bytes((int8_t)0xf0);
    vi low = vi_set1(-zero * x->sum), high = vi_zero();
    TILE_UNROLL for (int k = 0; k < 4; k++) {
        vi packed = vi_load(levels + 64 * k);
        low = vi_dot_q8(low, vi_and(packed, low_mask), act_word(x, k));
        high = vi_dot_q8(high, vi_and(packed, high_mask), act_word(x, k + 4));
    }
    return vi_add(low, vi_srai32(high, 4));
}

/* Block b's exact integer sums for one token: two chains of four dot steps for overlap
 * (four steps fit one flush group for levels up to 31). */
TILE_INLINE vi block_sums(uint32_t type, const uint8_t *levels, const cpu_block_q8a *x) {
    if (TILE_SCALED_HIGH_NIBBLES && (type == GGML_TYPE_Q4_0 || type == GGML_TYPE_Q4_1))
        return block_sums_scaled_high(levels, x, zero_point(type));
    vi even = vi_set1(-zero_point(type) * x->sum), odd = vi_zero();
    if (type == GGML_TYPE_Q8_0) {
        TILE_UNROLL for (int k = 0; k < 8; k += 2) {
            even = vi_dot_q8(even, tile_levels(type, levels, k), act_word(x, k));
            odd = vi_dot_q8(odd, tile_levels(type, levels, k + 1), act_word(x, k + 1));
        }
        return vi_add(even, odd);
    }
    vp even_part = vp_begin(even), odd_part = vp_begin(odd);
    TILE_UNROLL for (int k = 0; k < 8; k += 2) {
        even_part = vp_dot(even_part, tile_levels(type, levels, k), act_word(x, k));
        odd_part = vp_dot(odd_part, tile_levels(type, levels, k + 1), act_word(x, k + 1));
    }
    return vi_add(vp_end(even, even_part), vp_end(odd, odd_part));
}

TILE_INLINE void prefetch_lines(const uint8_t *from, int n_lines) {
    for (int i = 0; i < n_lines; i++) _mm_prefetch((const char *)from + 64 * i, TILE_PREFETCH_HINT);
}

/* One tile, one token: one linear stream (tiles follow each other), every line of it
 * prefetched a fixed distance ahead. */
TILE_INLINE void tile_decode(uint32_t type, const uint8_t *tile, int64_t n_blocks, const cpu_block_q8a *x, float *y) {
    const int pair_lines = (int)(2 * (block_level_bytes(type) + block_header_bytes(type)) / 64);
    vf acc = vf_zero();
    for (int64_t b = 0; b < n_blocks; b += 2) {
        if (decode_prefetch_bytes(type) > 0) prefetch_lines(stream_at(type, tile, b) + decode_prefetch_bytes(type), pair_lines);
        TILE_UNROLL for (int j = 0; j < 2; j++)
            acc = tile_chain(type, acc, block_sums(type, block_levels(type, tile, b + j), x + b + j),
                             block_header(type, tile, b + j), x + b + j);
    }
    vf_store(y, acc);
}

/* n_tokens (a constant after inlining) tokens against blocks [b0, b0 + n) of a tile. */
TILE_INLINE void tile_prefill_group(uint32_t type, const uint8_t *tile, int64_t b0, int64_t n, const uint8_t *x,
                                    size_t x_row_bytes, const int n_tokens, vf *acc) {
    for (int64_t b = b0; b < b0 + n; b++) {
        const cpu_block_q8a *xb[PREFILL_TOKEN_GROUP];
        vi sums[PREFILL_TOKEN_GROUP];
        TILE_UNROLL for (int t = 0; t < n_tokens; t++) {
            xb[t] = (const cpu_block_q8a *)(x + (size_t)t * x_row_bytes) + b;
            sums[t] = vi_set1(-zero_point(type) * xb[t]->sum);
        }
        if (type == GGML_TYPE_Q8_0) {
            TILE_UNROLL for (int k = 0; k < 8; k++) {
                vi word = tile_levels(type, block_levels(type, tile, b), k);
                TILE_UNROLL for (int t = 0; t < n_tokens; t++) sums[t] = vi_dot_q8(sums[t], word, act_word(xb[t], k));
            }
        } else {
            vp parts[PREFILL_TOKEN_GROUP];
            TILE_UNROLL for (int t = 0; t < n_tokens; t++) parts[t] = vp_begin(sums[t]);
            TILE_UNROLL for (int k = 0; k < 8; k++) {
                vi word = tile_levels(type, block_levels(type, tile, b), k);
                TILE_UNROLL for (int t = 0; t < n_tokens; t++) parts[t] = vp_dot(parts[t], word, act_word(xb[t], k));
                if (flush_after(type, k)) {
                    TILE_UNROLL for (int t = 0; t < n_tokens; t++) {
                        sums[t] = vp_end(sums[t], parts[t]);
                        parts[t] = vp_begin(sums[t]);
                    }
                }
            }
        }
        TILE_UNROLL for (int t = 0; t < n_tokens; t++)
            acc[t] = tile_chain(type, acc[t], sums[t], block_header(type, tile, b), xb[t]);
    }
}

#define PREFILL_CASE(count) \
    case count: tile_prefill_group(type, tile, b0, n, x, x_row_bytes, count, acc); break;

TILE_INLINE void tile_prefill_tokens(uint32_t type, const uint8_t *tile, int64_t b0, int64_t n, const uint8_t *x,
                                     size_t x_row_bytes, int n_tokens, vf *acc) {
    switch (n_tokens) {
        PREFILL_CASE(1) PREFILL_CASE(2) PREFILL_CASE(3) PREFILL_CASE(4)
#if TILE_TOKEN_GROUP > 4
        PREFILL_CASE(5) PREFILL_CASE(6) PREFILL_CASE(7) PREFILL_CASE(8)
#endif
    default: break;
    }
}

/* One tile against up to 64 tokens. */
TILE_INLINE void tile_prefill(uint32_t type, const uint8_t *tile, int64_t n_blocks, const uint8_t *x,
                              size_t x_row_bytes, int64_t n_tokens, float *y, int64_t y_stride) {
    vf acc[64];
    for (int64_t t = 0; t < n_tokens; t++) acc[t] = vf_zero();
    for (int64_t b0 = 0; b0 < n_blocks; b0 += PREFILL_CHUNK_BLOCKS) {
        int64_t n = n_blocks - b0 < PREFILL_CHUNK_BLOCKS ? n_blocks - b0 : PREFILL_CHUNK_BLOCKS;
        for (int64_t t = 0; t < n_tokens; t += PREFILL_TOKEN_GROUP) {
            int group = n_tokens - t < PREFILL_TOKEN_GROUP ? (int)(n_tokens - t) : PREFILL_TOKEN_GROUP;
            tile_prefill_tokens(type, tile, b0, n, x + (size_t)t * x_row_bytes, x_row_bytes, group, acc + t);
        }
    }
    for (int64_t t = 0; t < n_tokens; t++) vf_store(y + t * y_stride, acc[t]);
}

/* ---- K-quants (Q4_K, Q5_K, Q6_K): one 256-element super-block of a tile per step ----- */

TILE_INLINE vi act_word_k(const cpu_block_q8k *x, int element) {
    int32_t word;
    memcpy(&word, x->qs + element, 4);
    return vi_set1(word);
}

/* Byte `index` (0..3) of each lane's dword, zero- or sign-extended. */
TILE_INLINE vi lane_byte(vi words, int index) {
    return vi_and(vi_srli32(words, 8 * index), vi_set1(0xff));
}

TILE_INLINE vi lane_byte_signed(vi words, int index) {
    return vi_srai32(vi_slli32(words, 24 - 8 * index), 24);
}

/* The 16 rows' Q4_K/Q5_K scales and mins of one super-block as bytes of 16-lane dwords:
 * scales[0] bytes = sub-blocks 0-3, scales[1] = 4-7 (ggml's 6-bit packing). */
TILE_INLINE void q4k_scales_mins(const uint8_t *header, vi *scales, vi *mins) {
    const vi six = vi_set1(0x3f3f3f3f), four = vi_set1(0x0f0f0f0f);
    const vi two = vi_set1(0x03030303);
    vi w0 = vi_load(header + 64), w1 = vi_load(header + 128);
    vi w2 = vi_load(header + 192);
    scales[0] = vi_and(w0, six);
    scales[1] = vi_or(vi_and(w2, four), vi_slli32(vi_and(vi_srli32(w0, 6), two), 4));
    mins[0] = vi_and(w1, six);
    mins[1] = vi_or(vi_and(vi_srli32(w2, 4), four),
                              vi_slli32(vi_and(vi_srli32(w1, 6), two), 4));
}

/* Q4_K or Q5_K (type, a constant after inlining), one super-block of a tile against n
 * tokens (also a constant): sumi = sum_j scale_j * dot_j and summ = sum_j min_j * bsum_j
 * are exact, then the two fmaf of cpu_dot.c. Levels: for Q5_K 8 words of fifth bits
 * (word k: qh bytes 4k..; bit 2c is the low nibble's of chunk c, bit 2c + 1 the high
 * one's), then 32 words of nibbles (word 8c + k: bytes 32c + 4k.. of each row's qs, low
 * nibbles elements 64c + 4k.., high ones 64c + 32 + 4k..). Headers: d[16], dmin[16], then
 * the 12 scale bytes as 3 dwords. */
TILE_INLINE void q4k_superblock(uint32_t type, const uint8_t *levels, const uint8_t *header,
                                const cpu_block_q8k *const *x, const int n, vf *acc, const uint8_t *prefetch) {
    const int chunk_lines = (int)((block_level_bytes(type) + block_header_bytes(type)) / 64 / 4);
    const vi nibble = vi_bytes(0x0f);
    const uint8_t *qh = levels, *qs = type == GGML_TYPE_Q5_K ? levels + 512 : levels;
    vi scales[2], mins[2], sumi[K_TOKEN_GROUP], summ[K_TOKEN_GROUP];
    q4k_scales_mins(header, scales, mins);
    TILE_UNROLL for (int t = 0; t < n; t++) sumi[t] = summ[t] = vi_zero();
    TILE_UNROLL for (int c = 0; c < 4; c++) {
        vi lo[K_TOKEN_GROUP], hi[K_TOKEN_GROUP];
        vp lo_part[K_TOKEN_GROUP], hi_part[K_TOKEN_GROUP];
        TILE_UNROLL for (int t = 0; t < n; t++) {
            lo[t] = hi[t] = vi_zero();
            lo_part[t] = vp_begin(lo[t]);
            hi_part[t] = vp_begin(hi[t]);
        }
        if (prefetch != NULL) prefetch_lines(prefetch + 64 * chunk_lines * c, chunk_lines);
        TILE_UNROLL for (int k = 0; k < 8; k++) {
            vi packed = vi_load(qs + 64 * (8 * c + k));
            vi low = vi_and(packed, nibble), high = vi_and(vi_srli16(packed, 4), nibble);
            if (type == GGML_TYPE_Q5_K) {
                vi bits = vi_load(qh + 64 * k);
                low = vi_or(low, fifth_bit(bits, 2 * c));
                high = vi_or(high, fifth_bit(bits, 2 * c + 1));
            }
            TILE_UNROLL for (int t = 0; t < n; t++) {
                lo_part[t] = vp_dot(lo_part[t], low, act_word_k(x[t], 64 * c + 4 * k));
                hi_part[t] = vp_dot(hi_part[t], high, act_word_k(x[t], 64 * c + 32 + 4 * k));
                if (flush_after(type, k)) {
                    lo[t] = vp_end(lo[t], lo_part[t]);
                    hi[t] = vp_end(hi[t], hi_part[t]);
                    lo_part[t] = vp_begin(lo[t]);
                    hi_part[t] = vp_begin(hi[t]);
                }
            }
        }
        const int j = 2 * c;  /* sub-blocks j (low nibbles) and j + 1 (high nibbles) */
        vi scale_lo = lane_byte(scales[j / 4], j % 4), scale_hi = lane_byte(scales[(j + 1) / 4], (j + 1) % 4);
        vi min_lo = lane_byte(mins[j / 4], j % 4), min_hi = lane_byte(mins[(j + 1) / 4], (j + 1) % 4);
        TILE_UNROLL for (int t = 0; t < n; t++) {
            sumi[t] = vi_add(sumi[t], vi_add(vi_mullo(lo[t], scale_lo), vi_mullo(hi[t], scale_hi)));
            vi bsum_lo = vi_set1(x[t]->bsums[2 * j] + x[t]->bsums[2 * j + 1]);
            vi bsum_hi = vi_set1(x[t]->bsums[2 * j + 2] + x[t]->bsums[2 * j + 3]);
            summ[t] = vi_add(summ[t], vi_add(vi_mullo(min_lo, bsum_lo), vi_mullo(min_hi, bsum_hi)));
        }
    }
    vf d = vf_halves(header);
    vf dmin = vf_halves(header + 32);
    TILE_UNROLL for (int t = 0; t < n; t++) {
        acc[t] = vf_fmadd(vf_from_vi(sumi[t]), vf_mul(d, vf_set1(x[t]->d)), acc[t]);
        /* -(dmin * d_x) == dmin * -d_x exactly: rounding is symmetric in sign */
        acc[t] = vf_fmadd(vf_from_vi(summ[t]), vf_mul(dmin, vf_set1(-x[t]->d)), acc[t]);
    }
}

/* Q6_K against n tokens: levels are ql (32 words) then qh (16 words); headers the 16
 * int8 scales as 4 dwords, then d[16]. Level = low nibble | 2 high bits << 4, minus 32
 * (removed exactly through the activation's bsums). */
TILE_INLINE void q6k_superblock(const uint8_t *levels, const uint8_t *header, const cpu_block_q8k *const *x, const int n,
                                vf *acc, const uint8_t *prefetch) {
    const int quarter_lines = (int)((block_level_bytes(GGML_TYPE_Q6_K) + block_header_bytes(GGML_TYPE_Q6_K) + 255) / 256);
    const vi nibble = vi_bytes(0x0f), high_bits = vi_bytes(0x30);
    const uint8_t *ql = levels, *qh = levels + 2048;
    vi sumi[K_TOKEN_GROUP];
    TILE_UNROLL for (int t = 0; t < n; t++) sumi[t] = vi_zero();
    TILE_UNROLL for (int h = 0; h < 2; h++) {
        TILE_UNROLL for (int qq = 0; qq < 2; qq++) {
            if (prefetch != NULL) prefetch_lines(prefetch + 64 * quarter_lines * (2 * h + qq), quarter_lines);
            TILE_UNROLL for (int g4 = 0; g4 < 2; g4++) {
                const int g_lo = 8 * h + 2 * qq + g4, g_hi = 8 * h + 2 * (qq + 2) + g4;
                vi lo[K_TOKEN_GROUP], hi[K_TOKEN_GROUP];
                vp lo_part[K_TOKEN_GROUP], hi_part[K_TOKEN_GROUP];
                TILE_UNROLL for (int t = 0; t < n; t++) {
                    lo[t] = vi_set1(-32 * x[t]->bsums[g_lo]);
                    hi[t] = vi_set1(-32 * x[t]->bsums[g_hi]);
                    lo_part[t] = vp_begin(lo[t]);
                    hi_part[t] = vp_begin(hi[t]);
                }
                TILE_UNROLL for (int kk = 4 * g4; kk < 4 * g4 + 4; kk++) {
                    vi p = vi_load(ql + 64 * (16 * h + 8 * qq + kk));
                    vi bits = vi_load(qh + 64 * (8 * h + kk));
                    /* quarter qq takes qh bits 2qq..2qq+1, quarter qq + 2 bits 2qq+4..2qq+5 */
                    vi bits_lo = qq == 0 ? vi_slli16(bits, 4) : vi_slli16(bits, 2);
                    vi bits_hi = qq == 0 ? bits : vi_srli16(bits, 2);
                    vi level_lo = vi_or(vi_and(p, nibble), vi_and(bits_lo, high_bits));
                    vi level_hi = vi_or(vi_and(vi_srli16(p, 4), nibble), vi_and(bits_hi, high_bits));
                    TILE_UNROLL for (int t = 0; t < n; t++) {
                        lo_part[t] = vp_dot(lo_part[t], level_lo, act_word_k(x[t], 128 * h + 32 * qq + 4 * kk));
                        hi_part[t] = vp_dot(hi_part[t], level_hi, act_word_k(x[t], 128 * h + 32 * (qq + 2) + 4 * kk));
                        if (flush_after(GGML_TYPE_Q6_K, kk)) {
                            lo[t] = vp_end(lo[t], lo_part[t]);
                            hi[t] = vp_end(hi[t], hi_part[t]);
                            lo_part[t] = vp_begin(lo[t]);
                            hi_part[t] = vp_begin(hi[t]);
                        }
                    }
                }
                vi scale_lo = lane_byte_signed(vi_load(header + 64 * (g_lo / 4)), g_lo % 4);
                vi scale_hi = lane_byte_signed(vi_load(header + 64 * (g_hi / 4)), g_hi % 4);
                TILE_UNROLL for (int t = 0; t < n; t++)
                    sumi[t] = vi_add(sumi[t], vi_add(vi_mullo(lo[t], scale_lo), vi_mullo(hi[t], scale_hi)));
            }
        }
    }
    vf d = vf_halves(header + 256);
    TILE_UNROLL for (int t = 0; t < n; t++)
        acc[t] = vf_fmadd(vf_from_vi(sumi[t]), vf_mul(d, vf_set1(x[t]->d)), acc[t]);
}


/* prefetch: where to prefetch this super-block's share of the stream from (Q5_K spreads it
 * over the chunks), or NULL. */
TILE_INLINE void k_superblock(uint32_t type, const uint8_t *levels, const uint8_t *header, const cpu_block_q8k *const *x,
                              const int n, vf *acc, const uint8_t *prefetch) {
    if (type == GGML_TYPE_Q6_K) {
        q6k_superblock(levels, header, x, n, acc, prefetch);
    } else {
        q4k_superblock(type, levels, header, x, n, acc, prefetch);
    }
}

/* One tile, one token, super-block by super-block (Q5_K and Q6_K: the stream prefetched ahead). */
TILE_INLINE void tile_decode_k(uint32_t type, const uint8_t *tile, int64_t n_blocks, const cpu_block_q8k *x, float *y) {
    vf acc = vf_zero();
    for (int64_t b = 0; b < n_blocks; b++) {
        const cpu_block_q8k *xb = x + b;
        const uint8_t *prefetch = decode_prefetch_bytes(type) > 0 ? stream_at(type, tile, b) + decode_prefetch_bytes(type) : NULL;
        k_superblock(type, block_levels(type, tile, b), block_header(type, tile, b), &xb, 1, &acc, prefetch);
    }
    vf_store(y, acc);
}

/* n tokens (a constant after inlining) against super-blocks [b0, b0 + count) of a tile. */
TILE_INLINE void k_prefill_group(uint32_t type, const uint8_t *tile, int64_t b0, int64_t count, const uint8_t *x,
                                 size_t x_row_bytes, const int n, vf *acc) {
    for (int64_t b = b0; b < b0 + count; b++) {
        const cpu_block_q8k *xb[K_TOKEN_GROUP];
        TILE_UNROLL for (int t = 0; t < n; t++) xb[t] = (const cpu_block_q8k *)(x + (size_t)t * x_row_bytes) + b;
        k_superblock(type, block_levels(type, tile, b), block_header(type, tile, b), xb, n, acc, NULL);
    }
}

#define K_GROUP_CASE_T(count) \
    case count: k_prefill_group(type, tile, b0, n, xt, x_row_bytes, count, acc_t); break;

/* One tile against up to 64 tokens, a few super-blocks (L1-resident) at a time. */
TILE_INLINE void tile_prefill_k(uint32_t type, const uint8_t *tile, int64_t n_blocks, const uint8_t *x, size_t x_row_bytes,
                                int64_t n_tokens, float *y, int64_t y_stride) {
    vf acc[64];
    for (int64_t t = 0; t < n_tokens; t++) acc[t] = vf_zero();
    for (int64_t b0 = 0; b0 < n_blocks; b0 += K_PREFILL_BLOCKS) {
        int64_t n = n_blocks - b0 < K_PREFILL_BLOCKS ? n_blocks - b0 : K_PREFILL_BLOCKS;
        for (int64_t t0 = 0; t0 < n_tokens; t0 += K_TOKEN_GROUP) {
            int group = n_tokens - t0 < K_TOKEN_GROUP ? (int)(n_tokens - t0) : K_TOKEN_GROUP;
            const uint8_t *xt = x + (size_t)t0 * x_row_bytes;
            vf *acc_t = acc + t0;
            switch (group) {
                K_GROUP_CASE_T(1) K_GROUP_CASE_T(2)
#if TILE_K_TOKEN_GROUP > 2
                K_GROUP_CASE_T(3) K_GROUP_CASE_T(4)
#endif
            default: break;
            }
        }
    }
    for (int64_t t = 0; t < n_tokens; t++) vf_store(y + t * y_stride, acc[t]);
}

/* ---- the kernels: every tile of the rows, decode or prefill by token count ----------- */

TILE_INLINE int is_k_quant(uint32_t type) {
    return type == GGML_TYPE_Q4_K || type == GGML_TYPE_Q5_K || type == GGML_TYPE_Q6_K;
}

TILE_INLINE void tile_gemm(uint32_t type, const uint8_t *w, size_t w_row_bytes, int64_t n_rows, const uint8_t *x,
                           size_t x_row_bytes, int64_t n_tokens, int64_t n_cols, float *y, int64_t y_stride) {
    const int64_t n_blocks = n_cols / (is_k_quant(type) ? 256 : 32);
    const size_t tile_bytes = w_row_bytes * CPU_TILE_ROWS;
    for (int64_t r = 0; r < n_rows; r += CPU_TILE_ROWS) {
        const uint8_t *tile = w + (size_t)(r / CPU_TILE_ROWS) * tile_bytes;
        if (n_tokens >= PREFILL_MIN_TOKENS) {
            for (int64_t t0 = 0; t0 < n_tokens; t0 += 64) {
                int64_t nt = n_tokens - t0 < 64 ? n_tokens - t0 : 64;
                const uint8_t *xt = x + (size_t)t0 * x_row_bytes;
                float *yt = y + t0 * y_stride + r;
                if (is_k_quant(type)) tile_prefill_k(type, tile, n_blocks, xt, x_row_bytes, nt, yt, y_stride);
                else tile_prefill(type, tile, n_blocks, xt, x_row_bytes, nt, yt, y_stride);
            }
        } else {
            for (int64_t t = 0; t < n_tokens; t++) {
                const uint8_t *xt = x + (size_t)t * x_row_bytes;
                if (is_k_quant(type)) tile_decode_k(type, tile, n_blocks, (const cpu_block_q8k *)xt, y + t * y_stride + r);
                else tile_decode(type, tile, n_blocks, (const cpu_block_q8a *)xt, y + t * y_stride + r);
            }
        }
    }
}

#define TILE_GEMM(name, type)                                                                              \
    void name(const uint8_t *w, size_t w_row_bytes, int64_t n_rows, const uint8_t *x, size_t x_row_bytes, \
              int64_t n_tokens, int64_t n_cols, float *y, int64_t y_stride) {                             \
        tile_gemm(type, w, w_row_bytes, n_rows, x, x_row_bytes, n_tokens, n_cols, y, y_stride);           \
    }

TILE_GEMM(TILE_FN(q4_0), GGML_TYPE_Q4_0)
TILE_GEMM(TILE_FN(q4_1), GGML_TYPE_Q4_1)
TILE_GEMM(TILE_FN(q5_0), GGML_TYPE_Q5_0)
TILE_GEMM(TILE_FN(q5_1), GGML_TYPE_Q5_1)
TILE_GEMM(TILE_FN(q8_0), GGML_TYPE_Q8_0)
TILE_GEMM(TILE_FN(q4_K), GGML_TYPE_Q4_K)
TILE_GEMM(TILE_FN(q5_K), GGML_TYPE_Q5_K)
TILE_GEMM(TILE_FN(q6_K), GGML_TYPE_Q6_K)

