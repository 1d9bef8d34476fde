/* GGUF v3 writer (tests and tools): deep-copied kvs and tensors, serialized like llama.cpp. */
#include "format/gguf.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(sizeof(bool) == 1, "GGUF bools are one byte; gguf_writer_add_array copies them as such");

enum { GGUF_WRITE_VERSION = 3 };

typedef struct writer_tensor {
    char *name;
    uint32_t type;
    uint32_t n_dims;
    int64_t dims[GGUF_MAX_DIMS];
    uint64_t size_bytes;
    uint8_t *data;
} writer_tensor;

struct gguf_writer {
    uint32_t alignment;
    gguf_kv *kvs;
    size_t n_kvs, cap_kvs;
    writer_tensor *tensors;
    size_t n_tensors, cap_tensors;
};

/* ---- owned values -------------------------------------------------------------- */

static void owned_value_free(gguf_value *value);

static void owned_array_free(gguf_array *array) {
    free((void *)array->raw);
    if (array->strings != NULL)
        for (uint64_t i = 0; i < array->count; i++) free((void *)array->strings[i].data);
    free(array->strings);
    if (array->items != NULL)
        for (uint64_t i = 0; i < array->count; i++) owned_value_free(&array->items[i]);
    free(array->items);
}

static void owned_value_free(gguf_value *value) {
    if (value->type == GGUF_TYPE_STRING) free((void *)value->as.str.data);
    if (value->type == GGUF_TYPE_ARRAY) owned_array_free(&value->as.arr);
}

static sllm_status out_of_memory(const char *what) {
    return core_fail(SLLM_ERR_OUT_OF_MEMORY, "gguf writer: out of memory for %s", what);
}

static sllm_status copy_string(const gguf_string *src, gguf_string *dst) {
    if (src->data == NULL && src->len > 0)
        return core_fail(SLLM_ERR_INVALID_ARGUMENT, "gguf writer: string of %llu bytes has NULL data",
                         (unsigned long long)src->len);
    if (src->len >= SIZE_MAX) return out_of_memory("a string");
    char *copy = malloc((size_t)src->len + 1);
    if (copy == NULL) return out_of_memory("a string");
    if (src->len > 0) memcpy(copy, src->data, (size_t)src->len);
    copy[src->len] = '\0';
    dst->data = copy;
    dst->len = src->len;
    return SLLM_OK;
}

static sllm_status check_scalar_range(const gguf_value *value) {
    int64_t i64 = value->as.i64;
    uint64_t u64 = value->as.u64;
    bool fits = true;
    switch (value->type) {
    case GGUF_TYPE_UINT8: fits = u64 <= UINT8_MAX; break;
    case GGUF_TYPE_UINT16: fits = u64 <= UINT16_MAX; break;
    case GGUF_TYPE_UINT32: fits = u64 <= UINT32_MAX; break;
    case GGUF_TYPE_INT8: fits = i64 >= INT8_MIN && i64 <= INT8_MAX; break;
    case GGUF_TYPE_INT16: fits = i64 >= INT16_MIN && i64 <= INT16_MAX; break;
    case GGUF_TYPE_INT32: fits = i64 >= INT32_MIN && i64 <= INT32_MAX; break;
    case GGUF_TYPE_FLOAT32: fits = !isfinite(value->as.f64) || fabs(value->as.f64) <= FLT_MAX; break;
    default: break;
    }
    if (fits) return SLLM_OK;
    return core_fail(SLLM_ERR_INVALID_ARGUMENT, "gguf writer: value does not fit in a %s",
                     gguf_type_name(value->type));
}

static sllm_status copy_value(const gguf_value *src, int depth, gguf_value *dst);

static sllm_status copy_array(const gguf_array *src, int depth, gguf_array *dst) {
    if ((unsigned)src->elem_type >= GGUF_TYPE_COUNT)
        return core_fail(SLLM_ERR_INVALID_ARGUMENT, "gguf writer: array element type %d is not a GGUF type",
                         (int)src->elem_type);
    if (src->elem_type == GGUF_TYPE_ARRAY && depth + 1 >= GGUF_MAX_ARRAY_DEPTH)
        return core_fail(SLLM_ERR_INVALID_ARGUMENT, "gguf writer: arrays nested deeper than %d levels",
                         GGUF_MAX_ARRAY_DEPTH);
    dst->elem_type = src->elem_type;
    if (src->count == 0) return SLLM_OK;
    if (src->elem_type == GGUF_TYPE_STRING) {
        if (src->strings == NULL || src->count > SIZE_MAX / sizeof *dst->strings)
            return core_fail(SLLM_ERR_INVALID_ARGUMENT, "gguf writer: string array without strings");
        dst->strings = calloc((size_t)src->count, sizeof *dst->strings);
        if (dst->strings == NULL) return out_of_memory("a string array");
        dst->count = src->count;
        for (uint64_t i = 0; i < src->count; i++) {
            sllm_status status = copy_string(&src->strings[i], &dst->strings[i]);
            if (status != SLLM_OK) return status;
        }
        return SLLM_OK;
    }
    if (src->elem_type == GGUF_TYPE_ARRAY) {
        if (src->items == NULL || src->count > SIZE_MAX / sizeof *dst->items)
            return core_fail(SLLM_ERR_INVALID_ARGUMENT, "gguf writer: array of arrays without items");
        dst->items = calloc((size_t)src->count, sizeof *dst->items);
        if (dst->items == NULL) return out_of_memory("an array of arrays");
        dst->count = src->count;
        for (uint64_t i = 0; i < src->count; i++) {
            if (src->items[i].type != GGUF_TYPE_ARRAY)
                return core_fail(SLLM_ERR_INVALID_ARGUMENT, "gguf writer: element %llu of an array of "
                                 "arrays is a %s", (unsigned long long)i, gguf_type_name(src->items[i].type));
            sllm_status status = copy_value(&src->items[i], depth + 1, &dst->items[i]);
            if (status != SLLM_OK) return status;
        }
        return SLLM_OK;
    }
    size_t elem_bytes = gguf_type_size(src->elem_type);
    if (src->raw == NULL || src->count > SIZE_MAX / elem_bytes)
        return core_fail(SLLM_ERR_INVALID_ARGUMENT, "gguf writer: array of %llu %s without data",
                         (unsigned long long)src->count, gguf_type_name(src->elem_type));
    uint8_t *raw = malloc((size_t)src->count * elem_bytes);
    if (raw == NULL) return out_of_memory("an array");
    memcpy(raw, src->raw, (size_t)src->count * elem_bytes);
    dst->raw = raw;
    dst->count = src->count;
    return SLLM_OK;
}

/* On failure *dst holds whatever was copied so far; owned_value_free releases it. */
static sllm_status copy_value(const gguf_value *src, int depth, gguf_value *dst) {
    memset(dst, 0, sizeof *dst);
    if ((unsigned)src->type >= GGUF_TYPE_COUNT)
        return core_fail(SLLM_ERR_INVALID_ARGUMENT, "gguf writer: value type %d is not a GGUF type",
                         (int)src->type);
    dst->type = src->type;
    if (src->type == GGUF_TYPE_STRING) return copy_string(&src->as.str, &dst->as.str);
    if (src->type == GGUF_TYPE_ARRAY) return copy_array(&src->as.arr, depth, &dst->as.arr);
    sllm_status status = check_scalar_range(src);
    if (status != SLLM_OK) return status;
    dst->as = src->as;
    return SLLM_OK;
}

/* ---- building ------------------------------------------------------------------ */

static sllm_status grow(void **items, size_t *cap, size_t count, size_t item_size) {
    if (count < *cap) return SLLM_OK;
    size_t new_cap = *cap ? *cap * 2 : 16;
    void *grown = realloc(*items, new_cap * item_size);
    if (grown == NULL) return out_of_memory("a growing list");
    *items = grown;
    *cap = new_cap;
    return SLLM_OK;
}

sllm_status gguf_writer_create(gguf_writer **out) {
    if (out == NULL) return core_fail(SLLM_ERR_INVALID_ARGUMENT, "gguf_writer_create: NULL out");
    gguf_writer *writer = calloc(1, sizeof *writer);
    if (writer == NULL) return out_of_memory("a writer");
    writer->alignment = GGUF_DEFAULT_ALIGNMENT;
    *out = writer;
    return SLLM_OK;
}

void gguf_writer_free(gguf_writer *writer) {
    if (writer == NULL) return;
    for (size_t i = 0; i < writer->n_kvs; i++) {
        free(writer->kvs[i].key);
        owned_value_free(&writer->kvs[i].value);
    }
    free(writer->kvs);
    for (size_t i = 0; i < writer->n_tensors; i++) {
        free(writer->tensors[i].name);
        free(writer->tensors[i].data);
    }
    free(writer->tensors);
    free(writer);
}

static gguf_kv *find_key(gguf_writer *writer, const char *key) {
    for (size_t i = 0; i < writer->n_kvs; i++)
        if (strcmp(writer->kvs[i].key, key) == 0) return &writer->kvs[i];
    return NULL;
}

static sllm_status check_name(const char *name, const char *what) {
    if (name == NULL || name[0] == '\0')
        return core_fail(SLLM_ERR_INVALID_ARGUMENT, "gguf writer: %s must be a non-empty string", what);
    return SLLM_OK;
}

static char *copy_cstring(const char *text) {
    size_t len = strlen(text);
    char *copy = malloc(len + 1);
    if (copy != NULL) memcpy(copy, text, len + 1);
    return copy;
}

sllm_status gguf_writer_add(gguf_writer *writer, const char *key, const gguf_value *value) {
    if (writer == NULL || value == NULL)
        return core_fail(SLLM_ERR_INVALID_ARGUMENT, "gguf_writer_add: NULL argument");
    sllm_status status = check_name(key, "a key");
    if (status != SLLM_OK) return status;
    if (find_key(writer, key) != NULL)
        return core_fail(SLLM_ERR_INVALID_ARGUMENT, "gguf writer: key '%s' was already added", key);
    status = grow((void **)&writer->kvs, &writer->cap_kvs, writer->n_kvs, sizeof *writer->kvs);
    if (status != SLLM_OK) return status;
    gguf_kv kv = { copy_cstring(key), { 0 } };
    if (kv.key == NULL) return out_of_memory("a key");
    status = copy_value(value, 0, &kv.value);
    if (status != SLLM_OK) goto fail;
    writer->kvs[writer->n_kvs++] = kv;
    return SLLM_OK;
fail:
    free(kv.key);
    owned_value_free(&kv.value);
    return core_fail_context(status, "key '%s'", key);
}

sllm_status gguf_writer_set_alignment(gguf_writer *writer, uint32_t alignment) {
    if (writer == NULL) return core_fail(SLLM_ERR_INVALID_ARGUMENT, "gguf_writer_set_alignment: NULL writer");
    if (alignment == 0 || (alignment & (alignment - 1)) != 0)
        return core_fail(SLLM_ERR_INVALID_ARGUMENT, "gguf writer: alignment %u is not a power of two",
                         (unsigned)alignment);
    gguf_kv *existing = find_key(writer, "general.alignment");
    if (existing != NULL) {
        owned_value_free(&existing->value);
        existing->value = (gguf_value){ .type = GGUF_TYPE_UINT32, .as.u64 = alignment };
    } else {
        sllm_status status = gguf_writer_add_u32(writer, "general.alignment", alignment);
        if (status != SLLM_OK) return status;
    }
    writer->alignment = alignment;
    return SLLM_OK;
}

sllm_status gguf_writer_add_u32(gguf_writer *writer, const char *key, uint32_t value) {
    gguf_value v = { .type = GGUF_TYPE_UINT32, .as.u64 = value };
    return gguf_writer_add(writer, key, &v);
}

sllm_status gguf_writer_add_i32(gguf_writer *writer, const char *key, int32_t value) {
    gguf_value v = { .type = GGUF_TYPE_INT32, .as.i64 = value };
    return gguf_writer_add(writer, key, &v);
}

sllm_status gguf_writer_add_f32(gguf_writer *writer, const char *key, float value) {
    gguf_value v = { .type = GGUF_TYPE_FLOAT32, .as.f64 = value };
    return gguf_writer_add(writer, key, &v);
}

sllm_status gguf_writer_add_bool(gguf_writer *writer, const char *key, bool value) {
    gguf_value v = { .type = GGUF_TYPE_BOOL, .as.b = value };
    return gguf_writer_add(writer, key, &v);
}

sllm_status gguf_writer_add_string(gguf_writer *writer, const char *key, const char *value) {
    if (value == NULL) return core_fail(SLLM_ERR_INVALID_ARGUMENT, "gguf_writer_add_string: NULL value");
    gguf_value v = { .type = GGUF_TYPE_STRING, .as.str = { value, strlen(value) } };
    return gguf_writer_add(writer, key, &v);
}

sllm_status gguf_writer_add_array(gguf_writer *writer, const char *key, gguf_type elem_type,
                                  const void *elems, uint64_t count) {
    if (gguf_type_size(elem_type) == 0)
        return core_fail(SLLM_ERR_INVALID_ARGUMENT,
                         "gguf_writer_add_array: element type %s is not fixed-size", gguf_type_name(elem_type));
    gguf_value v = { .type = GGUF_TYPE_ARRAY };
    v.as.arr = (gguf_array){ .elem_type = elem_type, .count = count, .raw = elems };
    return gguf_writer_add(writer, key, &v);
}

sllm_status gguf_writer_add_string_array(gguf_writer *writer, const char *key,
                                         const char *const *strings, uint64_t count) {
    if (strings == NULL && count > 0)
        return core_fail(SLLM_ERR_INVALID_ARGUMENT, "gguf_writer_add_string_array: NULL strings");
    if (count > SIZE_MAX / sizeof(gguf_string)) return out_of_memory("a string array");
    gguf_string *views = count > 0 ? malloc((size_t)count * sizeof *views) : NULL;
    if (count > 0 && views == NULL) return out_of_memory("a string array");
    sllm_status status = SLLM_OK;
    for (uint64_t i = 0; i < count; i++) {
        if (strings[i] == NULL) {
            status = core_fail(SLLM_ERR_INVALID_ARGUMENT, "gguf_writer_add_string_array: string %llu is NULL",
                               (unsigned long long)i);
            goto done;
        }
        views[i] = (gguf_string){ strings[i], strlen(strings[i]) };
    }
    gguf_value v = { .type = GGUF_TYPE_ARRAY };
    v.as.arr = (gguf_array){ .elem_type = GGUF_TYPE_STRING, .count = count, .strings = views };
    status = gguf_writer_add(writer, key, &v);
done:
    free(views);
    return status;
}

/* Bytes of a tensor of this type and shape; INVALID_ARGUMENT when the shape is not
 * storable in GGUF. */
static sllm_status writer_tensor_size(writer_tensor *tensor) {
    const ggml_type_traits *traits = ggml_type_get(tensor->type);
    if (traits == NULL)
        return core_fail(SLLM_ERR_INVALID_ARGUMENT, "unknown ggml type id %u", (unsigned)tensor->type);
    int64_t n_rows = 1;
    for (uint32_t d = 1; d < tensor->n_dims; d++) {
        if (tensor->dims[d] > INT64_MAX / n_rows)
            return core_fail(SLLM_ERR_INVALID_ARGUMENT, "the product of the dimensions overflows");
        n_rows *= tensor->dims[d];
    }
    uint64_t row_bytes;
    if (!ggml_row_size(tensor->type, tensor->dims[0], &row_bytes))
        return core_fail(SLLM_ERR_INVALID_ARGUMENT, "a row of %lld elements does not fit type %s (block size %u)",
                         (long long)tensor->dims[0], traits->name, (unsigned)traits->block_size);
    if (row_bytes > SIZE_MAX / (uint64_t)n_rows)
        return core_fail(SLLM_ERR_INVALID_ARGUMENT, "the tensor's size overflows");
    tensor->size_bytes = row_bytes * (uint64_t)n_rows;
    return SLLM_OK;
}

static sllm_status check_tensor_shape(writer_tensor *tensor, const int64_t *dims) {
    if (tensor->n_dims < 1 || tensor->n_dims > GGUF_MAX_DIMS || dims == NULL)
        return core_fail(SLLM_ERR_INVALID_ARGUMENT, "n_dims %u is outside 1..%d", (unsigned)tensor->n_dims,
                         GGUF_MAX_DIMS);
    for (int d = 0; d < GGUF_MAX_DIMS; d++) tensor->dims[d] = 1;
    for (uint32_t d = 0; d < tensor->n_dims; d++) {
        if (dims[d] < 1)
            return core_fail(SLLM_ERR_INVALID_ARGUMENT, "dimension %u is %lld", (unsigned)d, (long long)dims[d]);
        tensor->dims[d] = dims[d];
    }
    return writer_tensor_size(tensor);
}

/* A NULL `data` adds a zero-filled tensor. */
sllm_status gguf_writer_add_tensor(gguf_writer *writer, const char *name, uint32_t type,
                                   uint32_t n_dims, const int64_t *dims, const void *data) {
    if (writer == NULL) return core_fail(SLLM_ERR_INVALID_ARGUMENT, "gguf_writer_add_tensor: NULL writer");
    sllm_status status = check_name(name, "a tensor name");
    if (status != SLLM_OK) return status;
    for (size_t i = 0; i < writer->n_tensors; i++)
        if (strcmp(writer->tensors[i].name, name) == 0)
            return core_fail(SLLM_ERR_INVALID_ARGUMENT, "gguf writer: tensor '%s' was already added", name);
    writer_tensor tensor = { .type = type, .n_dims = n_dims };
    status = check_tensor_shape(&tensor, dims);
    if (status == SLLM_OK)
        status = grow((void **)&writer->tensors, &writer->cap_tensors, writer->n_tensors, sizeof *writer->tensors);
    if (status != SLLM_OK) return core_fail_context(status, "gguf writer: tensor '%s'", name);
    tensor.name = copy_cstring(name);
    tensor.data = data ? malloc((size_t)tensor.size_bytes) : calloc(1, (size_t)tensor.size_bytes);
    if (tensor.name == NULL || tensor.data == NULL) {
        free(tensor.name);
        free(tensor.data);
        return out_of_memory("a tensor");
    }
    if (data != NULL) memcpy(tensor.data, data, (size_t)tensor.size_bytes);
    writer->tensors[writer->n_tensors++] = tensor;
    return SLLM_OK;
}

/* ---- serializing ---------------------------------------------------------------- */

/* With buf == NULL only counts bytes, so one routine both sizes and fills the output. */
typedef struct out_buf {
    uint8_t *buf;
    uint64_t pos;
} out_buf;

static void put_bytes(out_buf *out, const void *src, uint64_t n_bytes) {
    if (out->buf != NULL && n_bytes > 0) memcpy(out->buf + out->pos, src, (size_t)n_bytes);
    out->pos += n_bytes;
}

static void put_zeros(out_buf *out, uint64_t n_bytes) {
    if (out->buf != NULL) memset(out->buf + out->pos, 0, (size_t)n_bytes);
    out->pos += n_bytes;
}

static void put_u32(out_buf *out, uint32_t value) { put_bytes(out, &value, sizeof value); }
static void put_u64(out_buf *out, uint64_t value) { put_bytes(out, &value, sizeof value); }

static void put_string(out_buf *out, const gguf_string *str) {
    put_u64(out, str->len);
    put_bytes(out, str->data, str->len);
}

static void put_align(out_buf *out, uint64_t alignment) {
    put_zeros(out, (alignment - out->pos % alignment) % alignment);
}

static void put_value(out_buf *out, const gguf_value *value);

static void put_array(out_buf *out, const gguf_array *array) {
    put_u32(out, (uint32_t)array->elem_type);
    put_u64(out, array->count);
    if (array->elem_type == GGUF_TYPE_STRING)
        for (uint64_t i = 0; i < array->count; i++) put_string(out, &array->strings[i]);
    else if (array->elem_type == GGUF_TYPE_ARRAY)
        for (uint64_t i = 0; i < array->count; i++) put_value(out, &array->items[i]);
    else
        put_bytes(out, array->raw, array->count * gguf_type_size(array->elem_type));
}

/* The value's payload, without its type tag. */
static void put_value(out_buf *out, const gguf_value *value) {
    switch (value->type) {
    case GGUF_TYPE_STRING: put_string(out, &value->as.str); return;
    case GGUF_TYPE_ARRAY: put_array(out, &value->as.arr); return;
    case GGUF_TYPE_FLOAT32: {
        float f = (float)value->as.f64;
        put_bytes(out, &f, sizeof f);
        return;
    }
    case GGUF_TYPE_FLOAT64: put_bytes(out, &value->as.f64, sizeof value->as.f64); return;
    case GGUF_TYPE_BOOL: {
        uint8_t b = value->as.b ? 1 : 0;
        put_bytes(out, &b, 1);
        return;
    }
    default:
        /* Little-endian: the low bytes of the 64-bit value are the narrower value. */
        put_bytes(out, &value->as.u64, gguf_type_size(value->type));
        return;
    }
}

static void put_file(const gguf_writer *writer, out_buf *out) {
    put_bytes(out, "GGUF", 4);
    put_u32(out, GGUF_WRITE_VERSION);
    put_u64(out, writer->n_tensors);
    put_u64(out, writer->n_kvs);
    for (size_t i = 0; i < writer->n_kvs; i++) {
        const gguf_kv *kv = &writer->kvs[i];
        put_string(out, &(gguf_string){ kv->key, strlen(kv->key) });
        put_u32(out, (uint32_t)kv->value.type);
        put_value(out, &kv->value);
    }
    uint64_t data_offset = 0;
    for (size_t i = 0; i < writer->n_tensors; i++) {
        const writer_tensor *tensor = &writer->tensors[i];
        put_string(out, &(gguf_string){ tensor->name, strlen(tensor->name) });
        put_u32(out, tensor->n_dims);
        for (uint32_t d = 0; d < tensor->n_dims; d++) put_u64(out, (uint64_t)tensor->dims[d]);
        put_u32(out, tensor->type);
        put_u64(out, data_offset);
        data_offset += tensor->size_bytes;
        data_offset += (writer->alignment - data_offset % writer->alignment) % writer->alignment;
    }
    put_align(out, writer->alignment);
    for (size_t i = 0; i < writer->n_tensors; i++) {
        put_bytes(out, writer->tensors[i].data, writer->tensors[i].size_bytes);
        put_align(out, writer->alignment);
    }
}

sllm_status gguf_writer_to_buffer(const gguf_writer *writer, uint8_t **data, uint64_t *size) {
    if (writer == NULL || data == NULL || size == NULL)
        return core_fail(SLLM_ERR_INVALID_ARGUMENT, "gguf_writer_to_buffer: NULL argument");
    out_buf measure = { NULL, 0 };
    put_file(writer, &measure);
    if (measure.pos > SIZE_MAX) return out_of_memory("the serialized file");
    out_buf out = { malloc((size_t)measure.pos), 0 };
    if (out.buf == NULL) return out_of_memory("the serialized file");
    put_file(writer, &out);
    *data = out.buf;
    *size = out.pos;
    return SLLM_OK;
}

sllm_status gguf_writer_to_file(const gguf_writer *writer, const char *path) {
    if (path == NULL) return core_fail(SLLM_ERR_INVALID_ARGUMENT, "gguf_writer_to_file: NULL path");
    uint8_t *data = NULL;
    uint64_t size = 0;
    char reason[128];
    sllm_status status = gguf_writer_to_buffer(writer, &data, &size);
    if (status != SLLM_OK) return status;
    FILE *file = fopen(path, "wb");
    if (file == NULL) {
        status = core_fail(SLLM_ERR_IO, "cannot create '%s': %s", path, strerror_r(errno, reason, sizeof reason));
        goto done;
    }
    bool written = fwrite(data, 1, (size_t)size, file) == size;
    if (fclose(file) != 0 || !written)
        status = core_fail(SLLM_ERR_IO, "cannot write '%s': %s", path, strerror_r(errno, reason, sizeof reason));
done:
    free(data);
    return status;
}
