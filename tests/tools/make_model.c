/* Writes seeded random llama/qwen2/qwen3 GGUF models (weights + a small byte-level BPE
 * vocabulary + ChatML template) for the reference tests and benchmarks. */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/cpu/cpu_fp16.h"
#include "format/gguf.h"

/* Weight values: every tensor gets its own splitmix64 stream seeded with
 * seed ^ fnv1a64(name), and element i (in file order) is
 *     (float)((2 * u_i - 1) * std * sqrt(3)),  u_i = (next() >> 11) * 2^-53,
 * a uniform distribution with standard deviation `std`; 1-D norm weights add 1.0.
 * tests/python/test_ref_reader.py recomputes this in Python. Scales: matrices get
 * std 1/sqrt(fan_in) so every projection keeps O(1) activations (attention scores of
 * order 1, so attention and RoPE matter to the logits); the token embedding gets 0.02
 * (as trained models roughly do) so the layers, not the input token, dominate the
 * residual stream and greedy decoding does not just repeat the last token. */

typedef struct model_shape {
    const char *arch;
    int64_t n_embd, n_layer, n_head, n_head_kv, n_ff, n_vocab, n_ctx, head_dim;
    uint64_t seed;
    uint32_t type;          /* GGML_TYPE_F32 / F16 / BF16 for matrices */
    bool tied;
    bool llama3_scaling;
    double freq_base;
    float rms_eps;
} model_shape;

static uint64_t fnv1a64(const char *text) {
    uint64_t hash = 0xcbf29ce484222325ull;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        hash ^= *p;
        hash *= 0x100000001b3ull;
    }
    return hash;
}

static uint64_t splitmix64_next(uint64_t *state) {
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static float *random_values(const char *name, uint64_t seed, int64_t count, double std,
                            double offset) {
    float *values = malloc((size_t)count * sizeof *values);
    if (!values) return NULL;
    uint64_t state = seed ^ fnv1a64(name);
    double half_width = std * sqrt(3.0);
    for (int64_t i = 0; i < count; i++) {
        double u = (double)(splitmix64_next(&state) >> 11) * 0x1.0p-53;
        values[i] = (float)(offset + (2.0 * u - 1.0) * half_width);
    }
    return values;
}

static void *convert_values(float *values, int64_t count, uint32_t type) {
    if (type == GGML_TYPE_F32) return values;
    uint16_t *out = malloc((size_t)count * sizeof *out);
    if (out)
        for (int64_t i = 0; i < count; i++)
            out[i] = type == GGML_TYPE_F16 ? cpu_f32_to_fp16(values[i]) : cpu_f32_to_bf16(values[i]);
    free(values);
    return out;
}

static bool add_random_tensor(gguf_writer *writer, const model_shape *shape, const char *name,
                              uint32_t type, int64_t dim0, int64_t dim1, double std,
                              double offset) {
    int64_t dims[2] = {dim0, dim1};
    int64_t count = dim0 * dim1;
    void *data = convert_values(random_values(name, shape->seed, count, std, offset), count,
                                type);
    if (!data) {
        fprintf(stderr, "make_model: out of memory for %s\n", name);
        return false;
    }
    sllm_status status = gguf_writer_add_tensor(writer, name, type, dim1 == 1 ? 1 : 2, dims,
                                                data);
    free(data);
    if (status != SLLM_OK) {
        fprintf(stderr, "make_model: adding %s: %s\n", name, sllm_last_error());
        return false;
    }
    return true;
}

/* Llama 3 frequency factors exactly as HF transformers / convert_hf_to_gguf compute
 * them (factor 8, low 1, high 4, original context 8192). */
static bool add_llama3_rope_freqs(gguf_writer *writer, const model_shape *shape) {
    const double factor = 8.0, low_freq_factor = 1.0, high_freq_factor = 4.0;
    const double original_ctx = 8192.0;
    const double low_freq_wavelen = original_ctx / low_freq_factor;
    const double high_freq_wavelen = original_ctx / high_freq_factor;
    int64_t n_pairs = shape->head_dim / 2;
    float factors[512];
    if (n_pairs > 512) return false;
    for (int64_t i = 0; i < n_pairs; i++) {
        double freq = 1.0 / pow(shape->freq_base, (double)(2 * i) / (double)shape->head_dim);
        double wavelen = 2.0 * M_PI / freq;
        double rope_factor = 1.0;
        if (wavelen > low_freq_wavelen) {
            rope_factor = factor;
        } else if (wavelen >= high_freq_wavelen) {
            double smooth = (original_ctx / wavelen - low_freq_factor) /
                            (high_freq_factor - low_freq_factor);
            rope_factor = 1.0 / ((1.0 - smooth) / factor + smooth);
        }
        factors[i] = (float)rope_factor;
    }
    int64_t dims[1] = {n_pairs};
    return gguf_writer_add_tensor(writer, "rope_freqs.weight", GGML_TYPE_F32, 1, dims,
                                  factors) == SLLM_OK;
}

static bool add_layer(gguf_writer *writer, const model_shape *shape, int64_t layer) {
    int64_t embd = shape->n_embd, ff = shape->n_ff, hd = shape->head_dim;
    int64_t q_dim = shape->n_head * hd, kv_dim = shape->n_head_kv * hd;
    double in_std = 1.0 / sqrt((double)embd);
    char name[96];
#define TENSOR(suffix, type, d0, d1, std, offset)                                       \
    (snprintf(name, sizeof name, "blk.%lld." suffix, (long long)layer),                  \
     add_random_tensor(writer, shape, name, type, d0, d1, std, offset))
    bool ok = TENSOR("attn_norm.weight", GGML_TYPE_F32, embd, 1, 0.1, 1.0) &&
              TENSOR("attn_q.weight", shape->type, embd, q_dim, in_std, 0.0) &&
              TENSOR("attn_k.weight", shape->type, embd, kv_dim, in_std, 0.0) &&
              TENSOR("attn_v.weight", shape->type, embd, kv_dim, in_std, 0.0) &&
              TENSOR("attn_output.weight", shape->type, q_dim, embd,
                     1.0 / sqrt((double)q_dim), 0.0) &&
              TENSOR("ffn_norm.weight", GGML_TYPE_F32, embd, 1, 0.1, 1.0) &&
              TENSOR("ffn_gate.weight", shape->type, embd, ff, in_std, 0.0) &&
              TENSOR("ffn_up.weight", shape->type, embd, ff, in_std, 0.0) &&
              TENSOR("ffn_down.weight", shape->type, ff, embd, 1.0 / sqrt((double)ff), 0.0);
    if (ok && strcmp(shape->arch, "qwen2") == 0)
        ok = TENSOR("attn_q.bias", GGML_TYPE_F32, q_dim, 1, 0.2, 0.0) &&
             TENSOR("attn_k.bias", GGML_TYPE_F32, kv_dim, 1, 0.2, 0.0) &&
             TENSOR("attn_v.bias", GGML_TYPE_F32, kv_dim, 1, 0.2, 0.0);
    if (ok && strcmp(shape->arch, "qwen3") == 0)
        ok = TENSOR("attn_q_norm.weight", GGML_TYPE_F32, hd, 1, 0.1, 1.0) &&
             TENSOR("attn_k_norm.weight", GGML_TYPE_F32, hd, 1, 0.1, 1.0);
#undef TENSOR
    return ok;
}

static bool add_tensors(gguf_writer *writer, const model_shape *shape) {
    if (!add_random_tensor(writer, shape, "token_embd.weight", shape->type, shape->n_embd,
                           shape->n_vocab, 0.02, 0.0))
        return false;
    if (shape->llama3_scaling && !add_llama3_rope_freqs(writer, shape)) return false;
    for (int64_t layer = 0; layer < shape->n_layer; layer++)
        if (!add_layer(writer, shape, layer)) return false;
    if (!add_random_tensor(writer, shape, "output_norm.weight", GGML_TYPE_F32, shape->n_embd,
                           1, 0.1, 1.0))
        return false;
    if (shape->tied) return true;
    return add_random_tensor(writer, shape, "output.weight", shape->type, shape->n_embd,
                             shape->n_vocab, 1.0 / sqrt((double)shape->n_embd), 0.0);
}

/* ---- vocabulary ------------------------------------------------------------------- */

/* GPT-2's bytes_to_unicode: printable bytes map to themselves, the rest to U+0100.. */
static uint32_t byte_to_codepoint(int byte) {
    if ((byte >= 33 && byte <= 126) || (byte >= 161 && byte <= 172) ||
        (byte >= 174 && byte <= 255))
        return (uint32_t)byte;
    uint32_t n = 0;
    for (int b = 0; b < byte; b++)
        if (!((b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255))) n++;
    return 256u + n;
}

static size_t put_utf8(char *out, uint32_t cp) {
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    out[0] = (char)(0xc0 | (cp >> 6));
    out[1] = (char)(0x80 | (cp & 0x3f));
    return 2;
}

typedef struct vocab_builder {
    char **tokens;
    int32_t *types;
    char **merges;
    int64_t n_tokens, n_merges, n_regular;
} vocab_builder;

static char *concat(const char *a, const char *sep, const char *b) {
    size_t len = strlen(a) + strlen(sep) + strlen(b) + 1;
    char *out = malloc(len);
    if (out) snprintf(out, len, "%s%s%s", a, sep, b);
    return out;
}

/* Adds token left+right with merge "left right" while there is room. */
static bool add_merge(vocab_builder *vb, const char *left, const char *right) {
    if (vb->n_tokens >= vb->n_regular) return true;
    char *token = concat(left, "", right), *merge = concat(left, " ", right);
    if (!token || !merge) {
        free(token);
        free(merge);
        return false;
    }
    vb->types[vb->n_tokens] = 1;
    vb->tokens[vb->n_tokens++] = token;
    vb->merges[vb->n_merges++] = merge;
    return true;
}

/* Merged tokens in a systematic order whose parts always exist already: " x", "xy",
 * " xy", "xyz", " xyz" over lowercase letters in English frequency order. */
static bool add_merged_tokens(vocab_builder *vb) {
    static const char letters[] = "etaoinshrdlcumwfgypbvkjxqz";
    const char *space = "\xc4\xa0"; /* U+0120, the byte-level form of ' ' */
    char a[2] = {0}, b[2] = {0}, c[2] = {0}, sp_a[8], ab[4], sp_ab[8];
    bool ok = true;
    for (int i = 0; i < 26 && ok; i++) {
        a[0] = letters[i];
        ok = add_merge(vb, space, a);
    }
    for (int i = 0; i < 26 && ok; i++)
        for (int j = 0; j < 26 && ok; j++) {
            a[0] = letters[i];
            b[0] = letters[j];
            ok = add_merge(vb, a, b);
        }
    for (int i = 0; i < 26 && ok; i++)
        for (int j = 0; j < 26 && ok; j++) {
            a[0] = letters[i];
            b[0] = letters[j];
            snprintf(sp_a, sizeof sp_a, "%s%s", space, a);
            ok = add_merge(vb, sp_a, b);
        }
    for (int round = 0; round < 2; round++)
        for (int i = 0; i < 26 && ok; i++)
            for (int j = 0; j < 26 && ok; j++)
                for (int k = 0; k < 26 && ok && vb->n_tokens < vb->n_regular; k++) {
                    a[0] = letters[i];
                    b[0] = letters[j];
                    c[0] = letters[k];
                    snprintf(ab, sizeof ab, "%s%s", a, b);
                    snprintf(sp_ab, sizeof sp_ab, "%s%s", space, ab);
                    ok = add_merge(vb, round == 0 ? ab : sp_ab, c);
                }
    return ok;
}

/* 256 bytes + the merged tokens add_merged_tokens can make + 3 control tokens. */
enum { MAX_VOCAB = 256 + 26 + 676 + 676 + 2 * 17576 + 3 };

static const char CHATML_TEMPLATE[] =
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + "
    "message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}"
    "{{ '<|im_start|>assistant\\n' }}{% endif %}";

static void vocab_free(vocab_builder *vb) {
    for (int64_t i = 0; i < vb->n_tokens; i++) free(vb->tokens[i]);
    for (int64_t i = 0; i < vb->n_merges; i++) free(vb->merges[i]);
    free(vb->tokens);
    free(vb->types);
    free(vb->merges);
}

/* 256 byte tokens, merged tokens up to n_vocab - 3, then <|endoftext|>, <|im_start|>,
 * <|im_end|> as control tokens (BOS = <|endoftext|>, EOS = <|im_end|>). */
static bool add_vocab(gguf_writer *writer, const model_shape *shape) {
    static const char *const controls[3] = {"<|endoftext|>", "<|im_start|>", "<|im_end|>"};
    vocab_builder vb = {0};
    bool ok = false;
    size_t n = (size_t)shape->n_vocab;
    vb.tokens = calloc(n, sizeof *vb.tokens);
    vb.types = calloc(n, sizeof *vb.types);
    vb.merges = calloc(n, sizeof *vb.merges);
    vb.n_regular = shape->n_vocab - 3;
    if (!vb.tokens || !vb.types || !vb.merges) goto done;
    for (int byte = 0; byte < 256; byte++) {
        char utf8[4] = {0};
        put_utf8(utf8, byte_to_codepoint(byte));
        vb.types[vb.n_tokens] = 1;
        if (!(vb.tokens[vb.n_tokens++] = concat(utf8, "", ""))) goto done;
    }
    if (!add_merged_tokens(&vb)) goto done;
    if (vb.n_tokens != vb.n_regular) {
        fprintf(stderr, "make_model: vocabulary of %lld is larger than supported\n",
                (long long)shape->n_vocab);
        goto done;
    }
    for (int i = 0; i < 3; i++) {
        vb.types[vb.n_tokens] = 3;
        if (!(vb.tokens[vb.n_tokens++] = concat(controls[i], "", ""))) goto done;
    }
    ok = gguf_writer_add_string(writer, "tokenizer.ggml.model", "gpt2") == SLLM_OK &&
         gguf_writer_add_string(writer, "tokenizer.ggml.pre", "gpt-2") == SLLM_OK &&
         gguf_writer_add_string_array(writer, "tokenizer.ggml.tokens",
                                      (const char *const *)vb.tokens,
                                      (uint64_t)vb.n_tokens) == SLLM_OK &&
         gguf_writer_add_array(writer, "tokenizer.ggml.token_type", GGUF_TYPE_INT32, vb.types,
                               (uint64_t)vb.n_tokens) == SLLM_OK &&
         gguf_writer_add_string_array(writer, "tokenizer.ggml.merges",
                                      (const char *const *)vb.merges,
                                      (uint64_t)vb.n_merges) == SLLM_OK &&
         gguf_writer_add_u32(writer, "tokenizer.ggml.bos_token_id",
                             (uint32_t)(shape->n_vocab - 3)) == SLLM_OK &&
         gguf_writer_add_u32(writer, "tokenizer.ggml.eos_token_id",
                             (uint32_t)(shape->n_vocab - 1)) == SLLM_OK &&
         gguf_writer_add_u32(writer, "tokenizer.ggml.padding_token_id",
                             (uint32_t)(shape->n_vocab - 3)) == SLLM_OK &&
         gguf_writer_add_bool(writer, "tokenizer.ggml.add_bos_token", false) == SLLM_OK &&
         gguf_writer_add_string(writer, "tokenizer.chat_template", CHATML_TEMPLATE) == SLLM_OK;
done:
    vocab_free(&vb);
    return ok;
}

/* ---- metadata ---------------------------------------------------------------------- */

static bool add_arch_u32(gguf_writer *writer, const model_shape *shape, const char *suffix,
                         int64_t value) {
    char key[128];
    snprintf(key, sizeof key, "%s.%s", shape->arch, suffix);
    return gguf_writer_add_u32(writer, key, (uint32_t)value) == SLLM_OK;
}

static bool add_arch_f32(gguf_writer *writer, const model_shape *shape, const char *suffix,
                         float value) {
    char key[128];
    snprintf(key, sizeof key, "%s.%s", shape->arch, suffix);
    return gguf_writer_add_f32(writer, key, value) == SLLM_OK;
}

static bool add_metadata(gguf_writer *writer, const model_shape *shape) {
    char name[128];
    snprintf(name, sizeof name, "sllm-random-%s-seed%llu", shape->arch,
             (unsigned long long)shape->seed);
    uint32_t file_type = shape->type == GGML_TYPE_F32 ? 0 : shape->type == GGML_TYPE_F16 ? 1 : 32;
    bool ok = gguf_writer_add_string(writer, "general.architecture", shape->arch) == SLLM_OK &&
              gguf_writer_add_string(writer, "general.name", name) == SLLM_OK &&
              gguf_writer_add_u32(writer, "general.file_type", file_type) == SLLM_OK &&
              add_arch_u32(writer, shape, "context_length", shape->n_ctx) &&
              add_arch_u32(writer, shape, "embedding_length", shape->n_embd) &&
              add_arch_u32(writer, shape, "block_count", shape->n_layer) &&
              add_arch_u32(writer, shape, "feed_forward_length", shape->n_ff) &&
              add_arch_u32(writer, shape, "attention.head_count", shape->n_head) &&
              add_arch_u32(writer, shape, "attention.head_count_kv", shape->n_head_kv) &&
              add_arch_u32(writer, shape, "rope.dimension_count", shape->head_dim) &&
              add_arch_f32(writer, shape, "attention.layer_norm_rms_epsilon", shape->rms_eps) &&
              add_arch_f32(writer, shape, "rope.freq_base", (float)shape->freq_base);
    if (ok && (strcmp(shape->arch, "qwen3") == 0 || shape->head_dim * shape->n_head !=
                                                         shape->n_embd))
        ok = add_arch_u32(writer, shape, "attention.key_length", shape->head_dim) &&
             add_arch_u32(writer, shape, "attention.value_length", shape->head_dim);
    return ok;
}

/* ---- command line ------------------------------------------------------------------ */

static void usage(void) {
    fprintf(stderr,
            "usage: make_model --arch llama|qwen2|qwen3 [--embd N] [--layers N] [--heads N]\n"
            "         [--kv-heads N] [--head-dim N] [--ff N] [--vocab N] [--ctx N] [--seed S]\n"
            "         [--type F32|F16|BF16] [--tied] [--rope-scaling llama3]\n"
            "         [--freq-base F] [--eps F] [--tinyllama] OUT.gguf\n");
}

static bool parse_type(const char *text, uint32_t *type) {
    if (strcmp(text, "F32") == 0) *type = GGML_TYPE_F32;
    else if (strcmp(text, "F16") == 0) *type = GGML_TYPE_F16;
    else if (strcmp(text, "BF16") == 0) *type = GGML_TYPE_BF16;
    else return false;
    return true;
}

static bool parse_args(int argc, char **argv, model_shape *shape, const char **out_path) {
    bool freq_base_set = false;
    *shape = (model_shape){.arch = "llama", .n_embd = 128, .n_layer = 2, .n_head = 4,
                           .n_head_kv = 2, .n_ff = 256, .n_vocab = 512, .n_ctx = 512,
                           .seed = 7, .type = GGML_TYPE_F32, .freq_base = 10000.0,
                           .rms_eps = 1e-5f};
    *out_path = NULL;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        bool takes_value = true;
        if (strcmp(arg, "--tied") == 0) shape->tied = true, takes_value = false;
        else if (strcmp(arg, "--tinyllama") == 0) {
            shape->n_embd = 2048, shape->n_layer = 22, shape->n_head = 32;
            shape->n_head_kv = 4, shape->n_ff = 5632, shape->n_vocab = 32000;
            shape->n_ctx = 2048, takes_value = false;
        } else if (arg[0] != '-') {
            *out_path = arg;
            takes_value = false;
        } else if (!value) {
            fprintf(stderr, "make_model: %s needs a value\n", arg);
            return false;
        } else if (strcmp(arg, "--arch") == 0) shape->arch = value;
        else if (strcmp(arg, "--embd") == 0) shape->n_embd = atoll(value);
        else if (strcmp(arg, "--layers") == 0) shape->n_layer = atoll(value);
        else if (strcmp(arg, "--heads") == 0) shape->n_head = atoll(value);
        else if (strcmp(arg, "--kv-heads") == 0) shape->n_head_kv = atoll(value);
        else if (strcmp(arg, "--head-dim") == 0) shape->head_dim = atoll(value);
        else if (strcmp(arg, "--ff") == 0) shape->n_ff = atoll(value);
        else if (strcmp(arg, "--vocab") == 0) shape->n_vocab = atoll(value);
        else if (strcmp(arg, "--ctx") == 0) shape->n_ctx = atoll(value);
        else if (strcmp(arg, "--seed") == 0) shape->seed = strtoull(value, NULL, 0);
        else if (strcmp(arg, "--eps") == 0) shape->rms_eps = strtof(value, NULL);
        else if (strcmp(arg, "--freq-base") == 0) {
            shape->freq_base = strtod(value, NULL);
            freq_base_set = true;
        } else if (strcmp(arg, "--type") == 0) {
            if (!parse_type(value, &shape->type)) {
                fprintf(stderr, "make_model: --type must be F32, F16 or BF16 (quantize the "
                                "result with `sllm quantize` for other types)\n");
                return false;
            }
        } else if (strcmp(arg, "--rope-scaling") == 0) {
            if (strcmp(value, "llama3") != 0) {
                fprintf(stderr, "make_model: --rope-scaling supports only llama3\n");
                return false;
            }
            shape->llama3_scaling = true;
        } else {
            fprintf(stderr, "make_model: unknown option %s\n", arg);
            return false;
        }
        if (takes_value) i++;
    }
    if (!freq_base_set && shape->llama3_scaling) shape->freq_base = 500000.0;
    if (!freq_base_set && strncmp(shape->arch, "qwen", 4) == 0) shape->freq_base = 1000000.0;
    if (shape->head_dim == 0 && shape->n_head > 0) shape->head_dim = shape->n_embd / shape->n_head;
    if (strcmp(shape->arch, "llama") != 0 && strcmp(shape->arch, "qwen2") != 0 &&
        strcmp(shape->arch, "qwen3") != 0) {
        fprintf(stderr, "make_model: unknown --arch %s\n", shape->arch);
        return false;
    }
    if (!*out_path || shape->n_embd <= 0 || shape->n_layer <= 0 || shape->n_head <= 0 ||
        shape->n_head_kv <= 0 || shape->n_head % shape->n_head_kv != 0 ||
        shape->head_dim <= 0 || shape->head_dim % 2 != 0 || shape->n_ff <= 0 ||
        shape->n_vocab < 260 || shape->n_vocab > MAX_VOCAB || shape->n_ctx <= 0) {
        fprintf(stderr, "make_model: missing output path or inconsistent shape (heads must "
                        "divide by kv-heads, head_dim even, 260 <= vocab <= %d)\n", MAX_VOCAB);
        return false;
    }
    return true;
}

int main(int argc, char **argv) {
    model_shape shape;
    const char *out_path;
    gguf_writer *writer = NULL;
    int rc = 1;
    if (!parse_args(argc, argv, &shape, &out_path)) {
        usage();
        return 2;
    }
    if (gguf_writer_create(&writer) != SLLM_OK) {
        fprintf(stderr, "make_model: %s\n", sllm_last_error());
        return 1;
    }
    if (!add_metadata(writer, &shape) || !add_vocab(writer, &shape) ||
        !add_tensors(writer, &shape)) {
        fprintf(stderr, "make_model: building the model failed (%s)\n", sllm_last_error());
        goto done;
    }
    if (gguf_writer_to_file(writer, out_path) != SLLM_OK) {
        fprintf(stderr, "make_model: writing %s: %s\n", out_path, sllm_last_error());
        goto done;
    }
    rc = 0;
done:
    gguf_writer_free(writer);
    return rc;
}
