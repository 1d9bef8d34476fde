/* Reads {arch}.* hyper-parameters from GGUF metadata and checks them for consistency. */
#include "model/hparams.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

typedef struct arch_entry {
    const char *name;
    model_arch arch;
    model_rope_type rope_type;
} arch_entry;

/* RoPE types as llama.cpp's llama_model_rope_type assigns them. */
static const arch_entry arch_table[] = {
    { "llama", MODEL_ARCH_LLAMA, MODEL_ROPE_NORM },
    { "mistral", MODEL_ARCH_LLAMA, MODEL_ROPE_NORM },
    { "qwen2", MODEL_ARCH_QWEN2, MODEL_ROPE_NEOX },
    { "qwen3", MODEL_ARCH_QWEN3, MODEL_ROPE_NEOX },
};

enum { KEY_CAP = 160 };

static sllm_status find_arch(const gguf_file *gguf, const arch_entry **out) {
    gguf_string name;
    sllm_status status = gguf_get_string(gguf, "general.architecture", &name);
    if (status == SLLM_ERR_NOT_FOUND)
        return core_fail(SLLM_ERR_INVALID_MODEL, "metadata key 'general.architecture' is missing");
    if (status != SLLM_OK)
        return core_fail(SLLM_ERR_INVALID_MODEL, "metadata key 'general.architecture' is not a string");
    for (size_t i = 0; i < sizeof arch_table / sizeof arch_table[0]; i++) {
        if (strlen(arch_table[i].name) == name.len && memcmp(arch_table[i].name, name.data, name.len) == 0) {
            *out = &arch_table[i];
            return SLLM_OK;
        }
    }
    int shown = name.len > 64 ? 64 : (int)name.len;
    return core_fail(SLLM_ERR_UNSUPPORTED_ARCH,
                     "architecture '%.*s' is not supported (supported: llama, qwen2, qwen3)", shown,
                     name.data);
}

/* Reads "<arch>.<suffix>" as an integer; `fallback` < 0 makes the key required. */
static sllm_status read_int(const gguf_file *gguf, const char *arch, const char *suffix,
                            int64_t fallback, int64_t *value) {
    char key[KEY_CAP];
    snprintf(key, sizeof key, "%s.%s", arch, suffix);
    sllm_status status = gguf_get_int(gguf, key, value);
    if (status == SLLM_ERR_NOT_FOUND && fallback >= 0) {
        *value = fallback;
        return SLLM_OK;
    }
    if (status == SLLM_ERR_NOT_FOUND)
        return core_fail(SLLM_ERR_INVALID_MODEL, "metadata key '%s' is missing", key);
    if (status != SLLM_OK)
        return core_fail(SLLM_ERR_INVALID_MODEL, "metadata key '%s' is not an integer", key);
    if (*value <= 0)
        return core_fail(SLLM_ERR_INVALID_MODEL, "metadata key '%s' is %lld; it must be positive", key,
                         (long long)*value);
    return SLLM_OK;
}

static sllm_status read_float(const gguf_file *gguf, const char *arch, const char *suffix,
                              double fallback, float *value) {
    char key[KEY_CAP];
    snprintf(key, sizeof key, "%s.%s", arch, suffix);
    double number;
    sllm_status status = gguf_get_float(gguf, key, &number);
    if (status == SLLM_ERR_NOT_FOUND) number = fallback;
    else if (status != SLLM_OK)
        return core_fail(SLLM_ERR_INVALID_MODEL, "metadata key '%s' is not a number", key);
    if (!(number > 0.0) || !isfinite(number))
        return core_fail(SLLM_ERR_INVALID_MODEL, "metadata key '%s' is %g; it must be positive", key, number);
    *value = (float)number;
    return SLLM_OK;
}

/* Linear scaling divides positions by the factor; other kinds (yarn, longrope) are not
 * computed, so they are refused rather than silently ignored. Llama 3's scaling comes
 * as the rope_freqs.weight tensor instead, bound with the weights. */
static sllm_status read_rope_scaling(const gguf_file *gguf, const char *arch, float *freq_scale) {
    char key[KEY_CAP];
    snprintf(key, sizeof key, "%s.rope.scaling.type", arch);
    gguf_string type;
    *freq_scale = 1.0f;
    sllm_status status = gguf_get_string(gguf, key, &type);
    if (status == SLLM_ERR_NOT_FOUND) return SLLM_OK;
    if (status != SLLM_OK) return core_fail(SLLM_ERR_INVALID_MODEL, "metadata key '%s' is not a string", key);
    if (type.len == 4 && memcmp(type.data, "none", 4) == 0) return SLLM_OK;
    if (!(type.len == 6 && memcmp(type.data, "linear", 6) == 0)) {
        int shown = type.len > 32 ? 32 : (int)type.len;
        return core_fail(SLLM_ERR_INVALID_MODEL, "metadata key '%s': rope scaling '%.*s' is not supported",
                         key, shown, type.data);
    }
    snprintf(key, sizeof key, "%s.rope.scaling.factor", arch);
    double factor;
    if (gguf_get_float(gguf, key, &factor) != SLLM_OK || factor <= 0.0) return SLLM_OK;
    *freq_scale = (float)(1.0 / factor);
    return SLLM_OK;
}

static sllm_status check_consistency(const model_hparams *hp, const char *arch) {
    if (hp->n_head_kv > hp->n_head || hp->n_head % hp->n_head_kv != 0)
        return core_fail(SLLM_ERR_INVALID_MODEL,
                         "%s.attention.head_count (%lld) is not a multiple of %s.attention.head_count_kv (%lld)",
                         arch, (long long)hp->n_head, arch, (long long)hp->n_head_kv);
    if (hp->n_rot > hp->head_dim || hp->n_rot % 2 != 0)
        return core_fail(SLLM_ERR_INVALID_MODEL,
                         "%s.rope.dimension_count is %lld; it must be even and at most the head size %lld",
                         arch, (long long)hp->n_rot, (long long)hp->head_dim);
    return SLLM_OK;
}

static sllm_status read_vocab(const gguf_file *gguf, int64_t *n_vocab) {
    const gguf_tensor *embd = gguf_find_tensor(gguf, "token_embd.weight");
    if (embd == NULL) return core_fail(SLLM_ERR_INVALID_MODEL, "tensor 'token_embd.weight' is missing");
    if (embd->n_dims != 2 || embd->dims[1] <= 0)
        return core_fail(SLLM_ERR_INVALID_MODEL, "tensor 'token_embd.weight' must have 2 dimensions");
    *n_vocab = embd->dims[1];
    return SLLM_OK;
}

sllm_status model_hparams_read(const gguf_file *gguf, model_hparams *out) {
    const arch_entry *entry = NULL;
    sllm_status status = find_arch(gguf, &entry);
    if (status != SLLM_OK) return status;
    model_hparams hp;
    memset(&hp, 0, sizeof hp);
    hp.arch = entry->arch;
    hp.arch_name = entry->name;
    hp.rope_type = entry->rope_type;
    const char *arch = entry->name;
    if ((status = read_int(gguf, arch, "context_length", -1, &hp.n_ctx)) != SLLM_OK) return status;
    if ((status = read_int(gguf, arch, "embedding_length", -1, &hp.n_embd)) != SLLM_OK) return status;
    if ((status = read_int(gguf, arch, "block_count", -1, &hp.n_layer)) != SLLM_OK) return status;
    if ((status = read_int(gguf, arch, "feed_forward_length", -1, &hp.n_ff)) != SLLM_OK) return status;
    if ((status = read_int(gguf, arch, "attention.head_count", -1, &hp.n_head)) != SLLM_OK) return status;
    if ((status = read_int(gguf, arch, "attention.head_count_kv", hp.n_head, &hp.n_head_kv)) != SLLM_OK)
        return status;
    if ((status = read_int(gguf, arch, "attention.key_length", hp.n_embd / hp.n_head, &hp.head_dim)) != SLLM_OK)
        return status;
    int64_t value_dim;
    if ((status = read_int(gguf, arch, "attention.value_length", hp.head_dim, &value_dim)) != SLLM_OK)
        return status;
    if (value_dim != hp.head_dim)
        return core_fail(SLLM_ERR_INVALID_MODEL,
                         "%s.attention.value_length (%lld) differs from the key length (%lld), which is not supported",
                         arch, (long long)value_dim, (long long)hp.head_dim);
    if ((status = read_int(gguf, arch, "rope.dimension_count", hp.head_dim, &hp.n_rot)) != SLLM_OK) return status;
    if ((status = read_float(gguf, arch, "attention.layer_norm_rms_epsilon", 1e-5, &hp.rms_eps)) != SLLM_OK)
        return status;
    if ((status = read_float(gguf, arch, "rope.freq_base", 10000.0, &hp.rope_freq_base)) != SLLM_OK) return status;
    if ((status = read_rope_scaling(gguf, arch, &hp.rope_freq_scale)) != SLLM_OK) return status;
    if ((status = check_consistency(&hp, arch)) != SLLM_OK) return status;
    if ((status = read_vocab(gguf, &hp.n_vocab)) != SLLM_OK) return status;
    *out = hp;
    return SLLM_OK;
}
