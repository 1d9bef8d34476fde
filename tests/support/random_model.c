/* Writes seeded random models with the library's GGUF writer (tests only). */
#include "random_model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/cpu/cpu_fp16.h"
#include "format/gguf.h"

void random_model_defaults(random_model_spec *spec, const char *arch) {
    memset(spec, 0, sizeof *spec);
    spec->arch = arch;
    spec->n_embd = 64;
    spec->n_layer = 2;
    spec->n_head = 4;
    spec->n_head_kv = 2;
    spec->n_ff = 128;
    spec->n_vocab = 256;
    spec->n_ctx = 512;
    spec->type = 0; /* GGML_TYPE_F32 */
    spec->seed = 1;
}

static uint64_t next_random(uint64_t *state) {
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform in [-scale, scale), plus `offset`. */
static void fill(float *values, int64_t n, float scale, float offset, uint64_t *state) {
    for (int64_t i = 0; i < n; i++)
        values[i] = offset + scale * (float)((double)(next_random(state) >> 11) * 0x1.0p-53 * 2.0 - 1.0);
}

typedef struct writer_state {
    const random_model_spec *spec;
    gguf_writer *writer;
    uint64_t rng;
} writer_state;

static sllm_status add_tensor(writer_state *ws, const char *name, int64_t n_cols, int64_t n_rows, int is_vector) {
    const random_model_spec *spec = ws->spec;
    if (spec->omit_tensor && strcmp(spec->omit_tensor, name) == 0) return SLLM_OK;
    if (spec->short_tensor && strcmp(spec->short_tensor, name) == 0) n_rows -= 1;
    int64_t dims[2] = { n_cols, n_rows };
    uint32_t n_dims = is_vector ? 1 : 2;
    int64_t n = n_cols * (is_vector ? 1 : n_rows);
    uint32_t type = is_vector ? 0 : spec->type;
    if (spec->retyped_tensor && strcmp(spec->retyped_tensor, name) == 0) type = spec->retype;
    float *values = malloc((size_t)n * sizeof *values);
    uint16_t *halves = malloc((size_t)n * sizeof *halves);
    uint8_t *zeros = calloc((size_t)n, 4);
    sllm_status status = SLLM_ERR_OUT_OF_MEMORY;
    if (values && halves && zeros) {
        fill(values, n, is_vector ? 0.1f : 1.7f / sqrtf((float)n_cols), is_vector ? 1.0f : 0.0f, &ws->rng);
        for (int64_t i = 0; i < n; i++) halves[i] = cpu_f32_to_fp16(values[i]);
        const void *data = type == 0 ? (const void *)values : type == 1 ? (const void *)halves : (const void *)zeros;
        status = gguf_writer_add_tensor(ws->writer, name, type, n_dims, dims, data);
    }
    free(values);
    free(halves);
    free(zeros);
    return status;
}

static sllm_status add_u32(writer_state *ws, const char *suffix, int64_t value) {
    char key[128];
    snprintf(key, sizeof key, "%s.%s", ws->spec->arch, suffix);
    if (ws->spec->omit_key && strcmp(ws->spec->omit_key, key) == 0) return SLLM_OK;
    return gguf_writer_add_u32(ws->writer, key, (uint32_t)value);
}

static sllm_status add_f32(writer_state *ws, const char *suffix, float value) {
    char key[128];
    snprintf(key, sizeof key, "%s.%s", ws->spec->arch, suffix);
    if (ws->spec->omit_key && strcmp(ws->spec->omit_key, key) == 0) return SLLM_OK;
    return gguf_writer_add_f32(ws->writer, key, value);
}

static sllm_status add_metadata(writer_state *ws) {
    const random_model_spec *s = ws->spec;
    sllm_status status = gguf_writer_add_string(ws->writer, "general.architecture", s->arch);
    if (status == SLLM_OK) status = add_u32(ws, "context_length", s->n_ctx);
    if (status == SLLM_OK) status = add_u32(ws, "embedding_length", s->n_embd);
    if (status == SLLM_OK) status = add_u32(ws, "block_count", s->n_layer);
    if (status == SLLM_OK) status = add_u32(ws, "feed_forward_length", s->n_ff);
    if (status == SLLM_OK) status = add_u32(ws, "attention.head_count", s->n_head);
    if (status == SLLM_OK) status = add_u32(ws, "attention.head_count_kv", s->n_head_kv);
    if (status == SLLM_OK) status = add_f32(ws, "attention.layer_norm_rms_epsilon", 1e-5f);
    if (status == SLLM_OK) status = add_f32(ws, "rope.freq_base", 10000.0f);
    return status;
}

static sllm_status add_layer(writer_state *ws, int64_t il) {
    const random_model_spec *s = ws->spec;
    const int64_t head_dim = s->n_embd / s->n_head, n_q = s->n_head * head_dim, n_kv = s->n_head_kv * head_dim;
    const int qwen2 = strcmp(s->arch, "qwen2") == 0, qwen3 = strcmp(s->arch, "qwen3") == 0;
    const struct { const char *suffix; int64_t n_cols, n_rows; int is_vector, wanted; } parts[] = {
        { "attn_norm.weight", s->n_embd, 1, 1, 1 },
        { "attn_q.weight", s->n_embd, n_q, 0, 1 },
        { "attn_k.weight", s->n_embd, n_kv, 0, 1 },
        { "attn_v.weight", s->n_embd, n_kv, 0, 1 },
        { "attn_output.weight", n_q, s->n_embd, 0, 1 },
        { "attn_q.bias", n_q, 1, 1, qwen2 },
        { "attn_k.bias", n_kv, 1, 1, qwen2 },
        { "attn_v.bias", n_kv, 1, 1, qwen2 },
        { "attn_q_norm.weight", head_dim, 1, 1, qwen3 },
        { "attn_k_norm.weight", head_dim, 1, 1, qwen3 },
        { "ffn_norm.weight", s->n_embd, 1, 1, 1 },
        { "ffn_gate.weight", s->n_embd, s->n_ff, 0, 1 },
        { "ffn_up.weight", s->n_embd, s->n_ff, 0, 1 },
        { "ffn_down.weight", s->n_ff, s->n_embd, 0, 1 },
    };
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        if (!parts[i].wanted) continue;
        char name[96];
        snprintf(name, sizeof name, "blk.%lld.%s", (long long)il, parts[i].suffix);
        sllm_status status = add_tensor(ws, name, parts[i].n_cols, parts[i].n_rows, parts[i].is_vector);
        if (status != SLLM_OK) return status;
    }
    return SLLM_OK;
}

sllm_status random_model_write(const random_model_spec *spec, const char *path) {
    writer_state ws = { spec, NULL, spec->seed };
    sllm_status status = gguf_writer_create(&ws.writer);
    if (status == SLLM_OK) status = add_metadata(&ws);
    if (status == SLLM_OK) status = add_tensor(&ws, "token_embd.weight", spec->n_embd, spec->n_vocab, 0);
    if (status == SLLM_OK) status = add_tensor(&ws, "output_norm.weight", spec->n_embd, 1, 1);
    if (status == SLLM_OK && !spec->tied) status = add_tensor(&ws, "output.weight", spec->n_embd, spec->n_vocab, 0);
    if (status == SLLM_OK && spec->llama3_rope_freqs)
        status = add_tensor(&ws, "rope_freqs.weight", spec->n_embd / spec->n_head / 2, 1, 1);
    for (int64_t il = 0; status == SLLM_OK && il < spec->n_layer; il++) status = add_layer(&ws, il);
    if (status == SLLM_OK) status = gguf_writer_to_file(ws.writer, path);
    gguf_writer_free(ws.writer);
    return status;
}
