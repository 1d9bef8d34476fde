/* `sllm info`: what a GGUF file holds — architecture, hyper-parameters, tokenizer, tensors. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/cpu/cpu_tile.h"
#include "commands.h"
#include "model/weights_copy.h"

/* The hyper-parameters shown, as suffixes of "<architecture>.". */
static const char *const hparam_keys[] = {
    "context_length", "embedding_length", "block_count", "feed_forward_length",
    "attention.head_count", "attention.head_count_kv", "attention.key_length",
    "rope.dimension_count", "rope.freq_base", "attention.layer_norm_rms_epsilon",
};

typedef struct type_total {
    uint64_t n_tensors;
    uint64_t n_bytes;
} type_total;

enum { TYPE_ID_LIMIT = 64 };

/* info reads metadata only, so it cannot see where a computing load puts the weights:
 * it states the default (see SLLM_WEIGHTS_COPY / SLLM_WEIGHTS_MMAP). */
static const char *const weights_placement_default =
    "default: copied into 2 MiB huge pages; --mmap / SLLM_WEIGHTS_MMAP computes from the file";

static json_t *meta_string_json(const sllm_model *model, const char *key) {
    const char *data;
    size_t len;
    if (sllm_model_meta_string(model, key, &data, &len) != SLLM_OK) return json_null();
    return json_stringn_nocheck(data, len);
}

static json_t *meta_number_json(const sllm_model *model, const char *key) {
    sllm_meta_type type;
    if (sllm_model_meta_type(model, key, &type, NULL, NULL) != SLLM_OK) return NULL;
    if (type == SLLM_META_FLOAT32 || type == SLLM_META_FLOAT64) {
        double value;
        return sllm_model_meta_float(model, key, &value) == SLLM_OK ? json_real(value) : NULL;
    }
    int64_t value;
    return sllm_model_meta_int(model, key, &value) == SLLM_OK ? json_integer(value) : NULL;
}

static json_t *hparams_json(const sllm_model *model, const char *arch) {
    json_t *hparams = json_object();
    for (size_t i = 0; i < sizeof hparam_keys / sizeof hparam_keys[0]; i++) {
        char key[256];
        snprintf(key, sizeof key, "%s.%s", arch, hparam_keys[i]);
        json_t *value = meta_number_json(model, key);
        if (value) json_object_set_new(hparams, hparam_keys[i], value);
    }
    return hparams;
}

static json_t *tokenizer_json(const sllm_model *model) {
    json_t *tokenizer = json_object();
    json_object_set_new(tokenizer, "model", meta_string_json(model, "tokenizer.ggml.model"));
    json_object_set_new(tokenizer, "pre", meta_string_json(model, "tokenizer.ggml.pre"));
    uint64_t n_tokens = 0;
    sllm_model_meta_type(model, "tokenizer.ggml.tokens", NULL, NULL, &n_tokens);
    json_object_set_new(tokenizer, "vocab_size", json_integer((json_int_t)n_tokens));
    sllm_meta_type type;
    int has_template = sllm_model_meta_type(model, "tokenizer.chat_template", &type, NULL, NULL) == SLLM_OK;
    json_object_set_new(tokenizer, "chat_template", json_boolean(has_template));
    return tokenizer;
}

static json_t *tensors_json(const sllm_model *model) {
    type_total totals[TYPE_ID_LIMIT] = { { 0, 0 } };
    uint64_t total_bytes = 0;
    int64_t n_tensors = sllm_model_tensor_count(model);
    for (int64_t i = 0; i < n_tensors; i++) {
        sllm_tensor_info info = { .struct_size = sizeof info };
        if (sllm_model_tensor_info(model, i, &info) != SLLM_OK) continue;
        if (info.type < TYPE_ID_LIMIT) {
            totals[info.type].n_tensors++;
            totals[info.type].n_bytes += info.size_bytes;
        }
        total_bytes += info.size_bytes;
    }
    json_t *by_type = json_object();
    for (uint32_t type = 0; type < TYPE_ID_LIMIT; type++) {
        if (totals[type].n_tensors == 0) continue;
        json_t *entry = json_object();
        json_object_set_new(entry, "tensors", json_integer((json_int_t)totals[type].n_tensors));
        json_object_set_new(entry, "bytes", json_integer((json_int_t)totals[type].n_bytes));
        const char *name = sllm_tensor_type_name(type);
        json_object_set_new(by_type, name ? name : "unknown", entry);
    }
    json_t *tensors = json_object();
    json_object_set_new(tensors, "count", json_integer(n_tensors));
    json_object_set_new(tensors, "bytes", json_integer((json_int_t)total_bytes));
    json_object_set_new(tensors, "by_type", by_type);
    return tensors;
}

/* How many matrices a copying load on this CPU repacks into tile16 (none with --mmap):
 * what the load's sllm_model_weights_layout() will say, known here from the shapes. */
static json_t *repacked_json(const sllm_model *model) {
    json_int_t repacked = 0, matrices = 0;
    int64_t output;
    int tied = sllm_model_tensor_find(model, "output.weight", &output) != SLLM_OK;
    for (int64_t i = 0; i < sllm_model_tensor_count(model); i++) {
        sllm_tensor_info info = { .struct_size = sizeof info };
        if (sllm_model_tensor_info(model, i, &info) != SLLM_OK || info.n_dims != 2) continue;
        matrices++;
        repacked += model_weights_would_repack(info.name, info.type, info.dims[1], info.dims[0], tied);
    }
    json_t *out = json_object();
    json_object_set_new(out, "matrices", json_integer(matrices));
    json_object_set_new(out, "repacked", json_integer(repacked));
    json_object_set_new(out, "kernels", json_string(cpu_tile16_kernels_name()));
    return out;
}

static json_t *model_json(const sllm_model *model, const char *path) {
    json_t *info = json_object();
    json_object_set_new(info, "file", json_string(path));
    json_object_set_new(info, "file_size", json_integer((json_int_t)sllm_model_file_size(model)));
    json_object_set_new(info, "gguf_version", json_integer(sllm_model_gguf_version(model)));
    json_t *arch = meta_string_json(model, "general.architecture");
    json_object_set_new(info, "name", meta_string_json(model, "general.name"));
    json_object_set(info, "architecture", arch);
    const char *arch_name = json_is_string(arch) ? json_string_value(arch) : "";
    json_object_set_new(info, "hparams", hparams_json(model, arch_name));
    json_decref(arch);
    json_object_set_new(info, "tokenizer", tokenizer_json(model));
    json_object_set_new(info, "tensors", tensors_json(model));
    json_object_set_new(info, "weights_placement", json_string(weights_placement_default));
    json_object_set_new(info, "weights_repacking", repacked_json(model));
    return info;
}

static void print_json_value(const char *label, json_t *value) {
    if (value == NULL || json_is_null(value)) return;
    if (json_is_string(value)) printf("%-28s %s\n", label, json_string_value(value));
    else if (json_is_integer(value)) printf("%-28s %lld\n", label, (long long)json_integer_value(value));
    else if (json_is_real(value)) printf("%-28s %g\n", label, json_real_value(value));
    else if (json_is_boolean(value)) printf("%-28s %s\n", label, json_is_true(value) ? "yes" : "no");
}

static void print_text(json_t *info) {
    print_json_value("file", json_object_get(info, "file"));
    print_json_value("file size (bytes)", json_object_get(info, "file_size"));
    print_json_value("gguf version", json_object_get(info, "gguf_version"));
    print_json_value("name", json_object_get(info, "name"));
    print_json_value("architecture", json_object_get(info, "architecture"));
    const char *key;
    json_t *value;
    json_object_foreach(json_object_get(info, "hparams"), key, value) print_json_value(key, value);
    json_t *tokenizer = json_object_get(info, "tokenizer");
    print_json_value("tokenizer", json_object_get(tokenizer, "model"));
    print_json_value("pre-tokenizer", json_object_get(tokenizer, "pre"));
    print_json_value("vocabulary size", json_object_get(tokenizer, "vocab_size"));
    print_json_value("chat template", json_object_get(tokenizer, "chat_template"));
    json_t *tensors = json_object_get(info, "tensors");
    print_json_value("tensors", json_object_get(tensors, "count"));
    print_json_value("tensor bytes", json_object_get(tensors, "bytes"));
    json_object_foreach(json_object_get(tensors, "by_type"), key, value) {
        printf("  %-26s %lld tensors, %lld bytes\n", key,
               (long long)json_integer_value(json_object_get(value, "tensors")),
               (long long)json_integer_value(json_object_get(value, "bytes")));
    }
    print_json_value("weights placement", json_object_get(info, "weights_placement"));
    json_t *repacking = json_object_get(info, "weights_repacking");
    printf("%-28s %lld of %lld matrices into 16-row tiles for the %s kernels at load (none with --mmap)\n",
           "weights repacking", (long long)json_integer_value(json_object_get(repacking, "repacked")),
           (long long)json_integer_value(json_object_get(repacking, "matrices")),
           json_string_value(json_object_get(repacking, "kernels")));
}

int cmd_info(int argc, char **argv) {
    const char *path = NULL;
    int as_json = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) as_json = 1;
        else if (strcmp(argv[i], "-m") == 0 && i + 1 < argc) path = argv[++i];
        else if (argv[i][0] != '-' && path == NULL) path = argv[i];
        else {
            fprintf(stderr, "sllm info: unexpected argument '%s'\nusage: sllm info MODEL.gguf [--json]\n", argv[i]);
            return 2;
        }
    }
    if (path == NULL) {
        fprintf(stderr, "usage: sllm info MODEL.gguf [--json]\n");
        return 2;
    }
    sllm_model *model = cli_load_model(path, CLI_LOAD_METADATA_ONLY);
    if (model == NULL) return 1;
    json_t *info = model_json(model, path);
    if (as_json) {
        char *text = json_dumps(info, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        if (text) puts(text);
        free(text);
    } else {
        print_text(info);
    }
    json_decref(info);
    sllm_model_free(model);
    return 0;
}
