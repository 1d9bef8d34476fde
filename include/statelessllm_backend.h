/* statelessllm_backend.h — the interface a compute backend (CPU, CUDA) implements.
 *
 * The engine drives one forward pass through the ops below and never touches tensor
 * memory itself: weights, activations and the paged K/V pool are backend buffers. A
 * backend may run ops asynchronously (a CUDA stream); ops are executed in the order they
 * were issued, buffer_download waits for every op issued before it, and sync() waits for
 * everything.
 *
 * Conventions:
 *  - Activations are float32, row-major: a buffer holding n_tokens rows of `width`
 *    floats is [n_tokens][width], one row per token.
 *  - Host arrays passed to an op (token ids, positions, block tables) are read before the
 *    op returns; the caller may reuse them at once.
 *  - Every op returns SLLM_OK or a status with a message (core_fail); it never aborts.
 *  - A backend instance runs one op at a time: its owner (a cache) serializes calls.
 *  - Batch invariance (ARCHITECTURE.md, principle 2): an output element must be computed
 *    by the same code in the same reduction order whatever the number of tokens in the
 *    call, the chunking of a prefill or the thread count. Split work by output rows or
 *    columns, never along a reduction axis. The CPU backend guarantees bit-identical
 *    results; a GPU backend documents what it guarantees.
 *
 * Paged K/V pool layout (the brief's; cuDNN's paged attention reads the same):
 *   the K (kv = 0) or V (kv = 1) row of block b, layer l, KV head h, slot s is row
 *   r = (((b * n_layers + l) * 2 + kv) * n_kv_heads + h) * block_size + s, which starts
 *   r * sllm_kv_row_bytes(layout) bytes into the pool. For F32/F16/BF16 a row is head_dim
 *   elements of `dtype` (dimension d is element r * head_dim + d); for Q8_0 it is
 *   head_dim / 32 ggml block_q8_0 (fp16 scale d, then 32 int8 q; value = q * d), 34
 *   bytes each, so Q8_0 needs head_dim % 32 == 0. Token position p of a sequence lives in block
 *   block_table[p / block_size], slot p % block_size. Block ids are int32 indices into
 *   the pool; the cache hands the backend plain block tables, never its own structs.
 */
#ifndef STATELESSLLM_BACKEND_H
#define STATELESSLLM_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "statelessllm.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sllm_backend sllm_backend;
/* Memory owned by a backend (host memory for the CPU, device memory for CUDA). */
typedef struct sllm_backend_buffer sllm_backend_buffer;

/* How a weight matrix's bytes are arranged (sllm_backend_weight.layout). */
typedef enum sllm_weight_layout {
    SLLM_WEIGHT_ROWS = 0,       /* as in GGUF: rows one after the other */
    /* The CPU backend's repack (lib/backend/cpu/cpu_tile.h): groups of 16 rows
     * interleaved 4 bytes at a time (float types: 16 elements at a time), same total
     * size. Only the CPU backend reads it;
     * the model repacks at load only when the CPU runs the kernels for it. */
    SLLM_WEIGHT_CPU_TILE16 = 1
} sllm_weight_layout;

/* A weight matrix inside a buffer: n_rows rows of n_cols elements in ggml type `type`
 * (GGUF dims[0] = n_cols) arranged as `layout` says, starting `offset` bytes into
 * `buffer`. */
typedef struct sllm_backend_weight {
    const sllm_backend_buffer *buffer;
    uint64_t offset;
    uint32_t type;
    int64_t n_cols;
    int64_t n_rows;
    sllm_weight_layout layout;
} sllm_backend_weight;

/* Shape of a paged K/V pool (see the layout above). */
typedef struct sllm_kv_layout {
    int64_t n_layers;
    int64_t n_kv_heads;
    int64_t head_dim;
    int64_t block_size;     /* tokens per block */
    sllm_kv_dtype dtype;    /* F16, F32, BF16 and Q8_0 on the CPU backend */
} sllm_kv_layout;

/* Bytes of one element of `dtype` (0 for a dtype stored in blocks, such as Q8_0). */
static inline size_t sllm_kv_dtype_size(sllm_kv_dtype dtype) {
    return dtype == SLLM_KV_F32 ? 4 : (dtype == SLLM_KV_F16 || dtype == SLLM_KV_BF16) ? 2 : 0;
}

/* Q8_0 rows: head_dim / SLLM_KV_Q8_0_BLOCK blocks of SLLM_KV_Q8_0_BLOCK_BYTES bytes. */
enum { SLLM_KV_Q8_0_BLOCK = 32, SLLM_KV_Q8_0_BLOCK_BYTES = 34 };

/* Bytes of one K or V row (head_dim values of one head and slot); 0 when the layout
 * cannot be stored (Q8_0 with head_dim not a multiple of 32, an unknown dtype). */
static inline size_t sllm_kv_row_bytes(const sllm_kv_layout *layout) {
    if (layout->dtype == SLLM_KV_Q8_0)
        return layout->head_dim % SLLM_KV_Q8_0_BLOCK != 0 ? 0
               : (size_t)(layout->head_dim / SLLM_KV_Q8_0_BLOCK) * SLLM_KV_Q8_0_BLOCK_BYTES;
    return (size_t)layout->head_dim * sllm_kv_dtype_size(layout->dtype);
}

/* Bytes of one block (all layers, K and V). */
static inline size_t sllm_kv_block_bytes(const sllm_kv_layout *layout) {
    return (size_t)layout->n_layers * 2 * (size_t)layout->n_kv_heads * (size_t)layout->block_size *
           sllm_kv_row_bytes(layout);
}

typedef enum sllm_rope_mode {
    SLLM_ROPE_NORM = 0,     /* rotates adjacent pairs (x[2i], x[2i+1]): llama */
    SLLM_ROPE_NEOX = 2      /* rotates (x[i], x[i + n_rot/2]): qwen2, qwen3 */
} sllm_rope_mode;

/* Pair i of a head at position p is rotated by the angle
 *   p * freq_scale * freq_base^(-2i / n_rot) / freq_factors[i]
 * (freq_factors: n_rot/2 F32 values, e.g. Llama 3's rope_freqs.weight, or NULL for 1).
 * Dimensions from n_rot to head_dim are left as they are. */
typedef struct sllm_rope_params {
    sllm_rope_mode mode;
    int64_t n_rot;
    float freq_base;
    float freq_scale;
    const sllm_backend_buffer *freq_factors;
} sllm_rope_params;

/* One sequence of a batch: its new tokens' rows lie one after another in the batch's
 * buffers, after those of the sequences before it. */
typedef struct sllm_backend_sequence {
    const int32_t *block_table;     /* covers position pos0 + n_tokens - 1 */
    int64_t pos0;                   /* position of its first new token */
    int64_t n_tokens;
} sllm_backend_sequence;

/* The vtable. New entries are only appended; callers check struct_size before using
 * an entry past the ones they know. */
typedef struct sllm_backend_ops {
    size_t struct_size;     /* sizeof(sllm_backend_ops) of the implementation */
    const char *name;       /* "cpu", "cuda" */

    /* Frees the backend and everything it owns (buffers must be freed first). */
    void (*destroy)(sllm_backend *backend);

    /* ---- memory ---- */
    /* A new buffer of `bytes` bytes, contents undefined. */
    sllm_status (*buffer_alloc)(sllm_backend *backend, size_t bytes, sllm_backend_buffer **out);
    /* A read-only buffer with the contents of host memory [host, host + bytes), which
     * the caller keeps alive and unchanged for the buffer's lifetime (an mmap'd GGUF data
     * section, or the model's huge-page copy of it). CPU: zero-copy. A GPU backend copies
     * it to device memory. */
    sllm_status (*buffer_map_host)(sllm_backend *backend, const void *host, size_t bytes,
                                   sllm_backend_buffer **out);
    void (*buffer_free)(sllm_backend *backend, sllm_backend_buffer *buffer);
    sllm_status (*buffer_upload)(sllm_backend *backend, sllm_backend_buffer *buffer, size_t offset,
                                 const void *src, size_t bytes);
    /* Waits for all issued ops, then copies out. */
    sllm_status (*buffer_download)(sllm_backend *backend, const sllm_backend_buffer *buffer,
                                   size_t offset, void *dst, size_t bytes);

    /* ---- ops of one forward pass ---- */
    /* out[t] = row tokens[t] of `table` converted to float (n_cols floats per row).
     * INVALID_TOKEN when a token id is outside [0, table->n_rows). */
    sllm_status (*embed)(sllm_backend *backend, const sllm_backend_weight *table, const int32_t *tokens,
                         int64_t n_tokens, sllm_backend_buffer *out);
    /* out[r] = x[r] / sqrt(mean(x[r]^2) + eps) * weight, for n_rows rows of `width`
     * floats; weight holds `width` floats. out may be x. Also serves qwen3's per-head
     * Q/K norm (rows = tokens x heads, width = head_dim). */
    sllm_status (*rms_norm)(sllm_backend *backend, const sllm_backend_buffer *x,
                            const sllm_backend_buffer *weight, int64_t n_rows, int64_t width, float eps,
                            sllm_backend_buffer *out);
    /* y[t] = W x[t] (+ bias): x is n_tokens rows of w->n_cols floats, y n_tokens rows of
     * w->n_rows floats; bias (n_rows floats) may be NULL. W stays in its stored type. */
    sllm_status (*matmul)(sllm_backend *backend, const sllm_backend_weight *w,
                          const sllm_backend_buffer *bias, const sllm_backend_buffer *x, int64_t n_tokens,
                          sllm_backend_buffer *y);
    /* Rotates, in place, the first rope->n_rot dimensions of each of the n_heads heads of
     * every row of x ([n_tokens][n_heads * head_dim]); row t is at positions[t]. */
    sllm_status (*rope)(sllm_backend *backend, sllm_backend_buffer *x, int64_t n_tokens, int64_t n_heads,
                        int64_t head_dim, const int32_t *positions, const sllm_rope_params *rope);
    /* Stores the K and V rows of tokens at positions pos0 .. pos0 + n_tokens - 1 of one
     * sequence (k, v: [n_tokens][n_kv_heads * head_dim]) into `layer` of the pool,
     * converting to the pool's dtype. block_table must cover position pos0 + n_tokens - 1. */
    sllm_status (*kv_write)(sllm_backend *backend, sllm_backend_buffer *pool, const sllm_kv_layout *layout,
                            int64_t layer, const int32_t *block_table, int64_t pos0, int64_t n_tokens,
                            const sllm_backend_buffer *k, const sllm_backend_buffer *v);
    /* Causal attention of one sequence for query rows at positions pos0 .. pos0 +
     * n_tokens - 1 (q: [n_tokens][n_heads * head_dim]): query t attends to positions
     * 0 .. pos0 + t, read from `layer` of the pool through block_table (so the K/V of
     * these tokens must have been written first). Query head h reads KV head
     * h / (n_heads / n_kv_heads). softmax(q.k * scale) . v into out, same shape as q.
     * Serves prefill (n_tokens > 1) and decode (n_tokens = 1). */
    sllm_status (*attention)(sllm_backend *backend, const sllm_backend_buffer *q,
                             const sllm_backend_buffer *pool, const sllm_kv_layout *layout, int64_t layer,
                             const int32_t *block_table, int64_t pos0, int64_t n_tokens, int64_t n_heads,
                             float scale, sllm_backend_buffer *out);
    /* out[i] = silu(gate[i]) * up[i] for n_elements floats. out may be gate or up. */
    sllm_status (*swiglu)(sllm_backend *backend, const sllm_backend_buffer *gate,
                          const sllm_backend_buffer *up, int64_t n_elements, sllm_backend_buffer *out);
    /* x[i] += y[i] for n_elements floats (the residual connection). */
    sllm_status (*add)(sllm_backend *backend, sllm_backend_buffer *x, const sllm_backend_buffer *y,
                       int64_t n_elements);
    /* out[r] = W x[first_row + r] for r < n_rows (the output projection of the rows whose
     * logits are wanted; usually only the last). out: [n_rows][w->n_rows]. */
    sllm_status (*logits)(sllm_backend *backend, const sllm_backend_weight *w, const sllm_backend_buffer *x,
                          int64_t first_row, int64_t n_rows, sllm_backend_buffer *out);
    /* Waits until every issued op has finished. */
    sllm_status (*sync)(sllm_backend *backend);

    /* ---- appended entries (check struct_size before use) ---- */
    /* y[i] = w[i] x (+ bias[i]) for i < n (1..4): matmuls that share their input (Q/K/V,
     * gate/up) in one call, so the backend can share all their rows among its threads at
     * once. Results equal n matmul calls. bias may be NULL, as may any bias[i]. */
    sllm_status (*matmul_group)(sllm_backend *backend, int n, const sllm_backend_weight *w,
                                const sllm_backend_buffer *const *bias, const sllm_backend_buffer *x,
                                int64_t n_tokens, sllm_backend_buffer *const *y);
    /* kv_write and attention for several sequences in one call (batched requests): the
     * rows of k, v, q and out hold sequence 0's tokens, then sequence 1's, and so on.
     * Results equal one kv_write / attention call per sequence. */
    sllm_status (*kv_write_batch)(sllm_backend *backend, sllm_backend_buffer *pool, const sllm_kv_layout *layout,
                                  int64_t layer, const sllm_backend_sequence *seqs, int64_t n_seqs,
                                  const sllm_backend_buffer *k, const sllm_backend_buffer *v);
    sllm_status (*attention_batch)(sllm_backend *backend, const sllm_backend_buffer *q,
                                   const sllm_backend_buffer *pool, const sllm_kv_layout *layout, int64_t layer,
                                   const sllm_backend_sequence *seqs, int64_t n_seqs, int64_t n_heads, float scale,
                                   sllm_backend_buffer *out);
} sllm_backend_ops;

/* Every backend instance begins with this; implementations embed it as their first
 * member and extend it. */
struct sllm_backend {
    const sllm_backend_ops *ops;
};

#ifdef __cplusplus
}
#endif
#endif /* STATELESSLLM_BACKEND_H */
