/* GGUF lookups and typed access to parsed metadata values (parsing is in gguf_read.c). */
#include "format/gguf.h"

#include <math.h>
#include <string.h>

static const struct {
    const char *name;
    size_t size;
} type_info[GGUF_TYPE_COUNT] = {
    [GGUF_TYPE_UINT8] = { "UINT8", 1 },     [GGUF_TYPE_INT8] = { "INT8", 1 },
    [GGUF_TYPE_UINT16] = { "UINT16", 2 },   [GGUF_TYPE_INT16] = { "INT16", 2 },
    [GGUF_TYPE_UINT32] = { "UINT32", 4 },   [GGUF_TYPE_INT32] = { "INT32", 4 },
    [GGUF_TYPE_FLOAT32] = { "FLOAT32", 4 }, [GGUF_TYPE_BOOL] = { "BOOL", 1 },
    [GGUF_TYPE_STRING] = { "STRING", 0 },   [GGUF_TYPE_ARRAY] = { "ARRAY", 0 },
    [GGUF_TYPE_UINT64] = { "UINT64", 8 },   [GGUF_TYPE_INT64] = { "INT64", 8 },
    [GGUF_TYPE_FLOAT64] = { "FLOAT64", 8 },
};

size_t gguf_type_size(gguf_type type) {
    return (unsigned)type < GGUF_TYPE_COUNT ? type_info[type].size : 0;
}

const char *gguf_type_name(gguf_type type) {
    return (unsigned)type < GGUF_TYPE_COUNT ? type_info[type].name : "unknown";
}

static bool is_unsigned(gguf_type type) {
    return type == GGUF_TYPE_UINT8 || type == GGUF_TYPE_UINT16 || type == GGUF_TYPE_UINT32 ||
           type == GGUF_TYPE_UINT64;
}

static bool is_signed(gguf_type type) {
    return type == GGUF_TYPE_INT8 || type == GGUF_TYPE_INT16 || type == GGUF_TYPE_INT32 ||
           type == GGUF_TYPE_INT64;
}

static bool is_float(gguf_type type) { return type == GGUF_TYPE_FLOAT32 || type == GGUF_TYPE_FLOAT64; }

/* ---- lookups ------------------------------------------------------------------ */

static int64_t find_name(const gguf_name_index *sorted, int64_t count, const char *name) {
    if (name == NULL) return -1;
    int64_t lo = 0, hi = count;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        int cmp = strcmp(sorted[mid].name, name);
        if (cmp == 0) return sorted[mid].index;
        if (cmp < 0) lo = mid + 1;
        else hi = mid;
    }
    return -1;
}

const gguf_kv *gguf_find_kv(const gguf_file *file, const char *key) {
    if (file == NULL) return NULL;
    int64_t index = find_name(file->kv_by_key, file->n_kv, key);
    return index < 0 ? NULL : &file->kv[index];
}

int64_t gguf_find_tensor_index(const gguf_file *file, const char *name) {
    if (file == NULL) return -1;
    return find_name(file->tensors_by_name, file->n_tensors, name);
}

const gguf_tensor *gguf_find_tensor(const gguf_file *file, const char *name) {
    int64_t index = gguf_find_tensor_index(file, name);
    return index < 0 ? NULL : &file->tensors[index];
}

/* ---- typed getters -------------------------------------------------------------- */

static sllm_status find_typed(const gguf_file *file, const char *key, const gguf_kv **kv) {
    if (file == NULL || key == NULL)
        return core_fail(SLLM_ERR_INVALID_ARGUMENT, "GGUF lookup: NULL file or key");
    *kv = gguf_find_kv(file, key);
    if (*kv == NULL) return core_fail(SLLM_ERR_NOT_FOUND, "metadata key '%s' not found", key);
    return SLLM_OK;
}

static sllm_status mismatch(const gguf_kv *kv, const char *wanted) {
    return core_fail(SLLM_ERR_TYPE_MISMATCH, "metadata key '%s' is a %s, not %s", kv->key,
                     gguf_type_name(kv->value.type), wanted);
}

sllm_status gguf_get_int(const gguf_file *file, const char *key, int64_t *value) {
    const gguf_kv *kv;
    sllm_status status = find_typed(file, key, &kv);
    if (status != SLLM_OK) return status;
    gguf_type type = kv->value.type;
    if (type == GGUF_TYPE_BOOL) *value = kv->value.as.b;
    else if (is_signed(type)) *value = kv->value.as.i64;
    else if (is_unsigned(type) && kv->value.as.u64 <= INT64_MAX) *value = (int64_t)kv->value.as.u64;
    else if (is_unsigned(type))
        return core_fail(SLLM_ERR_TYPE_MISMATCH, "metadata key '%s': %llu does not fit in int64", key,
                         (unsigned long long)kv->value.as.u64);
    else return mismatch(kv, "an integer");
    return SLLM_OK;
}

sllm_status gguf_get_float(const gguf_file *file, const char *key, double *value) {
    const gguf_kv *kv;
    sllm_status status = find_typed(file, key, &kv);
    if (status != SLLM_OK) return status;
    gguf_type type = kv->value.type;
    if (is_float(type)) *value = kv->value.as.f64;
    else if (is_signed(type)) *value = (double)kv->value.as.i64;
    else if (is_unsigned(type)) *value = (double)kv->value.as.u64;
    else return mismatch(kv, "a number");
    return SLLM_OK;
}

sllm_status gguf_get_bool(const gguf_file *file, const char *key, bool *value) {
    const gguf_kv *kv;
    sllm_status status = find_typed(file, key, &kv);
    if (status != SLLM_OK) return status;
    if (kv->value.type != GGUF_TYPE_BOOL) return mismatch(kv, "a BOOL");
    *value = kv->value.as.b;
    return SLLM_OK;
}

sllm_status gguf_get_string(const gguf_file *file, const char *key, gguf_string *value) {
    const gguf_kv *kv;
    sllm_status status = find_typed(file, key, &kv);
    if (status != SLLM_OK) return status;
    if (kv->value.type != GGUF_TYPE_STRING) return mismatch(kv, "a STRING");
    *value = kv->value.as.str;
    return SLLM_OK;
}

sllm_status gguf_get_array(const gguf_file *file, const char *key, const gguf_array **value) {
    const gguf_kv *kv;
    sllm_status status = find_typed(file, key, &kv);
    if (status != SLLM_OK) return status;
    if (kv->value.type != GGUF_TYPE_ARRAY) return mismatch(kv, "an ARRAY");
    *value = &kv->value.as.arr;
    return SLLM_OK;
}

/* ---- array elements --------------------------------------------------------------- */

/* The element's little-endian bytes, zero-extended. */
static uint64_t element_bits(const gguf_array *array, uint64_t index) {
    size_t n_bytes = gguf_type_size(array->elem_type);
    uint64_t bits = 0;
    if (n_bytes > 0 && array->raw != NULL) memcpy(&bits, array->raw + index * n_bytes, n_bytes);
    return bits;
}

static int64_t element_signed(const gguf_array *array, uint64_t index) {
    unsigned shift = (unsigned)(64 - 8 * gguf_type_size(array->elem_type));
    return (int64_t)(element_bits(array, index) << shift) >> shift;
}

static double element_float(const gguf_array *array, uint64_t index) {
    uint64_t bits = element_bits(array, index);
    if (array->elem_type == GGUF_TYPE_FLOAT32) {
        float f;
        uint32_t bits32 = (uint32_t)bits;
        memcpy(&f, &bits32, sizeof f);
        return f;
    }
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}

int64_t gguf_array_get_int(const gguf_array *array, uint64_t index) {
    gguf_type type = array->elem_type;
    if (is_signed(type)) return element_signed(array, index);
    if (is_unsigned(type) || type == GGUF_TYPE_BOOL) return (int64_t)element_bits(array, index);
    if (is_float(type)) {
        /* Truncated toward zero; values outside int64 (and NaN) give 0 rather than UB. */
        double d = element_float(array, index);
        return d > -9223372036854775808.0 && d < 9223372036854775808.0 ? (int64_t)d : 0;
    }
    return 0;
}

double gguf_array_get_float(const gguf_array *array, uint64_t index) {
    gguf_type type = array->elem_type;
    if (is_float(type)) return element_float(array, index);
    if (is_signed(type)) return (double)element_signed(array, index);
    if (is_unsigned(type) || type == GGUF_TYPE_BOOL) return (double)element_bits(array, index);
    return NAN;
}
