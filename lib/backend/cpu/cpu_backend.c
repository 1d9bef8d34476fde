/* The CPU backend's vtable: buffers are host memory (weights zero-copy into the model's
 * memory, its huge-page copy or the mmap'd file), ops call the kernels in cpu_matmul.c
 * and cpu_ops.c on the backend's thread pool. */
#include "backend/cpu/cpu_backend.h"

#include <stdlib.h>
#include <string.h>

#include "backend/cpu/cpu_matmul.h"
#include "backend/cpu/cpu_ops.h"
#include "backend/cpu/cpu_tile.h"
#include "core/hugemem.h"
#include "core/threadpool.h"
#include "format/ggml_types.h"

/* Buffers from this size on (the K/V pool) are mapped in huge pages: attention streams
 * through them like decode streams through the weights (see core/hugemem.h). */
enum { BUFFER_ALIGNMENT = 64, HUGE_BUFFER_BYTES = 4 << 20 };

typedef struct cpu_backend {
    sllm_backend base;      /* first: a cpu_backend is an sllm_backend */
    core_threadpool *pool;
    const cpu_kernels *kernels;     /* the best this CPU runs, chosen once */
    void *matmul_scratch;           /* int8 activations; grows to the largest batch, then stays */
    size_t matmul_scratch_bytes;
    void *attention_scratch;        /* K/V tiles converted once per call; grows likewise */
    size_t attention_scratch_bytes;
} cpu_backend;

typedef struct cpu_buffer {
    void *data;
    size_t bytes;
    int owned;              /* 0: a view of host memory (buffer_map_host) */
    core_region region;     /* large buffers (the K/V pool): huge-page memory, else empty */
} cpu_buffer;

static core_threadpool *pool_of(sllm_backend *backend) { return ((cpu_backend *)backend)->pool; }
static cpu_buffer *buf(sllm_backend_buffer *buffer) { return (cpu_buffer *)buffer; }
static const cpu_buffer *cbuf(const sllm_backend_buffer *buffer) { return (const cpu_buffer *)buffer; }
static float *floats(sllm_backend_buffer *buffer) { return buf(buffer)->data; }
static const float *cfloats(const sllm_backend_buffer *buffer) { return cbuf(buffer)->data; }

/* Every op checks that its buffers hold what it will touch: a wrong size is a bug in
 * the caller, reported instead of corrupting memory. */
static sllm_status check_floats(const sllm_backend_buffer *buffer, int64_t n_floats, const char *op, const char *what) {
    if (buffer == NULL) return core_fail(SLLM_ERR_INVALID_ARGUMENT, "cpu %s: %s buffer is NULL", op, what);
    if (n_floats < 0 || (uint64_t)n_floats > cbuf(buffer)->bytes / sizeof(float))
        return core_fail(SLLM_ERR_INVALID_ARGUMENT, "cpu %s: %s buffer holds %zu bytes, %lld floats needed", op,
                         what, cbuf(buffer)->bytes, (long long)n_floats);
    return SLLM_OK;
}

static sllm_status weight_data(const sllm_backend_weight *w, const char *op, const void **data) {
    const ggml_type_traits *traits = ggml_type_get(w->type);
    uint64_t row_bytes;
    if (traits == NULL || !traits->computable || !ggml_row_size(w->type, w->n_cols, &row_bytes))
        return core_fail(SLLM_ERR_UNSUPPORTED_TYPE, "cpu %s: weight type %u with %lld columns is not supported", op,
                         (unsigned)w->type, (long long)w->n_cols);
    if (w->buffer == NULL || w->offset > cbuf(w->buffer)->bytes ||
        row_bytes * (uint64_t)w->n_rows > cbuf(w->buffer)->bytes - w->offset)
        return core_fail(SLLM_ERR_INVALID_ARGUMENT, "cpu %s: weight runs past its buffer", op);
    if (w->layout != SLLM_WEIGHT_ROWS &&
        (w->layout != SLLM_WEIGHT_CPU_TILE16 || !cpu_tile16_supported(w->type, w->n_rows, w->n_cols)))
        return core_fail(SLLM_ERR_INVALID_ARGUMENT, "cpu %s: weight layout %d is not supported for type %u "
                         "[%lld x %lld]", op, (int)w->layout, (unsigned)w->type, (long long)w->n_rows,
                         (long long)w->n_cols);
    *data = (const uint8_t *)cbuf(w->buffer)->data + w->offset;
    return SLLM_OK;
}

/* ---- memory ------------------------------------------------------------------------ */

static void cpu_destroy(sllm_backend *backend) {
    if (backend == NULL) return;
    core_threadpool_free(pool_of(backend));
    free(((cpu_backend *)backend)->matmul_scratch);
    free(((cpu_backend *)backend)->attention_scratch);
    free(backend);
}

static sllm_status cpu_buffer_alloc(sllm_backend *backend, size_t bytes, sllm_backend_buffer **out) {
    cpu_buffer *buffer = calloc(1, sizeof *buffer);
    size_t rounded = (bytes + BUFFER_ALIGNMENT - 1) / BUFFER_ALIGNMENT * BUFFER_ALIGNMENT;
    if (buffer != NULL && bytes >= HUGE_BUFFER_BYTES) {
        if (core_region_alloc(bytes, &buffer->region) == SLLM_OK) buffer->data = buffer->region.data;
        else core_error_clear();    /* fall back to the heap below */
    }
    if (buffer != NULL && buffer->data == NULL)
        buffer->data = aligned_alloc(BUFFER_ALIGNMENT, rounded ? rounded : BUFFER_ALIGNMENT);
    if (buffer == NULL || buffer->data == NULL) {
        free(buffer);
        return core_fail(SLLM_ERR_OUT_OF_MEMORY, "cpu backend: cannot allocate a buffer of %zu bytes", bytes);
    }
    buffer->bytes = bytes;
    buffer->owned = 1;
    *out = (sllm_backend_buffer *)buffer;
    return SLLM_OK;
}

static sllm_status cpu_buffer_map_host(sllm_backend *backend, const void *host, size_t bytes,
                                       sllm_backend_buffer **out) {
    cpu_buffer *buffer = calloc(1, sizeof *buffer);
    if (buffer == NULL) return core_fail(SLLM_ERR_OUT_OF_MEMORY, "cpu backend: out of memory");
    buffer->data = (void *)(uintptr_t)host; /* read-only by contract; never written */
    buffer->bytes = bytes;
    *out = (sllm_backend_buffer *)buffer;
    return SLLM_OK;
}

static void cpu_buffer_free(sllm_backend *backend, sllm_backend_buffer *buffer) {
    if (buffer == NULL) return;
    if (buf(buffer)->region.data != NULL) core_region_free(&buf(buffer)->region);
    else if (buf(buffer)->owned) free(buf(buffer)->data);
    free(buffer);
}

static sllm_status check_range(const sllm_backend_buffer *buffer, size_t offset, size_t bytes, const char *op) {
    if (buffer == NULL || offset > cbuf(buffer)->bytes || bytes > cbuf(buffer)->bytes - offset)
        return core_fail(SLLM_ERR_INVALID_ARGUMENT, "cpu %s: %zu bytes at offset %zu run past the buffer", op,
                         bytes, offset);
    return SLLM_OK;
}

static sllm_status cpu_buffer_upload(sllm_backend *backend, sllm_backend_buffer *buffer, size_t offset,
                                     const void *src, size_t bytes) {
    sllm_status status = check_range(buffer, offset, bytes, "upload");
    if (status != SLLM_OK) return status;
    if (!buf(buffer)->owned) return core_fail(SLLM_ERR_INVALID_ARGUMENT, "cpu upload: buffer is read-only");
    memcpy((uint8_t *)buf(buffer)->data + offset, src, bytes);
    return SLLM_OK;
}

static sllm_status cpu_buffer_download(sllm_backend *backend, const sllm_backend_buffer *buffer, size_t offset,
                                       void *dst, size_t bytes) {
    sllm_status status = check_range(buffer, offset, bytes, "download");
    if (status != SLLM_OK) return status;
    memcpy(dst, (const uint8_t *)cbuf(buffer)->data + offset, bytes);
    return SLLM_OK;
}

/* ---- ops ---------------------------------------------------------------------------- */

/* Grows the activation scratch only when a batch is larger than any before, so
 * steady-state forward passes allocate nothing. */
static sllm_status grow_scratch(cpu_backend *cpu, size_t needed) {
    if (needed <= cpu->matmul_scratch_bytes) return SLLM_OK;
    void *grown = malloc(needed);
    if (grown == NULL) return core_fail(SLLM_ERR_OUT_OF_MEMORY, "cpu matmul: cannot allocate %zu bytes of scratch", needed);
    free(cpu->matmul_scratch);
    cpu->matmul_scratch = grown;
    cpu->matmul_scratch_bytes = needed;
    return SLLM_OK;
}

static sllm_status cpu_embed(sllm_backend *backend, const sllm_backend_weight *table, const int32_t *tokens,
                             int64_t n_tokens, sllm_backend_buffer *out) {
    const void *data;
    sllm_status status = weight_data(table, "embed", &data);
    if (status == SLLM_OK) status = check_floats(out, n_tokens * table->n_cols, "embed", "out");
    if (status != SLLM_OK) return status;
    for (int64_t t = 0; t < n_tokens; t++) {
        if (tokens[t] < 0 || tokens[t] >= table->n_rows)
            return core_fail(SLLM_ERR_INVALID_TOKEN, "token id %d at index %lld is outside the vocabulary [0, %lld)",
                             (int)tokens[t], (long long)t, (long long)table->n_rows);
    }
    if (table->layout == SLLM_WEIGHT_ROWS) {
        for (int64_t t = 0; t < n_tokens; t++)
            cpu_dequantize_row(table->type, data, table->n_cols, tokens[t], floats(out) + t * table->n_cols);
        return SLLM_OK;
    }
    /* tile16: a tied embedding that is also the output matrix; each row is unpacked into
     * the matmul scratch first (free between ops), so a forward pass allocates nothing. */
    uint64_t row_bytes;
    ggml_row_size(table->type, table->n_cols, &row_bytes);
    cpu_backend *cpu = (cpu_backend *)backend;
    if ((status = grow_scratch(cpu, (size_t)row_bytes)) != SLLM_OK) return status;
    for (int64_t t = 0; t < n_tokens; t++) {
        cpu_tile16_unpack_row(table->type, data, table->n_cols, tokens[t], cpu->matmul_scratch);
        cpu_dequantize_row(table->type, cpu->matmul_scratch, table->n_cols, 0, floats(out) + t * table->n_cols);
    }
    return SLLM_OK;
}

static sllm_status cpu_rms_norm_op(sllm_backend *backend, const sllm_backend_buffer *x,
                                   const sllm_backend_buffer *weight, int64_t n_rows, int64_t width, float eps,
                                   sllm_backend_buffer *out) {
    sllm_status status = check_floats(x, n_rows * width, "rms_norm", "x");
    if (status == SLLM_OK) status = check_floats(weight, width, "rms_norm", "weight");
    if (status == SLLM_OK) status = check_floats(out, n_rows * width, "rms_norm", "out");
    if (status != SLLM_OK) return status;
    cpu_rms_norm(pool_of(backend), cfloats(x), cfloats(weight), n_rows, width, eps, floats(out));
    return SLLM_OK;
}

/* Every matmul of the backend: one or more weights (already checked) against x. */
static sllm_status run_group(sllm_backend *backend, const cpu_matmul_weight *group, int n, int64_t n_cols,
                             const float *x, int64_t n_tokens) {
    cpu_backend *cpu = (cpu_backend *)backend;
    sllm_status status = grow_scratch(cpu, cpu_matmul_group_scratch_bytes(group, n, n_cols, n_tokens));
    if (status != SLLM_OK) return status;
    cpu_matmul_group_with(cpu->kernels, cpu->pool, group, n, n_cols, x, n_tokens, cpu->matmul_scratch);
    return SLLM_OK;
}

static sllm_status run_matmul(sllm_backend *backend, const sllm_backend_weight *w, const void *weight,
                              const float *x, int64_t n_tokens, float *y) {
    cpu_matmul_weight one = { w->type, (cpu_layout)w->layout, weight, w->n_rows, y };
    return run_group(backend, &one, 1, w->n_cols, x, n_tokens);
}

static void add_bias(float *y, const float *bias, int64_t n_tokens, int64_t n_rows) {
    for (int64_t t = 0; t < n_tokens; t++)
        for (int64_t r = 0; r < n_rows; r++) y[t * n_rows + r] += bias[r];
}

/* Checks one weight of a matmul against its input, output and bias buffers. */
static sllm_status check_matmul(const sllm_backend_weight *w, const sllm_backend_buffer *bias,
                                const sllm_backend_buffer *x, int64_t n_tokens, const sllm_backend_buffer *y,
                                const void **data) {
    sllm_status status = weight_data(w, "matmul", data);
    if (status == SLLM_OK) status = check_floats(x, n_tokens * w->n_cols, "matmul", "x");
    if (status == SLLM_OK) status = check_floats(y, n_tokens * w->n_rows, "matmul", "y");
    if (status == SLLM_OK && bias) status = check_floats(bias, w->n_rows, "matmul", "bias");
    return status;
}

static sllm_status cpu_matmul_op(sllm_backend *backend, const sllm_backend_weight *w,
                                 const sllm_backend_buffer *bias, const sllm_backend_buffer *x, int64_t n_tokens,
                                 sllm_backend_buffer *y) {
    const void *data;
    sllm_status status = check_matmul(w, bias, x, n_tokens, y, &data);
    if (status != SLLM_OK) return status;
    status = run_matmul(backend, w, data, cfloats(x), n_tokens, floats(y));
    if (status == SLLM_OK && bias) add_bias(floats(y), cfloats(bias), n_tokens, w->n_rows);
    return status;
}

static sllm_status cpu_matmul_group_op(sllm_backend *backend, int n, const sllm_backend_weight *w,
                                       const sllm_backend_buffer *const *bias, const sllm_backend_buffer *x,
                                       int64_t n_tokens, sllm_backend_buffer *const *y) {
    if (n < 1 || n > CPU_MATMUL_GROUP_MAX)
        return core_fail(SLLM_ERR_INVALID_ARGUMENT, "cpu matmul_group: %d weights (1 to %d)", n, CPU_MATMUL_GROUP_MAX);
    cpu_matmul_weight group[CPU_MATMUL_GROUP_MAX];
    for (int i = 0; i < n; i++) {
        const void *data;
        sllm_status status = check_matmul(&w[i], bias ? bias[i] : NULL, x, n_tokens, y[i], &data);
        if (status == SLLM_OK && w[i].n_cols != w[0].n_cols)
            status = core_fail(SLLM_ERR_INVALID_ARGUMENT, "cpu matmul_group: weights differ in width");
        if (status != SLLM_OK) return status;
        group[i] = (cpu_matmul_weight){ w[i].type, (cpu_layout)w[i].layout, data, w[i].n_rows, floats(y[i]) };
    }
    sllm_status status = run_group(backend, group, n, w[0].n_cols, cfloats(x), n_tokens);
    if (status != SLLM_OK) return status;
    for (int i = 0; i < n; i++)
        if (bias && bias[i]) add_bias(floats(y[i]), cfloats(bias[i]), n_tokens, w[i].n_rows);
    return SLLM_OK;
}

static sllm_status cpu_rope_op(sllm_backend *backend, sllm_backend_buffer *x, int64_t n_tokens, int64_t n_heads,
                               int64_t head_dim, const int32_t *positions, const sllm_rope_params *rope) {
    sllm_status status = check_floats(x, n_tokens * n_heads * head_dim, "rope", "x");
    if (status == SLLM_OK && rope->freq_factors) status = check_floats(rope->freq_factors, rope->n_rot / 2, "rope", "freq_factors");
    if (status != SLLM_OK) return status;
    if (rope->n_rot < 0 || rope->n_rot > head_dim || rope->n_rot % 2 != 0 || head_dim > CPU_MAX_HEAD_DIM)
        return core_fail(SLLM_ERR_INVALID_ARGUMENT, "cpu rope: n_rot %lld with head_dim %lld is not supported",
                         (long long)rope->n_rot, (long long)head_dim);
    cpu_rope(pool_of(backend), floats(x), n_tokens, n_heads, head_dim, positions, rope->mode, rope->n_rot,
             rope->freq_base, rope->freq_scale, rope->freq_factors ? cfloats(rope->freq_factors) : NULL);
    return SLLM_OK;
}

static sllm_status check_kv(const sllm_backend_buffer *pool, const sllm_kv_layout *layout, int64_t layer,
                            const int32_t *block_table, int64_t n_positions, const char *op) {
    if (layout->dtype != SLLM_KV_F16 && layout->dtype != SLLM_KV_F32 && layout->dtype != SLLM_KV_BF16 &&
        layout->dtype != SLLM_KV_Q8_0)
        return core_fail(SLLM_ERR_INVALID_ARGUMENT, "cpu %s: KV dtype %d is not supported", op, (int)layout->dtype);
    if (sllm_kv_row_bytes(layout) == 0)
        return core_fail(SLLM_ERR_INVALID_ARGUMENT, "cpu %s: head_dim %lld cannot be stored as Q8_0 K/V "
                         "(needs a multiple of 32)", op, (long long)layout->head_dim);
    if (layer < 0 || layer >= layout->n_layers || layout->block_size <= 0 || layout->head_dim > CPU_MAX_HEAD_DIM)
        return core_fail(SLLM_ERR_INVALID_ARGUMENT, "cpu %s: bad layer %lld or KV layout", op, (long long)layer);
    size_t n_blocks = cbuf(pool)->bytes / sllm_kv_block_bytes(layout);
    for (int64_t b = 0; b * layout->block_size < n_positions; b++) {
        if (block_table[b] < 0 || (size_t)block_table[b] >= n_blocks)
            return core_fail(SLLM_ERR_INVALID_ARGUMENT, "cpu %s: block id %d at table index %lld is outside the pool of %zu blocks",
                             op, (int)block_table[b], (long long)b, n_blocks);
    }
    return SLLM_OK;
}

static sllm_status cpu_kv_write_op(sllm_backend *backend, sllm_backend_buffer *pool, const sllm_kv_layout *layout,
                                   int64_t layer, const int32_t *block_table, int64_t pos0, int64_t n_tokens,
                                   const sllm_backend_buffer *k, const sllm_backend_buffer *v) {
    const sllm_backend_sequence seq = { block_table, pos0, n_tokens };
    return backend->ops->kv_write_batch(backend, pool, layout, layer, &seq, 1, k, v);
}

/* Tokens of the batch's sequences together; -1 when one of them has a negative count. */
static int64_t batch_tokens(const sllm_backend_sequence *seqs, int64_t n_seqs) {
    int64_t total = 0;
    for (int64_t s = 0; s < n_seqs; s++) {
        if (seqs[s].n_tokens < 0 || seqs[s].block_table == NULL || seqs[s].pos0 < 0) return -1;
        total += seqs[s].n_tokens;
    }
    return total;
}

static sllm_status cpu_kv_write_batch_op(sllm_backend *backend, sllm_backend_buffer *pool,
                                         const sllm_kv_layout *layout, int64_t layer,
                                         const sllm_backend_sequence *seqs, int64_t n_seqs,
                                         const sllm_backend_buffer *k, const sllm_backend_buffer *v) {
    const int64_t row = layout->n_kv_heads * layout->head_dim, total = batch_tokens(seqs, n_seqs);
    if (total < 0) return core_fail(SLLM_ERR_INVALID_ARGUMENT, "cpu kv_write: a sequence has no block table or a negative count");
    sllm_status status = check_floats(k, total * row, "kv_write", "k");
    if (status == SLLM_OK) status = check_floats(v, total * row, "kv_write", "v");
    for (int64_t s = 0; s < n_seqs && status == SLLM_OK; s++)
        status = check_kv(pool, layout, layer, seqs[s].block_table, seqs[s].pos0 + seqs[s].n_tokens, "kv_write");
    if (status != SLLM_OK) return status;
    (void)backend;
    for (int64_t s = 0, first = 0; s < n_seqs; first += seqs[s].n_tokens, s++)
        cpu_kv_write(buf(pool)->data, layout, layer, seqs[s].block_table, seqs[s].pos0, seqs[s].n_tokens,
                     cfloats(k) + first * row, cfloats(v) + first * row);
    return SLLM_OK;
}

/* Scratch of at least `needed` bytes for cpu_attention, or NULL: without it (none needed,
 * or no memory) attention converts K/V per work unit, with the same results. */
static void *attention_scratch(cpu_backend *cpu, size_t needed) {
    if (needed == 0) return NULL;
    if (needed > cpu->attention_scratch_bytes) {
        size_t bytes = (needed + BUFFER_ALIGNMENT - 1) / BUFFER_ALIGNMENT * BUFFER_ALIGNMENT;
        void *grown = aligned_alloc(BUFFER_ALIGNMENT, bytes);
        if (grown == NULL) return NULL;
        free(cpu->attention_scratch);
        cpu->attention_scratch = grown;
        cpu->attention_scratch_bytes = bytes;
    }
    return cpu->attention_scratch;
}

static sllm_status cpu_attention_op(sllm_backend *backend, const sllm_backend_buffer *q,
                                    const sllm_backend_buffer *pool, const sllm_kv_layout *layout, int64_t layer,
                                    const int32_t *block_table, int64_t pos0, int64_t n_tokens, int64_t n_heads,
                                    float scale, sllm_backend_buffer *out) {
    const sllm_backend_sequence seq = { block_table, pos0, n_tokens };
    return backend->ops->attention_batch(backend, q, pool, layout, layer, &seq, 1, n_heads, scale, out);
}

static sllm_status cpu_attention_batch_op(sllm_backend *backend, const sllm_backend_buffer *q,
                                          const sllm_backend_buffer *pool, const sllm_kv_layout *layout,
                                          int64_t layer, const sllm_backend_sequence *seqs, int64_t n_seqs,
                                          int64_t n_heads, float scale, sllm_backend_buffer *out) {
    const int64_t row = n_heads * layout->head_dim, total = batch_tokens(seqs, n_seqs);
    if (total < 0) return core_fail(SLLM_ERR_INVALID_ARGUMENT, "cpu attention: a sequence has no block table or a negative count");
    sllm_status status = check_floats(q, total * row, "attention", "q");
    if (status == SLLM_OK) status = check_floats(out, total * row, "attention", "out");
    for (int64_t s = 0; s < n_seqs && status == SLLM_OK; s++)
        status = check_kv(pool, layout, layer, seqs[s].block_table, seqs[s].pos0 + seqs[s].n_tokens, "attention");
    if (status != SLLM_OK) return status;
    if (layout->n_kv_heads <= 0 || n_heads % layout->n_kv_heads != 0 ||
        (n_heads / layout->n_kv_heads) * layout->head_dim > CPU_MAX_ATTN_GROUP_FLOATS ||
        n_heads / layout->n_kv_heads > CPU_MAX_ATTN_GROUP_FLOATS / 16)
        return core_fail(SLLM_ERR_INVALID_ARGUMENT, "cpu attention: %lld query heads over %lld KV heads of size %lld is not supported",
                         (long long)n_heads, (long long)layout->n_kv_heads, (long long)layout->head_dim);
    cpu_backend *cpu = (cpu_backend *)backend;
    const cpu_ops_kernels *kernels = cpu_ops_kernels_best();
    for (int64_t s = 0, first = 0; s < n_seqs; first += seqs[s].n_tokens, s++) {
        const sllm_backend_sequence *seq = &seqs[s];
        size_t scratch_bytes = cpu_attention_scratch_bytes(kernels, layout, seq->pos0, seq->n_tokens, n_heads);
        void *scratch = attention_scratch(cpu, scratch_bytes);
        cpu_attention_args args = { cfloats(q) + first * row, cbuf(pool)->data, layout, layer, seq->block_table,
                                    seq->pos0, seq->n_tokens, n_heads, scale, floats(out) + first * row, NULL };
        cpu_attention_with(kernels, cpu->pool, &args, scratch, scratch != NULL ? scratch_bytes : 0);
    }
    return SLLM_OK;
}

static sllm_status cpu_swiglu_op(sllm_backend *backend, const sllm_backend_buffer *gate,
                                 const sllm_backend_buffer *up, int64_t n_elements, sllm_backend_buffer *out) {
    sllm_status status = check_floats(gate, n_elements, "swiglu", "gate");
    if (status == SLLM_OK) status = check_floats(up, n_elements, "swiglu", "up");
    if (status == SLLM_OK) status = check_floats(out, n_elements, "swiglu", "out");
    if (status != SLLM_OK) return status;
    cpu_swiglu(pool_of(backend), cfloats(gate), cfloats(up), n_elements, floats(out));
    return SLLM_OK;
}

static sllm_status cpu_add_op(sllm_backend *backend, sllm_backend_buffer *x, const sllm_backend_buffer *y,
                              int64_t n_elements) {
    sllm_status status = check_floats(x, n_elements, "add", "x");
    if (status == SLLM_OK) status = check_floats(y, n_elements, "add", "y");
    if (status != SLLM_OK) return status;
    cpu_add(pool_of(backend), floats(x), cfloats(y), n_elements);
    return SLLM_OK;
}

static sllm_status cpu_logits_op(sllm_backend *backend, const sllm_backend_weight *w, const sllm_backend_buffer *x,
                                 int64_t first_row, int64_t n_rows, sllm_backend_buffer *out) {
    const void *data;
    sllm_status status = weight_data(w, "logits", &data);
    if (status == SLLM_OK) status = check_floats(x, (first_row + n_rows) * w->n_cols, "logits", "x");
    if (status == SLLM_OK) status = check_floats(out, n_rows * w->n_rows, "logits", "out");
    if (status != SLLM_OK) return status;
    return run_matmul(backend, w, data, cfloats(x) + first_row * w->n_cols, n_rows, floats(out));
}

static sllm_status cpu_sync(sllm_backend *backend) { return SLLM_OK; }

static const sllm_backend_ops cpu_ops_table = {
    .struct_size = sizeof(sllm_backend_ops),
    .name = "cpu",
    .destroy = cpu_destroy,
    .buffer_alloc = cpu_buffer_alloc,
    .buffer_map_host = cpu_buffer_map_host,
    .buffer_free = cpu_buffer_free,
    .buffer_upload = cpu_buffer_upload,
    .buffer_download = cpu_buffer_download,
    .embed = cpu_embed,
    .rms_norm = cpu_rms_norm_op,
    .matmul = cpu_matmul_op,
    .rope = cpu_rope_op,
    .kv_write = cpu_kv_write_op,
    .attention = cpu_attention_op,
    .swiglu = cpu_swiglu_op,
    .add = cpu_add_op,
    .logits = cpu_logits_op,
    .sync = cpu_sync,
    .matmul_group = cpu_matmul_group_op,
    .kv_write_batch = cpu_kv_write_batch_op,
    .attention_batch = cpu_attention_batch_op,
};

sllm_status cpu_backend_create(int n_threads, sllm_backend **out) {
    if (out == NULL || n_threads < 1)
        return core_fail(SLLM_ERR_INVALID_ARGUMENT, "cpu backend: n_threads must be at least 1 (got %d)", n_threads);
    cpu_backend *backend = calloc(1, sizeof *backend);
    if (backend == NULL) return core_fail(SLLM_ERR_OUT_OF_MEMORY, "cpu backend: out of memory");
    backend->base.ops = &cpu_ops_table;
    cpu_features features = cpu_features_detect();
    backend->kernels = cpu_kernels_best(&features);
    sllm_status status = core_threadpool_create(n_threads, &backend->pool);
    if (status != SLLM_OK) {
        free(backend);
        return status;
    }
    *out = &backend->base;
    return SLLM_OK;
}
