/* The forward pass of llama, qwen2 and qwen3, driven through the backend vtable. It reads
 * top to bottom like the data flow: embed, per layer attention then feed-forward, logits. */
#include "engine/forward.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "model/model_internal.h"

/* Logits are produced this many rows at a time, so that all-logits requests over long
 * prompts need no n_tokens x n_vocab scratch. */
enum { LOGITS_ROWS = 8 };

typedef struct layer_views {
    sllm_backend_weight wq, wk, wv, wo, ffn_gate, ffn_up, ffn_down;
    sllm_backend_buffer *attn_norm, *ffn_norm, *bq, *bk, *bv, *bo, *q_norm, *k_norm;
} layer_views;

struct forward_context {
    const model_hparams *hp;
    sllm_backend *backend;
    const sllm_backend_ops *ops;
    int64_t max_batch_tokens;
    sllm_backend_buffer *weights_buffer;    /* the GGUF data section */
    sllm_backend_weight token_embd, output;
    sllm_backend_buffer *output_norm, *rope_freqs;
    layer_views *layers;
    /* scratch, [max_batch_tokens][width] each */
    sllm_backend_buffer *x, *xn, *q, *k, *v, *attn, *proj, *gate, *up, *logits;
    int32_t *positions;                     /* host */
    int32_t *tokens;                        /* host: the tokens of batched sequences, together */
    sllm_backend_sequence *seqs;            /* host: one per batched sequence */
    float *row;                             /* host: one row of x, gathered for logits */
};

/* ---- setup ------------------------------------------------------------------------------ */

static sllm_backend_weight matrix_view(const forward_context *ctx, const model_tensor *tensor) {
    sllm_backend_weight view = { ctx->weights_buffer, tensor->offset, tensor->type, tensor->n_cols, tensor->n_rows,
                                 (sllm_weight_layout)tensor->layout };
    return view;
}

/* Small F32 vectors get their own buffers (zero-copy on the CPU). Absent: NULL. */
static sllm_status vector_view(forward_context *ctx, const model_tensor *tensor, sllm_backend_buffer **out) {
    *out = NULL;
    if (tensor->data == NULL) return SLLM_OK;
    return ctx->ops->buffer_map_host(ctx->backend, tensor->data, tensor->size_bytes, out);
}

static sllm_status bind_layer(forward_context *ctx, const model_layer *layer, layer_views *views) {
    views->wq = matrix_view(ctx, &layer->wq);
    views->wk = matrix_view(ctx, &layer->wk);
    views->wv = matrix_view(ctx, &layer->wv);
    views->wo = matrix_view(ctx, &layer->wo);
    views->ffn_gate = matrix_view(ctx, &layer->ffn_gate);
    views->ffn_up = matrix_view(ctx, &layer->ffn_up);
    views->ffn_down = matrix_view(ctx, &layer->ffn_down);
    const model_tensor *vectors[] = { &layer->attn_norm, &layer->ffn_norm, &layer->bq, &layer->bk,
                                      &layer->bv, &layer->bo, &layer->q_norm, &layer->k_norm };
    sllm_backend_buffer **outs[] = { &views->attn_norm, &views->ffn_norm, &views->bq, &views->bk,
                                     &views->bv, &views->bo, &views->q_norm, &views->k_norm };
    for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
        sllm_status status = vector_view(ctx, vectors[i], outs[i]);
        if (status != SLLM_OK) return status;
    }
    return SLLM_OK;
}

static sllm_status bind_weights(forward_context *ctx, const model_weights *w) {
    sllm_status status = ctx->ops->buffer_map_host(ctx->backend, w->data, w->data_bytes, &ctx->weights_buffer);
    if (status != SLLM_OK) return status;
    ctx->token_embd = matrix_view(ctx, &w->token_embd);
    ctx->output = matrix_view(ctx, &w->output);
    if ((status = vector_view(ctx, &w->output_norm, &ctx->output_norm)) != SLLM_OK) return status;
    if ((status = vector_view(ctx, &w->rope_freqs, &ctx->rope_freqs)) != SLLM_OK) return status;
    ctx->layers = calloc((size_t)w->n_layers, sizeof *ctx->layers);
    if (ctx->layers == NULL) return core_fail(SLLM_ERR_OUT_OF_MEMORY, "forward: out of memory");
    for (int64_t il = 0; il < w->n_layers; il++)
        if ((status = bind_layer(ctx, &w->layers[il], &ctx->layers[il])) != SLLM_OK) return status;
    return SLLM_OK;
}

static sllm_status alloc_scratch(forward_context *ctx) {
    const model_hparams *hp = ctx->hp;
    const int64_t rows = ctx->max_batch_tokens, n_q = hp->n_head * hp->head_dim, n_kv = hp->n_head_kv * hp->head_dim;
    const int64_t logits_rows = rows < LOGITS_ROWS ? rows : LOGITS_ROWS;
    struct { sllm_backend_buffer **buffer; int64_t n_floats; } plan[] = {
        { &ctx->x, rows * hp->n_embd }, { &ctx->xn, rows * hp->n_embd }, { &ctx->q, rows * n_q },
        { &ctx->k, rows * n_kv }, { &ctx->v, rows * n_kv }, { &ctx->attn, rows * n_q },
        { &ctx->proj, rows * hp->n_embd }, { &ctx->gate, rows * hp->n_ff }, { &ctx->up, rows * hp->n_ff },
        { &ctx->logits, logits_rows * hp->n_vocab },
    };
    for (size_t i = 0; i < sizeof plan / sizeof plan[0]; i++) {
        sllm_status status = ctx->ops->buffer_alloc(ctx->backend, (size_t)plan[i].n_floats * sizeof(float), plan[i].buffer);
        if (status != SLLM_OK) return status;
    }
    ctx->positions = malloc((size_t)rows * sizeof *ctx->positions);
    ctx->tokens = malloc((size_t)rows * sizeof *ctx->tokens);
    ctx->seqs = malloc((size_t)rows * sizeof *ctx->seqs);
    ctx->row = malloc((size_t)hp->n_embd * sizeof *ctx->row);
    if (!ctx->positions || !ctx->tokens || !ctx->seqs || !ctx->row)
        return core_fail(SLLM_ERR_OUT_OF_MEMORY, "forward: out of memory");
    return SLLM_OK;
}

sllm_status forward_create(const sllm_model *model, sllm_backend *backend, int64_t max_batch_tokens,
                           forward_context **out) {
    if (model == NULL || backend == NULL || out == NULL || max_batch_tokens < 1)
        return core_fail(SLLM_ERR_INVALID_ARGUMENT, "forward_create: NULL argument or max_batch_tokens < 1");
    if (!model->has_weights)
        return core_fail(SLLM_ERR_INVALID_ARGUMENT, "forward_create: the model was loaded with metadata_only");
    forward_context *ctx = calloc(1, sizeof *ctx);
    if (ctx == NULL) return core_fail(SLLM_ERR_OUT_OF_MEMORY, "forward: out of memory");
    ctx->hp = &model->hparams;
    ctx->backend = backend;
    ctx->ops = backend->ops;
    ctx->max_batch_tokens = max_batch_tokens;
    sllm_status status = bind_weights(ctx, &model->weights);
    if (status == SLLM_OK) status = alloc_scratch(ctx);
    if (status != SLLM_OK) goto fail;
    *out = ctx;
    return SLLM_OK;
fail:
    forward_free(ctx);
    return status;
}

static void free_buffers(forward_context *ctx, sllm_backend_buffer **buffers, size_t count) {
    for (size_t i = 0; i < count; i++) ctx->ops->buffer_free(ctx->backend, buffers[i]);
}

void forward_free(forward_context *ctx) {
    if (ctx == NULL) return;
    for (int64_t il = 0; ctx->layers && il < ctx->hp->n_layer; il++) {
        layer_views *l = &ctx->layers[il];
        sllm_backend_buffer *vectors[] = { l->attn_norm, l->ffn_norm, l->bq, l->bk, l->bv, l->bo, l->q_norm, l->k_norm };
        free_buffers(ctx, vectors, sizeof vectors / sizeof vectors[0]);
    }
    sllm_backend_buffer *buffers[] = { ctx->x, ctx->xn, ctx->q, ctx->k, ctx->v, ctx->attn, ctx->proj, ctx->gate,
                                       ctx->up, ctx->logits, ctx->output_norm, ctx->rope_freqs, ctx->weights_buffer };
    free_buffers(ctx, buffers, sizeof buffers / sizeof buffers[0]);
    free(ctx->layers);
    free(ctx->positions);
    free(ctx->tokens);
    free(ctx->seqs);
    free(ctx->row);
    free(ctx);
}

void forward_kv_layout(const sllm_model *model, sllm_kv_dtype dtype, int64_t block_size, sllm_kv_layout *out) {
    out->n_layers = model->hparams.n_layer;
    out->n_kv_heads = model->hparams.n_head_kv;
    out->head_dim = model->hparams.head_dim;
    out->block_size = block_size;
    out->dtype = dtype;
}

int64_t forward_n_vocab(const forward_context *ctx) { return ctx->hp->n_vocab; }

/* ---- one step ------------------------------------------------------------------------------- */

/* What one pass through the layers processes: the new tokens of one or more sequences,
 * one after another (seqs[s] says where sequence s's tokens sit). */
typedef struct chunk {
    sllm_backend_buffer *kv_pool;
    const sllm_kv_layout *kv_layout;
    const int32_t *tokens;
    int64_t n_tokens;
    const sllm_backend_sequence *seqs;
    int64_t n_seqs;
} chunk;

static int has_batch_ops(const sllm_backend_ops *ops) {
    return ops->struct_size >= offsetof(sllm_backend_ops, attention_batch) + sizeof ops->attention_batch &&
           ops->kv_write_batch != NULL && ops->attention_batch != NULL;
}

/* K/V of the chunk's tokens into the pool, then their attention. */
static sllm_status write_and_attend(forward_context *ctx, const chunk *c, int64_t il) {
    const model_hparams *hp = ctx->hp;
    const sllm_backend_ops *ops = ctx->ops;
    const float scale = (float)(1.0 / sqrt((double)hp->head_dim));
    if (c->n_seqs > 1) {
        sllm_status status = ops->kv_write_batch(ctx->backend, c->kv_pool, c->kv_layout, il, c->seqs, c->n_seqs,
                                                 ctx->k, ctx->v);
        if (status != SLLM_OK) return status;
        return ops->attention_batch(ctx->backend, ctx->q, c->kv_pool, c->kv_layout, il, c->seqs, c->n_seqs,
                                    hp->n_head, scale, ctx->attn);
    }
    const sllm_backend_sequence *seq = &c->seqs[0];
    sllm_status status = ops->kv_write(ctx->backend, c->kv_pool, c->kv_layout, il, seq->block_table, seq->pos0,
                                       seq->n_tokens, ctx->k, ctx->v);
    if (status != SLLM_OK) return status;
    return ops->attention(ctx->backend, ctx->q, c->kv_pool, c->kv_layout, il, seq->block_table, seq->pos0,
                          seq->n_tokens, hp->n_head, scale, ctx->attn);
}

/* Matmuls sharing their input in one backend call when the backend has matmul_group
 * (an appended vtable entry), else one by one: the results are the same. */
static sllm_status matmul_group(forward_context *ctx, int n, const sllm_backend_weight *w,
                                const sllm_backend_buffer *const *bias, const sllm_backend_buffer *x, int64_t n_tokens,
                                sllm_backend_buffer *const *y) {
    const sllm_backend_ops *ops = ctx->ops;
    if (ops->struct_size >= offsetof(sllm_backend_ops, matmul_group) + sizeof ops->matmul_group && ops->matmul_group)
        return ops->matmul_group(ctx->backend, n, w, bias, x, n_tokens, y);
    sllm_status status = SLLM_OK;
    for (int i = 0; i < n && status == SLLM_OK; i++)
        status = ops->matmul(ctx->backend, &w[i], bias ? bias[i] : NULL, x, n_tokens, y[i]);
    return status;
}

static sllm_status attention_block(forward_context *ctx, const chunk *c, int64_t il) {
    const model_hparams *hp = ctx->hp;
    const sllm_backend_ops *ops = ctx->ops;
    sllm_backend *be = ctx->backend;
    const layer_views *l = &ctx->layers[il];
    const int64_t n = c->n_tokens;
    const sllm_rope_params rope = { (sllm_rope_mode)hp->rope_type, hp->n_rot, hp->rope_freq_base,
                                    hp->rope_freq_scale, ctx->rope_freqs };
    sllm_status status = ops->rms_norm(be, ctx->x, l->attn_norm, n, hp->n_embd, hp->rms_eps, ctx->xn);
    if (status == SLLM_OK) {
        const sllm_backend_weight w[] = { l->wq, l->wk, l->wv };
        const sllm_backend_buffer *bias[] = { l->bq, l->bk, l->bv };
        sllm_backend_buffer *y[] = { ctx->q, ctx->k, ctx->v };
        status = matmul_group(ctx, 3, w, bias, ctx->xn, n, y);
    }
    if (status == SLLM_OK && l->q_norm)
        status = ops->rms_norm(be, ctx->q, l->q_norm, n * hp->n_head, hp->head_dim, hp->rms_eps, ctx->q);
    if (status == SLLM_OK && l->k_norm)
        status = ops->rms_norm(be, ctx->k, l->k_norm, n * hp->n_head_kv, hp->head_dim, hp->rms_eps, ctx->k);
    if (status == SLLM_OK) status = ops->rope(be, ctx->q, n, hp->n_head, hp->head_dim, ctx->positions, &rope);
    if (status == SLLM_OK) status = ops->rope(be, ctx->k, n, hp->n_head_kv, hp->head_dim, ctx->positions, &rope);
    if (status == SLLM_OK) status = write_and_attend(ctx, c, il);
    if (status == SLLM_OK) status = ops->matmul(be, &l->wo, l->bo, ctx->attn, n, ctx->proj);
    if (status == SLLM_OK) status = ops->add(be, ctx->x, ctx->proj, n * hp->n_embd);
    return status;
}

static sllm_status feed_forward_block(forward_context *ctx, const chunk *c, int64_t il) {
    const model_hparams *hp = ctx->hp;
    const sllm_backend_ops *ops = ctx->ops;
    sllm_backend *be = ctx->backend;
    const layer_views *l = &ctx->layers[il];
    const int64_t n = c->n_tokens;
    sllm_status status = ops->rms_norm(be, ctx->x, l->ffn_norm, n, hp->n_embd, hp->rms_eps, ctx->xn);
    if (status == SLLM_OK) {
        const sllm_backend_weight w[] = { l->ffn_gate, l->ffn_up };
        sllm_backend_buffer *y[] = { ctx->gate, ctx->up };
        status = matmul_group(ctx, 2, w, NULL, ctx->xn, n, y);
    }
    if (status == SLLM_OK) status = ops->swiglu(be, ctx->gate, ctx->up, n * hp->n_ff, ctx->gate);
    if (status == SLLM_OK) status = ops->matmul(be, &l->ffn_down, NULL, ctx->gate, n, ctx->proj);
    if (status == SLLM_OK) status = ops->add(be, ctx->x, ctx->proj, n * hp->n_embd);
    return status;
}

/* Logits of rows [first_row, first_row + n_rows) of the normed chunk (ctx->xn), to host:
 * row r to dst + r * n_vocab, or, when `batches` is given, to batches[r]->logits. Each
 * LOGITS_ROWS rows share one read of the output matrix. */
static sllm_status emit_logits(forward_context *ctx, int64_t first_row, int64_t n_rows, float *dst,
                               const forward_batch *const *batches) {
    const int64_t n_vocab = ctx->hp->n_vocab;
    const size_t row_bytes = (size_t)n_vocab * sizeof(float);
    for (int64_t done = 0; done < n_rows; done += LOGITS_ROWS) {
        int64_t rows = n_rows - done < LOGITS_ROWS ? n_rows - done : LOGITS_ROWS;
        sllm_status status = ctx->ops->logits(ctx->backend, &ctx->output, ctx->xn, first_row + done, rows, ctx->logits);
        if (status == SLLM_OK && batches == NULL)
            status = ctx->ops->buffer_download(ctx->backend, ctx->logits, 0, dst + done * n_vocab, (size_t)rows * row_bytes);
        for (int64_t r = 0; status == SLLM_OK && batches != NULL && r < rows; r++)
            status = ctx->ops->buffer_download(ctx->backend, ctx->logits, (size_t)r * row_bytes,
                                               batches[done + r]->logits, row_bytes);
        if (status != SLLM_OK) return status;
    }
    return SLLM_OK;
}

/* The chunk through every layer, leaving the last hidden states in ctx->x. */
static sllm_status run_layers(forward_context *ctx, const chunk *c) {
    for (int64_t s = 0, t = 0; s < c->n_seqs; s++)
        for (int64_t i = 0; i < c->seqs[s].n_tokens; i++, t++) ctx->positions[t] = (int32_t)(c->seqs[s].pos0 + i);
    sllm_status status = ctx->ops->embed(ctx->backend, &ctx->token_embd, c->tokens, c->n_tokens, ctx->x);
    for (int64_t il = 0; status == SLLM_OK && il < ctx->hp->n_layer; il++) {
        status = attention_block(ctx, c, il);
        if (status == SLLM_OK) status = feed_forward_block(ctx, c, il);
    }
    return status;
}

/* One sequence's chunk; logits of its rows from first_row on (none when first_row is
 * n_tokens). */
static sllm_status run_chunk(forward_context *ctx, const chunk *c, int64_t first_row, float *logits) {
    const model_hparams *hp = ctx->hp;
    sllm_status status = run_layers(ctx, c);
    if (status != SLLM_OK || first_row >= c->n_tokens) return status;
    status = ctx->ops->rms_norm(ctx->backend, ctx->x, ctx->output_norm, c->n_tokens, hp->n_embd, hp->rms_eps, ctx->xn);
    if (status != SLLM_OK) return status;
    return emit_logits(ctx, first_row, c->n_tokens - first_row, logits, NULL);
}

static sllm_status check_batch(const forward_context *ctx, const forward_batch *b) {
    if (b == NULL || b->tokens == NULL || b->n_tokens < 1 || b->n_past < 0 || b->block_table == NULL ||
        b->kv_pool == NULL || b->kv_layout == NULL || b->logits == NULL)
        return core_fail(SLLM_ERR_INVALID_ARGUMENT, "forward_run: NULL argument or no tokens");
    const model_hparams *hp = ctx->hp;
    const sllm_kv_layout *kv = b->kv_layout;
    if (kv->n_layers != hp->n_layer || kv->n_kv_heads != hp->n_head_kv || kv->head_dim != hp->head_dim)
        return core_fail(SLLM_ERR_INVALID_ARGUMENT, "forward_run: the KV layout does not match the model");
    int64_t end = b->n_past + b->n_tokens;
    if (end > hp->n_ctx)
        return core_fail(SLLM_ERR_CONTEXT_OVERFLOW, "%lld tokens exceed the model's context of %lld",
                         (long long)end, (long long)hp->n_ctx);
    if (b->n_blocks * kv->block_size < end)
        return core_fail(SLLM_ERR_INVALID_ARGUMENT, "forward_run: %lld blocks of %lld tokens cannot hold %lld tokens",
                         (long long)b->n_blocks, (long long)kv->block_size, (long long)end);
    return SLLM_OK;
}

sllm_status forward_run(forward_context *ctx, const forward_batch *batch) {
    if (ctx == NULL) return core_fail(SLLM_ERR_INVALID_ARGUMENT, "forward_run: NULL context");
    sllm_status status = check_batch(ctx, batch);
    const int64_t n_vocab = ctx->hp->n_vocab;
    for (int64_t done = 0; status == SLLM_OK && done < batch->n_tokens; done += ctx->max_batch_tokens) {
        int64_t n = batch->n_tokens - done;
        if (n > ctx->max_batch_tokens) n = ctx->max_batch_tokens;
        const sllm_backend_sequence seq = { batch->block_table, batch->n_past + done, n };
        chunk c = { batch->kv_pool, batch->kv_layout, batch->tokens + done, n, &seq, 1 };
        int is_last = done + n == batch->n_tokens;
        int64_t first_row = batch->all_logits ? 0 : is_last ? n - 1 : n;
        float *logits = batch->all_logits ? batch->logits + done * n_vocab : batch->logits;
        status = run_chunk(ctx, &c, first_row, logits);
    }
    return status;
}

/* Whether the batches can share one pass: last-token logits only, one pool, and their
 * tokens together within max_batch_tokens. */
static int can_share_pass(const forward_context *ctx, const forward_batch *const *batches, int64_t n_batches) {
    int64_t total = 0;
    for (int64_t i = 0; i < n_batches; i++) {
        if (batches[i]->all_logits || batches[i]->kv_pool != batches[0]->kv_pool ||
            batches[i]->kv_layout != batches[0]->kv_layout)
            return 0;
        total += batches[i]->n_tokens;
    }
    return n_batches > 1 && total <= ctx->max_batch_tokens && has_batch_ops(ctx->ops);
}

/* Row `row` of ctx->x to row `dst_row` of ctx->xn (through the host: any backend). */
static sllm_status gather_row(forward_context *ctx, int64_t row, int64_t dst_row) {
    const size_t bytes = (size_t)ctx->hp->n_embd * sizeof(float);
    sllm_status status = ctx->ops->buffer_download(ctx->backend, ctx->x, (size_t)row * bytes, ctx->row, bytes);
    if (status != SLLM_OK) return status;
    return ctx->ops->buffer_upload(ctx->backend, ctx->xn, (size_t)dst_row * bytes, ctx->row, bytes);
}

/* Logits of each sequence's last row: the rows gathered into ctx->xn, normed together. */
static sllm_status emit_last_logits(forward_context *ctx, const forward_batch *const *batches, int64_t n_batches) {
    const model_hparams *hp = ctx->hp;
    sllm_status status = SLLM_OK;
    for (int64_t i = 0, end = 0; i < n_batches && status == SLLM_OK; i++) {
        end += batches[i]->n_tokens;
        status = gather_row(ctx, end - 1, i);
    }
    if (status == SLLM_OK)
        status = ctx->ops->rms_norm(ctx->backend, ctx->xn, ctx->output_norm, n_batches, hp->n_embd, hp->rms_eps, ctx->xn);
    if (status == SLLM_OK) status = emit_logits(ctx, 0, n_batches, NULL, batches);
    return status;
}

sllm_status forward_run_many(forward_context *ctx, const forward_batch *const *batches, int64_t n_batches) {
    if (ctx == NULL || batches == NULL || n_batches < 1)
        return core_fail(SLLM_ERR_INVALID_ARGUMENT, "forward_run_many: NULL argument or no batches");
    for (int64_t i = 0; i < n_batches; i++) {
        sllm_status status = check_batch(ctx, batches[i]);
        if (status != SLLM_OK) return status;
    }
    if (!can_share_pass(ctx, batches, n_batches)) {
        sllm_status status = SLLM_OK;
        for (int64_t i = 0; i < n_batches && status == SLLM_OK; i++) status = forward_run(ctx, batches[i]);
        return status;
    }
    int64_t n_tokens = 0;
    for (int64_t i = 0; i < n_batches; i++) {
        const forward_batch *b = batches[i];
        ctx->seqs[i] = (sllm_backend_sequence){ b->block_table, b->n_past, b->n_tokens };
        memcpy(ctx->tokens + n_tokens, b->tokens, (size_t)b->n_tokens * sizeof *ctx->tokens);
        n_tokens += b->n_tokens;
    }
    chunk c = { batches[0]->kv_pool, batches[0]->kv_layout, ctx->tokens, n_tokens, ctx->seqs, n_batches };
    sllm_status status = run_layers(ctx, &c);
    if (status != SLLM_OK) return status;
    return emit_last_logits(ctx, batches, n_batches);
}
