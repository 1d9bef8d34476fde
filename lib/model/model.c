/* sllm_model: opening a GGUF file and the public metadata and tensor queries. */
#include "model/model_internal.h"
#include "backend/cpu/cpu_tile.h"
#include "model/weights_copy.h"
#include "tokenizer/tokenizer.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

SLLM_API void sllm_model_params_init(sllm_model_params *params) {
    if (params == NULL) return;
    memset(params, 0, sizeof *params);
    params->struct_size = sizeof *params;
    params->log_level = SLLM_LOG_WARN;
}

/* Copies the caller's params, tolerating an older (shorter) struct. */
static sllm_status read_model_params(const sllm_model_params *in, sllm_model_params *out) {
    sllm_model_params_init(out);
    if (in == NULL) return SLLM_OK;
    if (in->struct_size < offsetof(sllm_model_params, log_fn) || in->struct_size > sizeof *out)
        return core_fail(SLLM_ERR_INVALID_ARGUMENT,
                         "sllm_model_params.struct_size is %zu; call sllm_model_params_init() first",
                         in->struct_size);
    memcpy(out, in, in->struct_size);
    out->struct_size = sizeof *out;
    if (out->weights_placement != SLLM_WEIGHTS_COPY && out->weights_placement != SLLM_WEIGHTS_MMAP)
        return core_fail(SLLM_ERR_INVALID_ARGUMENT, "weights_placement %d is unknown (use SLLM_WEIGHTS_COPY or "
                         "SLLM_WEIGHTS_MMAP)", out->weights_placement);
    return SLLM_OK;
}

/* Everything before the tensor data names the model; the file size guards against
 * files that differ only in their data. */
static void compute_model_id(const gguf_file *gguf, uint8_t model_id[32]) {
    crypto_generichash_state state;
    crypto_generichash_init(&state, NULL, 0, 32);
    crypto_generichash_update(&state, gguf->base, gguf->data_offset);
    uint8_t size_le[8];
    for (int i = 0; i < 8; i++) size_le[i] = (uint8_t)(gguf->file_size >> (8 * i));
    crypto_generichash_update(&state, size_le, sizeof size_le);
    crypto_generichash_final(&state, model_id, 32);
}

static void describe_weights_layout(sllm_model *model) {
    int repacked = model_weights_count_repacked(&model->weights);
    int n = snprintf(model->weights_layout, sizeof model->weights_layout, "copied into memory (%s)",
                     model->weights_region.huge ? "2 MiB huge pages" : "huge pages refused by the kernel");
    if (repacked > 0 && n > 0 && (size_t)n < sizeof model->weights_layout)
        snprintf(model->weights_layout + n, sizeof model->weights_layout - (size_t)n,
                 ", %d matrices repacked into 16-row tiles for the %s kernels", repacked, cpu_tile16_kernels_name());
}

SLLM_API sllm_status sllm_model_load(const char *path, const sllm_model_params *params,
                                     sllm_model **out) {
    if (path == NULL || out == NULL)
        return core_fail(SLLM_ERR_INVALID_ARGUMENT, "sllm_model_load: path and out must not be NULL");
    sllm_model_params options;
    sllm_status status = read_model_params(params, &options);
    if (status != SLLM_OK) return status;

    /* libsodium's own one-time setup; thread-safe and idempotent. */
    if (sodium_init() < 0) return core_fail(SLLM_ERR_INTERNAL, "libsodium failed to initialize");
    sllm_model *model = calloc(1, sizeof *model);
    if (model == NULL) return core_fail(SLLM_ERR_OUT_OF_MEMORY, "sllm_model_load: out of memory");
    model->logger = (core_logger){ options.log_fn, options.log_user, options.log_level };

    status = gguf_open(path, &model->gguf);
    if (status != SLLM_OK) {
        core_fail_context(status, "'%s'", path);
        goto fail;
    }
    compute_model_id(model->gguf, model->model_id);
    if (!options.metadata_only) {
        status = model_hparams_read(model->gguf, &model->hparams);
        if (status == SLLM_OK) status = model_weights_bind(model->gguf, &model->hparams, &model->weights);
        if (status == SLLM_OK && options.weights_placement == SLLM_WEIGHTS_COPY) {
            status = model_weights_copy_in(model->gguf, &model->weights, &model->weights_region);
            if (status == SLLM_OK) describe_weights_layout(model);
        }
        if (status != SLLM_OK) {
            core_fail_context(status, "'%s'", path);
            goto fail;
        }
        model->has_weights = 1;
    }
    status = tokenizer_load(model->gguf, &model->tokenizer);
    if (status != SLLM_OK) {
        /* metadata_only is for inspecting files: an unsupported tokenizer must not hide them. */
        if (options.metadata_only) {
            core_log(&model->logger, SLLM_LOG_WARN, "'%s': no tokenizer: %s", path, sllm_last_error());
            core_error_clear();
            status = SLLM_OK;
        } else {
            core_fail_context(status, "'%s'", path);
            goto fail;
        }
    }
    core_log(&model->logger, SLLM_LOG_INFO, "loaded '%s': GGUF v%u, %lld keys, %lld tensors", path,
             (unsigned)model->gguf->version, (long long)model->gguf->n_kv,
             (long long)model->gguf->n_tensors);
    *out = model;
    return SLLM_OK;
fail:
    sllm_model_free(model);
    return status;
}

SLLM_API void sllm_model_free(sllm_model *model) {
    if (model == NULL) return;
    model_weights_free(&model->weights);
    core_region_free(&model->weights_region);
    tokenizer_free(model->tokenizer);
    gguf_close(model->gguf);
    free(model);
}

SLLM_API const char *sllm_model_weights_layout(const sllm_model *model) {
    if (model == NULL || !model->has_weights) return "none (metadata only)";
    if (model->weights_region.data == NULL) return "mmap'd from the file";
    return model->weights_layout;
}


/* ---- metadata ---------------------------------------------------------------- */

static sllm_status find_kv(const sllm_model *model, const char *key, const gguf_kv **kv) {
    if (model == NULL || key == NULL)
        return core_fail(SLLM_ERR_INVALID_ARGUMENT, "model and key must not be NULL");
    *kv = gguf_find_kv(model->gguf, key);
    if (*kv == NULL) return core_fail(SLLM_ERR_NOT_FOUND, "metadata key '%s' not found", key);
    return SLLM_OK;
}

static sllm_status find_array(const sllm_model *model, const char *key, uint64_t index,
                              const gguf_array **array) {
    const gguf_kv *kv;
    sllm_status status = find_kv(model, key, &kv);
    if (status != SLLM_OK) return status;
    if (kv->value.type != GGUF_TYPE_ARRAY)
        return core_fail(SLLM_ERR_TYPE_MISMATCH, "metadata key '%s' is a %s, not an array", key,
                         gguf_type_name(kv->value.type));
    if (index >= kv->value.as.arr.count)
        return core_fail(SLLM_ERR_NOT_FOUND, "metadata key '%s': index %llu is past its %llu elements",
                         key, (unsigned long long)index, (unsigned long long)kv->value.as.arr.count);
    *array = &kv->value.as.arr;
    return SLLM_OK;
}

static int is_integer_type(gguf_type type) {
    return type == GGUF_TYPE_UINT8 || type == GGUF_TYPE_INT8 || type == GGUF_TYPE_UINT16 ||
           type == GGUF_TYPE_INT16 || type == GGUF_TYPE_UINT32 || type == GGUF_TYPE_INT32 ||
           type == GGUF_TYPE_UINT64 || type == GGUF_TYPE_INT64 || type == GGUF_TYPE_BOOL;
}

static int is_float_type(gguf_type type) {
    return type == GGUF_TYPE_FLOAT32 || type == GGUF_TYPE_FLOAT64;
}

SLLM_API int64_t sllm_model_meta_count(const sllm_model *model) {
    return model ? model->gguf->n_kv : 0;
}

SLLM_API sllm_status sllm_model_meta_key(const sllm_model *model, int64_t index, const char **key) {
    if (model == NULL || key == NULL)
        return core_fail(SLLM_ERR_INVALID_ARGUMENT, "model and key must not be NULL");
    if (index < 0 || index >= model->gguf->n_kv)
        return core_fail(SLLM_ERR_NOT_FOUND, "metadata index %lld out of range [0, %lld)",
                         (long long)index, (long long)model->gguf->n_kv);
    *key = model->gguf->kv[index].key;
    return SLLM_OK;
}

SLLM_API sllm_status sllm_model_meta_type(const sllm_model *model, const char *key,
                                          sllm_meta_type *type, sllm_meta_type *elem_type,
                                          uint64_t *count) {
    const gguf_kv *kv;
    sllm_status status = find_kv(model, key, &kv);
    if (status != SLLM_OK) return status;
    if (type) *type = (sllm_meta_type)kv->value.type;
    int is_array = kv->value.type == GGUF_TYPE_ARRAY;
    if (elem_type) *elem_type = is_array ? (sllm_meta_type)kv->value.as.arr.elem_type : (sllm_meta_type)kv->value.type;
    if (count) *count = is_array ? kv->value.as.arr.count : 1;
    return SLLM_OK;
}

SLLM_API sllm_status sllm_model_meta_int(const sllm_model *model, const char *key, int64_t *value) {
    if (model == NULL || key == NULL || value == NULL)
        return core_fail(SLLM_ERR_INVALID_ARGUMENT, "sllm_model_meta_int: NULL argument");
    return gguf_get_int(model->gguf, key, value);
}

SLLM_API sllm_status sllm_model_meta_float(const sllm_model *model, const char *key, double *value) {
    if (model == NULL || key == NULL || value == NULL)
        return core_fail(SLLM_ERR_INVALID_ARGUMENT, "sllm_model_meta_float: NULL argument");
    return gguf_get_float(model->gguf, key, value);
}

SLLM_API sllm_status sllm_model_meta_string(const sllm_model *model, const char *key,
                                            const char **data, size_t *len) {
    if (model == NULL || key == NULL || data == NULL || len == NULL)
        return core_fail(SLLM_ERR_INVALID_ARGUMENT, "sllm_model_meta_string: NULL argument");
    gguf_string str;
    sllm_status status = gguf_get_string(model->gguf, key, &str);
    if (status != SLLM_OK) return status;
    *data = str.data;
    *len = (size_t)str.len;
    return SLLM_OK;
}

SLLM_API sllm_status sllm_model_meta_array_string(const sllm_model *model, const char *key,
                                                  uint64_t index, const char **data, size_t *len) {
    const gguf_array *array;
    sllm_status status = find_array(model, key, index, &array);
    if (status != SLLM_OK) return status;
    if (data == NULL || len == NULL)
        return core_fail(SLLM_ERR_INVALID_ARGUMENT, "sllm_model_meta_array_string: NULL argument");
    if (array->elem_type != GGUF_TYPE_STRING)
        return core_fail(SLLM_ERR_TYPE_MISMATCH, "metadata key '%s' is an array of %s, not of strings",
                         key, gguf_type_name(array->elem_type));
    *data = array->strings[index].data;
    *len = (size_t)array->strings[index].len;
    return SLLM_OK;
}

SLLM_API sllm_status sllm_model_meta_array_int(const sllm_model *model, const char *key,
                                               uint64_t index, int64_t *value) {
    const gguf_array *array;
    sllm_status status = find_array(model, key, index, &array);
    if (status != SLLM_OK) return status;
    if (value == NULL) return core_fail(SLLM_ERR_INVALID_ARGUMENT, "sllm_model_meta_array_int: NULL value");
    if (!is_integer_type(array->elem_type))
        return core_fail(SLLM_ERR_TYPE_MISMATCH, "metadata key '%s' is an array of %s, not of integers",
                         key, gguf_type_name(array->elem_type));
    *value = gguf_array_get_int(array, index);
    return SLLM_OK;
}

SLLM_API sllm_status sllm_model_meta_array_float(const sllm_model *model, const char *key,
                                                 uint64_t index, double *value) {
    const gguf_array *array;
    sllm_status status = find_array(model, key, index, &array);
    if (status != SLLM_OK) return status;
    if (value == NULL) return core_fail(SLLM_ERR_INVALID_ARGUMENT, "sllm_model_meta_array_float: NULL value");
    if (!is_integer_type(array->elem_type) && !is_float_type(array->elem_type))
        return core_fail(SLLM_ERR_TYPE_MISMATCH, "metadata key '%s' is an array of %s, not of numbers",
                         key, gguf_type_name(array->elem_type));
    *value = gguf_array_get_float(array, index);
    return SLLM_OK;
}

/* ---- tensors ------------------------------------------------------------------ */

SLLM_API int64_t sllm_model_tensor_count(const sllm_model *model) {
    return model ? model->gguf->n_tensors : 0;
}

SLLM_API sllm_status sllm_model_tensor_info(const sllm_model *model, int64_t index,
                                            sllm_tensor_info *info) {
    if (model == NULL || info == NULL)
        return core_fail(SLLM_ERR_INVALID_ARGUMENT, "sllm_model_tensor_info: NULL argument");
    if (info->struct_size < sizeof *info)
        return core_fail(SLLM_ERR_INVALID_ARGUMENT,
                         "sllm_tensor_info.struct_size is %zu, expected at least %zu",
                         info->struct_size, sizeof *info);
    if (index < 0 || index >= model->gguf->n_tensors)
        return core_fail(SLLM_ERR_NOT_FOUND, "tensor index %lld out of range [0, %lld)",
                         (long long)index, (long long)model->gguf->n_tensors);
    const gguf_tensor *tensor = &model->gguf->tensors[index];
    info->name = tensor->name;
    info->type = tensor->type;
    info->type_name = sllm_tensor_type_name(tensor->type);
    info->n_dims = tensor->n_dims;
    for (int d = 0; d < SLLM_MAX_DIMS; d++) info->dims[d] = d < (int)tensor->n_dims ? tensor->dims[d] : 1;
    info->offset = model->gguf->data_offset + tensor->offset;
    info->size_bytes = tensor->size_bytes;
    return SLLM_OK;
}

SLLM_API sllm_status sllm_model_tensor_find(const sllm_model *model, const char *name,
                                            int64_t *index) {
    if (model == NULL || name == NULL || index == NULL)
        return core_fail(SLLM_ERR_INVALID_ARGUMENT, "sllm_model_tensor_find: NULL argument");
    int64_t found = gguf_find_tensor_index(model->gguf, name);
    if (found < 0) return core_fail(SLLM_ERR_NOT_FOUND, "tensor '%s' not found", name);
    *index = found;
    return SLLM_OK;
}

SLLM_API uint64_t sllm_model_file_size(const sllm_model *model) {
    return model ? model->gguf->file_size : 0;
}

SLLM_API uint32_t sllm_model_gguf_version(const sllm_model *model) {
    return model ? model->gguf->version : 0;
}
