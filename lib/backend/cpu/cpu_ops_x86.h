/* x86 SIMD bodies of the cpu_ops kernel table, included by cpu_ops_avx2.c (8 lanes) and
 * cpu_ops_avx512.c (16 lanes) after they define the vector helpers (vf_*, vm_*) and
 * under their target pragma. Every lane performs exactly the scalar sequence of
 * cpu_ops.c and cpu_exp.h, so the tables agree bit for bit.
 *
 * Attention layout: a unit's VW query rows sit in the lanes. Q is transposed once into
 * qt[d][lane]; per tile the 16 K and V rows are converted to float once (F16 through
 * vcvtph2ps, Q8_0 as q * scale) into kt/vt [key][d] (F32 rows inside one block are read in place), and each
 * score s_k = sum_d q[d] k[d] is one fma chain over d with k[d] broadcast, so the 16 keys
 * are 16 independent accumulators and no horizontal sum is needed. The running max, sum
 * and the output accumulator acc[d][lane] are per lane too; keys past a lane's own
 * position are masked (score -inf, accumulator untouched), which leaves that lane's
 * sequence exactly what it is when the row is computed alone. */
#include <immintrin.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend/cpu/cpu_exp.h"
#include "backend/cpu/cpu_fp16.h"
#include "backend/cpu/cpu_ops.h"

#define X86_INLINE static inline __attribute__((always_inline))
#if defined(__clang__)
#define X86_UNROLL _Pragma("unroll")
#else
#define X86_UNROLL _Pragma("GCC unroll 16")
#endif

enum { TILE = CPU_ATTENTION_TILE };

/* cpu_exp for x <= CPU_EXP_MAX_X or NaN, e.g. softmax weights and rescale factors (a
 * score minus a maximum at least as large): without x86_exp's steps for larger x. */
X86_INLINE vf x86_exp_nonpositive(vf x) {
    vf clamped = vf_max(vf_set1(CPU_EXP_MIN_X), x);
    vf n = vf_round(vf_mul(clamped, vf_set1(CPU_EXP_LOG2E)));
    vf r = vf_fma(n, vf_set1(-CPU_EXP_LN2_HI), clamped);
    r = vf_fma(n, vf_set1(-CPU_EXP_LN2_LO), r);
    vf p = vf_set1(CPU_EXP_P0);
    p = vf_fma(p, r, vf_set1(CPU_EXP_P1));
    p = vf_fma(p, r, vf_set1(CPU_EXP_P2));
    p = vf_fma(p, r, vf_set1(CPU_EXP_P3));
    p = vf_fma(p, r, vf_set1(CPU_EXP_P4));
    p = vf_fma(p, r, vf_set1(CPU_EXP_P5));
    vf y = vf_fma(p, vf_mul(r, r), r);
    y = vf_add(y, vf_set1(1.0f));
    y = vf_mul(y, vf_pow2(n));
    return vf_select(vm_lt(x, vf_set1(CPU_EXP_MIN_X)), vf_zero(), y);
}

/* cpu_exp lane by lane: clamped to CPU_EXP_MAX_X first (a NaN stays NaN: min returns its
 * second operand), +inf above it. */
X86_INLINE vf x86_exp(vf x) {
    vf y = x86_exp_nonpositive(vf_min(vf_set1(CPU_EXP_MAX_X), x));
    return vf_select(vm_gt(x, vf_set1(CPU_EXP_MAX_X)), vf_set1(INFINITY), y);
}

static void x86_exp_array(const float *x, int64_t n, float *out) {
    int64_t i = 0;
    for (; i + VW <= n; i += VW) vf_store(out + i, x86_exp(vf_load(x + i)));
    for (; i < n; i++) out[i] = cpu_exp(x[i]);
}

static void x86_swiglu(const float *gate, const float *up, int64_t n, float *out) {
    int64_t i = 0;
    for (; i + VW <= n; i += VW) {
        vf g = vf_load(gate + i);
        vf denominator = vf_add(vf_set1(1.0f), x86_exp(vf_neg(g)));
        vf_store(out + i, vf_mul(vf_div(g, denominator), vf_load(up + i)));
    }
    for (; i < n; i++) out[i] = cpu_swiglu_one(gate[i], up[i]);
}

static void x86_f32_to_f16(const float *src, int64_t n, uint16_t *dst) {
    int64_t i = 0;
    for (; i + VW <= n; i += VW) vf_store_f16(dst + i, vf_load(src + i));
    for (; i < n; i++) dst[i] = cpu_f32_to_fp16(src[i]);
}

/* ---- attention ---------------------------------------------------------------------- */

/* Byte offset of the K (kv 0) or V (kv 1) row of position pos, and in *run how many
 * positions from pos on (at most max_run) are contiguous in its block. */
X86_INLINE size_t x86_row_offset(const cpu_attention_args *args, int kv, int64_t kv_head, int64_t pos,
                                 int64_t max_run, int64_t *run) {
    const sllm_kv_layout *layout = args->layout;
    int64_t block = args->block_table[pos / layout->block_size], slot = pos % layout->block_size;
    *run = layout->block_size - slot < max_run ? layout->block_size - slot : max_run;
    return (((((size_t)block * (size_t)layout->n_layers + (size_t)args->layer) * 2 + (size_t)kv) *
                 (size_t)layout->n_kv_heads + (size_t)kv_head) * (size_t)layout->block_size + (size_t)slot) *
           sllm_kv_row_bytes(layout);
}

/* n values of Q8_0 rows (whole 34-byte blocks) to float: each int8 (exact in float)
 * times its block's fp16 scale, one multiply, as cpu_kv_rows_to_f32 computes it. */
X86_INLINE void x86_q8_0_to_f32(const unsigned char *src, int64_t n, float *dst) {
    for (int64_t b = 0; b < n; b += SLLM_KV_Q8_0_BLOCK, src += SLLM_KV_Q8_0_BLOCK_BYTES) {
        uint16_t bits;
        memcpy(&bits, src, sizeof bits);
        const vf scale = vf_set1(cpu_fp16_to_f32(bits));
        const int8_t *q = (const int8_t *)(src + sizeof bits);
        X86_UNROLL for (int i = 0; i < SLLM_KV_Q8_0_BLOCK; i += VW) vf_store(dst + b + i, vf_mul(vf_load_i8(q + i), scale));
    }
}

/* Float rows [key][d] of keys start .. start + n_keys - 1 (K: kv 0, V: kv 1): in place for
 * F32 when the tile lies in one block, else converted into buf (and rounded to bf16 when
 * BF). Rows n_keys .. TILE - 1 are zeroed when zero_tail (scores of every slot are
 * computed, then masked). */
X86_INLINE const float *x86_tile_rows(const cpu_attention_args *args, int kv, int64_t kv_head, int64_t start,
                                      int64_t n_keys, const int64_t head_dim, float *buf, int zero_tail,
                                      const int BF) {
    const sllm_kv_dtype dtype = args->layout->dtype;
    if (dtype == SLLM_KV_F16 && args->tiles != NULL && n_keys == TILE)     /* x86_prepare_float_tiles */
        return (const float *)args->tiles + (start / TILE * 2 + kv) * TILE * head_dim;
    for (int64_t k = 0, run; k < n_keys; k += run) {
        const void *row = (const unsigned char *)args->kv_pool +
                          x86_row_offset(args, kv, kv_head, start + k, n_keys - k, &run);
        float *dst = buf + k * head_dim;
        int64_t n = run * head_dim, i = 0;
        if (dtype == SLLM_KV_F32) {
            if (k == 0 && run == TILE) return row;
            memcpy(dst, row, (size_t)n * sizeof *buf);
        } else if (dtype == SLLM_KV_Q8_0) {
            x86_q8_0_to_f32(row, n, dst);
        } else if (dtype == SLLM_KV_BF16) {
            const uint16_t *src = row;
            for (; i + VW <= n; i += VW) vf_store(dst + i, vf_load_bf16(src + i));
            for (; i < n; i++) dst[i] = cpu_bf16_to_f32(src[i]);
        } else {
            const uint16_t *src = row;
            for (; i + VW <= n; i += VW) vf_store(dst + i, vf_load_f16(src + i));
            for (; i < n; i++) dst[i] = cpu_fp16_to_f32(src[i]);
        }
        if (BF) {
            for (i = 0; i + VW <= n; i += VW) vf_store(dst + i, vf_round_bf16(vf_load(dst + i)));
            for (; i < n; i++) dst[i] = cpu_bf16_round(dst[i]);
        }
    }
    if (zero_tail && n_keys < TILE) memset(buf + n_keys * head_dim, 0, (size_t)((TILE - n_keys) * head_dim) * sizeof *buf);
    return buf;
}

/* F16 K/V tiles [tile0, tile1) of KV head kv_head as float rows, K then V per tile (the
 * layout x86_tile_rows reads): converted once per call instead of once per unit. */
static void x86_prepare_float_tiles(const cpu_attention_args *args, int64_t kv_head, int64_t tile0, int64_t tile1,
                                    void *tiles) {
    const int64_t head_dim = args->layout->head_dim;
    float *out = tiles;
    for (int64_t t = tile0; t < tile1; t++)
        for (int kv = 0; kv < 2; kv++, out += TILE * head_dim)
            x86_tile_rows(&(cpu_attention_args){ .kv_pool = args->kv_pool, .layout = args->layout,
                                                 .layer = args->layer, .block_table = args->block_table },
                          kv, kv_head, t * TILE, TILE, head_dim, out, 0, 0);
}

/* Row lanes per unit: NV vectors of VW lanes (NV = 1 or 2) share every K/V row load and
 * broadcast. ACC_REGS accumulators are live in the inner loops, split across the NV
 * vectors: keys per score pass and dimensions per accumulate pass are ACC_REGS / NV. */
enum { MAX_NV = 2, MAX_ROWS = MAX_NV * VW };

/* s[k * NV + v] = fma chain over d of k_rows[k][d] * qt[d][v] (every lane one query row);
 * BF: d in vdpbf16ps's pair order 1, 0, 3, 2, ... */
X86_INLINE void x86_scores(const float *qt, const float *k_rows, const int64_t head_dim, const int NV, const int BF,
                           vf *s) {
    enum { GROUP_MAX = ACC_REGS };
    const int group = ACC_REGS / NV;
    for (int first = 0; first < TILE; first += group) {
        vf sums[GROUP_MAX];
        X86_UNROLL for (int j = 0; j < ACC_REGS; j++) sums[j] = vf_zero();
        const float *keys = k_rows + first * head_dim;
        for (int64_t i = 0; i < head_dim; i++) {
            const int64_t d = BF ? i ^ 1 : i;
            vf q[MAX_NV];
            X86_UNROLL for (int v = 0; v < NV; v++) q[v] = vf_load(qt + (d * NV + v) * VW);
            X86_UNROLL for (int j = 0; j < group; j++) {
                vf key = vf_set1(keys[j * head_dim + d]);
                X86_UNROLL for (int v = 0; v < NV; v++) sums[j * NV + v] = vf_fma(key, q[v], sums[j * NV + v]);
            }
        }
        X86_UNROLL for (int j = 0; j < ACC_REGS; j++) s[first * NV + j] = sums[j];
    }
}

/* acc[d] = acc[d] * alpha, then acc[d] = fma(v_k[d], p_k, acc[d]) in key order (BF: key
 * pairs odd first, over n_keys rounded up to even: the extra key is masked), for `width`
 * dimensions from d0; masked: only lanes whose limit reaches key start + k. */
X86_INLINE void x86_accumulate_chunk(float *acc, const vf *alpha, const float *p, const float *v_rows,
                                     int64_t n_keys, const int64_t head_dim, int64_t d0, const int width,
                                     const int NV, const int masked, const vi *limits, int64_t start, const int BF) {
    vf a[ACC_REGS];
    X86_UNROLL for (int c = 0; c < width; c++)
        X86_UNROLL for (int v = 0; v < NV; v++) a[c * NV + v] = vf_mul(vf_load(acc + ((d0 + c) * NV + v) * VW), alpha[v]);
    for (int64_t i = 0; i < (BF ? (n_keys + 1) & ~(int64_t)1 : n_keys); i++) {
        const int64_t k = BF ? i ^ 1 : i;
        vf weight[MAX_NV];
        vmask valid[MAX_NV];
        X86_UNROLL for (int v = 0; v < NV; v++) {
            weight[v] = vf_load(p + (k * NV + v) * VW);
            if (masked) valid[v] = vm_key_valid(limits[v], start + k);
        }
        const float *value = v_rows + k * head_dim + d0;
        X86_UNROLL for (int c = 0; c < width; c++) {
            vf x = vf_set1(value[c]);
            X86_UNROLL for (int v = 0; v < NV; v++)
                a[c * NV + v] = masked ? vf_fma_mask(valid[v], x, weight[v], a[c * NV + v]) : vf_fma(x, weight[v], a[c * NV + v]);
        }
    }
    X86_UNROLL for (int c = 0; c < width; c++)
        X86_UNROLL for (int v = 0; v < NV; v++) vf_store(acc + ((d0 + c) * NV + v) * VW, a[c * NV + v]);
}

X86_INLINE void x86_accumulate(float *acc, const vf *alpha, const float *p, const float *v_rows, int64_t n_keys,
                               const int64_t head_dim, const int NV, const int masked, const vi *limits,
                               int64_t start, const int BF) {
    const int chunk = ACC_REGS / NV;
    int64_t d0 = 0;
    for (; d0 + chunk <= head_dim; d0 += chunk)
        x86_accumulate_chunk(acc, alpha, p, v_rows, n_keys, head_dim, d0, chunk, NV, masked, limits, start, BF);
    for (; d0 < head_dim; d0++)
        x86_accumulate_chunk(acc, alpha, p, v_rows, n_keys, head_dim, d0, 1, NV, masked, limits, start, BF);
}

/* Native bf16 tiles: the including file defines X86_NATIVE_BF16 when its target has
 * vdpbf16ps and then, after this file, the functions declared here; a tile whose keys
 * every row sees (no causal mask) takes them, computing the bits of the float emulation
 * (x86_scores and x86_accumulate with BF) at twice the products per instruction. Masked
 * tiles keep the emulation. Scratch: qp head_dim * MAX_ROWS / 2 int32 (bf16 pairs of q), and
 * kt for a tile not prepared for the whole call (cpu_attention_args.tiles). */
#ifdef X86_NATIVE_BF16
static int x86_native_bf16_available(void);
X86_INLINE vf x86_native_round_bf16(vf x);
X86_INLINE void x86_native_q_pairs(const float *qt, const int64_t head_dim, const int NV, int32_t *qp);
X86_INLINE void x86_native_scores(const cpu_attention_args *args, int64_t kv_head, int64_t start, const int64_t head_dim,
                                  const int NV, const int32_t *qp, void *scratch, void *words, const void **tile, vf *s);
X86_INLINE void x86_native_accumulate(const void *tile, const int64_t head_dim, const int NV, const float *p,
                                      const vf *alpha, float *acc);
#else
static inline int x86_native_bf16_available(void) { return 0; }
X86_INLINE vf x86_native_round_bf16(vf x) { return x; }
X86_INLINE void x86_native_q_pairs(const float *qt, const int64_t head_dim, const int NV, int32_t *qp) {}
X86_INLINE void x86_native_scores(const cpu_attention_args *args, int64_t kv_head, int64_t start, const int64_t head_dim,
                                  const int NV, const int32_t *qp, void *scratch, void *words, const void **tile, vf *s) {}
X86_INLINE void x86_native_accumulate(const void *tile, const int64_t head_dim, const int NV, const float *p,
                                      const vf *alpha, float *acc) {}
#endif

/* Scratch (all 64-byte aligned): qt and acc head_dim * MAX_ROWS floats, kt and vt TILE *
 * head_dim floats. Lane l of vector v is row row0 + v * VW + l; qt and acc hold
 * [d][v][lane], p holds [key][v][lane]. */
X86_INLINE void x86_attend_body(const cpu_attention_args *args, int64_t kv_head, int64_t row0, int64_t n_rows,
                                const int64_t head_dim, const int NV, const int BF, const int NATIVE, float *qt,
                                float *acc, float *kt, float *vt, int32_t *qp) {
    const int64_t group = args->n_heads / args->layout->n_kv_heads;
    int32_t limit_array[MAX_ROWS] __attribute__((aligned(64)));
    float p[TILE * MAX_ROWS] __attribute__((aligned(64)));
    for (int64_t i = 0; i < NV * VW; i++) {
        /* Spare lanes repeat the last row's limit with a zero query: finite, never stored. */
        int64_t row = row0 + (i < n_rows ? i : n_rows - 1);
        int64_t token = row / group, head = kv_head * group + row % group;
        const float *q = args->q + (token * args->n_heads + head) * head_dim;
        limit_array[i] = (int32_t)(args->pos0 + token);
        for (int64_t d = 0; d < head_dim; d++) qt[d * NV * VW + i] = i < n_rows ? (BF ? cpu_bf16_round(q[d]) : q[d]) : 0.0f;
    }
    for (int64_t i = 0; i < head_dim * NV; i++) vf_store(acc + i * VW, vf_zero());
    if (NATIVE) x86_native_q_pairs(qt, head_dim, NV, qp);
    vi limits[MAX_NV];
    vf running_max[MAX_NV], running_sum[MAX_NV], alpha[MAX_NV];
    const vf scale = vf_set1(args->scale), minus_inf = vf_set1(-INFINITY);
    for (int v = 0; v < NV; v++) {
        limits[v] = vi_load(limit_array + v * VW);
        running_max[v] = minus_inf;
        running_sum[v] = vf_zero();
    }
    const int64_t first_limit = limit_array[0], last = limit_array[NV * VW - 1];
    for (int64_t start = 0; start <= last; start += TILE) {
        int64_t n_keys = last + 1 - start < TILE ? last + 1 - start : TILE;
        int masked = start + TILE - 1 > first_limit;
        const int native = NATIVE && !masked;
        const float *v_rows = NULL;
        const void *tile = NULL;
        vf s[TILE * MAX_NV];
        if (native) {
            x86_native_scores(args, kv_head, start, head_dim, NV, qp, kt, vt, &tile, s);
        } else {
            const float *k_rows = x86_tile_rows(args, 0, kv_head, start, n_keys, head_dim, kt, 1, BF);
            v_rows = x86_tile_rows(args, 1, kv_head, start, n_keys, head_dim, vt, BF, BF);
            x86_scores(qt, k_rows, head_dim, NV, BF, s);
        }
        X86_UNROLL for (int v = 0; v < NV; v++) {
            X86_UNROLL for (int k = 0; k < TILE; k++) s[k * NV + v] = vf_mul(s[k * NV + v], scale);
            if (masked)
                for (int k = 0; k < TILE; k++)
                    s[k * NV + v] = vf_select(vm_key_valid(limits[v], start + k), s[k * NV + v], minus_inf);
            vf tile_max = s[v];
            X86_UNROLL for (int k = 1; k < TILE; k++) tile_max = vf_max(tile_max, s[k * NV + v]);
            vf new_max = vf_max(running_max[v], tile_max);
            alpha[v] = x86_exp_nonpositive(vf_sub(running_max[v], new_max));
            running_sum[v] = vf_mul(running_sum[v], alpha[v]);
            X86_UNROLL for (int k = 0; k < TILE; k++) {
                vf weight = x86_exp_nonpositive(vf_sub(s[k * NV + v], new_max));
                if (BF) weight = NATIVE ? x86_native_round_bf16(weight) : vf_round_bf16(weight);
                running_sum[v] = vf_add(running_sum[v], weight);
                vf_store(p + (k * NV + v) * VW, weight);
            }
            running_max[v] = new_max;
        }
        /* Constant `masked` arguments: each call inlines without the mask test in its loop. */
        if (native)
            x86_native_accumulate(tile, head_dim, NV, p, alpha, acc);
        else if (masked)
            x86_accumulate(acc, alpha, p, v_rows, n_keys, head_dim, NV, 1, limits, start, BF);
        else
            x86_accumulate(acc, alpha, p, v_rows, TILE, head_dim, NV, 0, limits, start, BF);
    }
    for (int v = 0; v < NV; v++) {
        vf inv = vf_div(vf_set1(1.0f), running_sum[v]);
        for (int64_t d = 0; d < head_dim; d++)
            vf_store(acc + (d * NV + v) * VW, vf_mul(vf_load(acc + (d * NV + v) * VW), inv));
    }
    for (int64_t i = 0; i < n_rows; i++) {
        int64_t token = (row0 + i) / group, head = kv_head * group + (row0 + i) % group;
        float *out = args->out + (token * args->n_heads + head) * head_dim;
        for (int64_t d = 0; d < head_dim; d++) out[d] = acc[d * NV * VW + i];
    }
}

/* One vector holds the rows of a decode step (NV 1), two those of a prefill unit. */
X86_INLINE void x86_attend_rows(const cpu_attention_args *args, int64_t kv_head, int64_t row0, int64_t n_rows,
                                const int64_t head_dim, float *qt, float *acc, float *kt, float *vt, int32_t *qp) {
    const int bf16 = cpu_attention_in_bf16(args->layout), native = bf16 && x86_native_bf16_available();
    if (n_rows <= VW && native)
        x86_attend_body(args, kv_head, row0, n_rows, head_dim, 1, 1, 1, qt, acc, kt, vt, qp);
    else if (n_rows <= VW && bf16)
        x86_attend_body(args, kv_head, row0, n_rows, head_dim, 1, 1, 0, qt, acc, kt, vt, qp);
    else if (n_rows <= VW)
        x86_attend_body(args, kv_head, row0, n_rows, head_dim, 1, 0, 0, qt, acc, kt, vt, qp);
    else if (native)
        x86_attend_body(args, kv_head, row0, n_rows, head_dim, 2, 1, 1, qt, acc, kt, vt, qp);
    else if (bf16)
        x86_attend_body(args, kv_head, row0, n_rows, head_dim, 2, 1, 0, qt, acc, kt, vt, qp);
    else
        x86_attend_body(args, kv_head, row0, n_rows, head_dim, 2, 0, 0, qt, acc, kt, vt, qp);
}

/* head_dim as a constant for the common sizes: fixed strides in the inner loops, and
 * scratch on the stack (8-48 KiB). */
#define X86_ATTEND_FOR(dim)                                                                                    \
    static void x86_attend_##dim(const cpu_attention_args *args, int64_t kv_head, int64_t row0, int64_t n_rows) { \
        float qt[dim * MAX_ROWS] __attribute__((aligned(64))), acc[dim * MAX_ROWS] __attribute__((aligned(64))); \
        float kt[TILE * dim] __attribute__((aligned(64))), vt[TILE * dim] __attribute__((aligned(64)));       \
        int32_t qp[dim * MAX_ROWS / 2] __attribute__((aligned(64)));                                          \
        x86_attend_rows(args, kv_head, row0, n_rows, dim, qt, acc, kt, vt, qp);                            \
    }
X86_ATTEND_FOR(64)
X86_ATTEND_FOR(128)

/* Other head sizes (up to CPU_MAX_HEAD_DIM) take their scratch from the heap rather than
 * ~200 KiB of a host thread's stack; without memory the scalar kernel computes the same
 * bits. */
static void x86_attend_any(const cpu_attention_args *args, int64_t kv_head, int64_t row0, int64_t n_rows) {
    const int64_t head_dim = args->layout->head_dim;
    size_t floats = (size_t)(2 * head_dim * MAX_ROWS + 2 * TILE * head_dim + head_dim * MAX_ROWS / 2);
    float *scratch = aligned_alloc(64, (floats * sizeof(float) + 63) / 64 * 64);
    if (scratch == NULL) {
        cpu_ops_kernels_scalar()->attend(args, kv_head, row0, n_rows);
        return;
    }
    float *qt = scratch, *acc = qt + head_dim * MAX_ROWS, *kt = acc + head_dim * MAX_ROWS, *vt = kt + TILE * head_dim;
    int32_t *qp = (int32_t *)(vt + TILE * head_dim);
    x86_attend_rows(args, kv_head, row0, n_rows, head_dim, qt, acc, kt, vt, qp);
    free(scratch);
}

static __attribute__((noinline)) void x86_attend_dim(const cpu_attention_args *args, int64_t kv_head, int64_t row0,
                                                     int64_t n_rows) {
    switch (args->layout->head_dim) {
    case 64: x86_attend_64(args, kv_head, row0, n_rows); break;
    case 128: x86_attend_128(args, kv_head, row0, n_rows); break;
    default: x86_attend_any(args, kv_head, row0, n_rows); break;
    }
}

/* bf16 products flush denormals (vdpbf16ps's rule): the emulating float operations get
 * the same from MXCSR's flush-to-zero and denormals-are-zero bits, set around the call
 * (which the compiler cannot move float operations across) and restored after it. */
enum { MXCSR_FTZ_DAZ = 0x8040 };
static void x86_attend(const cpu_attention_args *args, int64_t kv_head, int64_t row0, int64_t n_rows) {
    if (!cpu_attention_in_bf16(args->layout)) {
        x86_attend_dim(args, kv_head, row0, n_rows);
        return;
    }
    const unsigned int csr = _mm_getcsr();
    _mm_setcsr(csr | MXCSR_FTZ_DAZ);
    x86_attend_dim(args, kv_head, row0, n_rows);
    _mm_setcsr(csr);
}

/* The including file's table, with its own RMSNorm row. */
#define X86_OPS_TABLE(table, label, rms_norm_row_fn, prepare_tiles_fn, prepared) \
    static const cpu_ops_kernels table = {                             \
        .name = label,                                                 \
        .attention_rows = MAX_ROWS,                                    \
        .attend = X86_ATTEND,                                          \
        .prepare_tiles = prepare_tiles_fn,                             \
        .prepared_dtypes = prepared,                                   \
        .exp = x86_exp_array,                                          \
        .swiglu = x86_swiglu,                                          \
        .rms_norm_row = rms_norm_row_fn,                               \
        .f32_to_f16 = x86_f32_to_f16,                                  \
    };
