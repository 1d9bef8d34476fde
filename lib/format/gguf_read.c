/* GGUF v2/v3 parsing: every field is read through a cursor that checks the remaining length. */
#include "format/gguf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define GGUF_MAGIC "GGUF"
enum { GGUF_MAGIC_BYTES = 4, GGUF_HEADER_BYTES = 24 };

/* The fewest bytes one kv / one tensor info can occupy in a file: the counts in the
 * header are checked against these before anything is allocated for them. */
enum {
    MIN_KV_BYTES = 8 + 4 + 1,              /* key length, value type, a one-byte value */
    MIN_TENSOR_BYTES = 8 + 4 + 8 + 4 + 8,  /* name length, n_dims, one dim, type, offset */
    MIN_ARRAY_BYTES = 4 + 8                /* element type, count */
};

/* Longest name printed in a message; longer ones are cut (a hostile key may be huge). */
enum { NAME_PRINT_MAX = 80 };

typedef struct gguf_cursor {
    const uint8_t *base;
    uint64_t size;
    uint64_t pos;
} gguf_cursor;

typedef unsigned long long ull;

static uint64_t cursor_remaining(const gguf_cursor *cur) { return cur->size - cur->pos; }

static sllm_status cursor_need(const gguf_cursor *cur, uint64_t n_bytes, const char *what) {
    if (n_bytes <= cursor_remaining(cur)) return SLLM_OK;
    return core_fail(SLLM_ERR_TRUNCATED,
                     "%s at offset %llu runs past the end of the file (size %llu)", what,
                     (ull)cur->pos, (ull)cur->size);
}

static sllm_status cursor_read(gguf_cursor *cur, void *dst, uint64_t n_bytes, const char *what) {
    sllm_status status = cursor_need(cur, n_bytes, what);
    if (status != SLLM_OK) return status;
    memcpy(dst, cur->base + cur->pos, (size_t)n_bytes);
    cur->pos += n_bytes;
    return SLLM_OK;
}

static sllm_status cursor_u32(gguf_cursor *cur, uint32_t *value, const char *what) {
    return cursor_read(cur, value, sizeof *value, what);
}

static sllm_status cursor_u64(gguf_cursor *cur, uint64_t *value, const char *what) {
    return cursor_read(cur, value, sizeof *value, what);
}

/* A u64 length followed by that many bytes; the bytes stay in the file. */
static sllm_status cursor_string(gguf_cursor *cur, gguf_string *out, const char *what) {
    uint64_t length_offset = cur->pos;
    uint64_t length;
    sllm_status status = cursor_u64(cur, &length, what);
    if (status != SLLM_OK) return status;
    if (length > cursor_remaining(cur))
        return core_fail(SLLM_ERR_TRUNCATED,
                         "%s length %llu at offset %llu runs past the end of the file (size %llu)",
                         what, (ull)length, (ull)length_offset, (ull)cur->size);
    out->data = (const char *)(cur->base + cur->pos);
    out->len = length;
    cur->pos += length;
    return SLLM_OK;
}

/* Keys and tensor names are copied NUL-terminated, so they must not contain NUL. */
static sllm_status copy_name(const gguf_string *str, const char *what, uint64_t offset,
                             char **out) {
    if (str->len == 0) return core_fail(SLLM_ERR_CORRUPT, "empty %s at offset %llu", what, (ull)offset);
    if (memchr(str->data, '\0', (size_t)str->len) != NULL)
        return core_fail(SLLM_ERR_CORRUPT, "%s at offset %llu contains a NUL byte", what, (ull)offset);
    char *copy = malloc((size_t)str->len + 1);
    if (copy == NULL)
        return core_fail(SLLM_ERR_OUT_OF_MEMORY, "out of memory copying a %s of %llu bytes", what,
                         (ull)str->len);
    memcpy(copy, str->data, (size_t)str->len);
    copy[str->len] = '\0';
    *out = copy;
    return SLLM_OK;
}

static sllm_status read_type(gguf_cursor *cur, gguf_type *type, const char *what) {
    uint64_t offset = cur->pos;
    uint32_t raw;
    sllm_status status = cursor_u32(cur, &raw, what);
    if (status != SLLM_OK) return status;
    if (raw >= GGUF_TYPE_COUNT)
        return core_fail(SLLM_ERR_CORRUPT, "%s %u at offset %llu is not a GGUF value type", what,
                         (unsigned)raw, (ull)offset);
    *type = (gguf_type)raw;
    return SLLM_OK;
}

/* ---- values ------------------------------------------------------------------- */

static void value_free(gguf_value *value);

static void array_free(gguf_array *array) {
    free(array->strings);
    if (array->items != NULL)
        for (uint64_t i = 0; i < array->count; i++) value_free(&array->items[i]);
    free(array->items);
}

static void value_free(gguf_value *value) {
    if (value->type == GGUF_TYPE_ARRAY) array_free(&value->as.arr);
}

static sllm_status read_value(gguf_cursor *cur, gguf_type type, int depth, gguf_value *out);

static int64_t sign_extend(uint64_t raw, size_t n_bytes) {
    unsigned shift = (unsigned)(64 - 8 * n_bytes);
    return (int64_t)(raw << shift) >> shift;
}

static sllm_status read_scalar(gguf_cursor *cur, gguf_type type, gguf_value *out) {
    uint64_t offset = cur->pos;
    size_t n_bytes = gguf_type_size(type);
    uint64_t raw = 0;
    sllm_status status = cursor_read(cur, &raw, n_bytes, gguf_type_name(type));
    if (status != SLLM_OK) return status;
    switch (type) {
    case GGUF_TYPE_INT8: case GGUF_TYPE_INT16: case GGUF_TYPE_INT32: case GGUF_TYPE_INT64:
        out->as.i64 = sign_extend(raw, n_bytes);
        break;
    case GGUF_TYPE_FLOAT32: {
        float f;
        memcpy(&f, &raw, sizeof f);
        out->as.f64 = f;
        break;
    }
    case GGUF_TYPE_FLOAT64: memcpy(&out->as.f64, &raw, sizeof out->as.f64); break;
    case GGUF_TYPE_BOOL:
        if (raw > 1)
            return core_fail(SLLM_ERR_CORRUPT, "bool value %llu at offset %llu is neither 0 nor 1",
                             (ull)raw, (ull)offset);
        out->as.b = raw == 1;
        break;
    default: out->as.u64 = raw; break;
    }
    return SLLM_OK;
}

static sllm_status check_bools(const uint8_t *raw, uint64_t count, uint64_t offset) {
    for (uint64_t i = 0; i < count; i++)
        if (raw[i] > 1)
            return core_fail(SLLM_ERR_CORRUPT, "bool element %llu (value %u) at offset %llu is neither 0 nor 1",
                             (ull)i, (unsigned)raw[i], (ull)(offset + i));
    return SLLM_OK;
}

static sllm_status read_string_elements(gguf_cursor *cur, gguf_array *array) {
    array->strings = malloc((size_t)array->count * sizeof *array->strings);
    if (array->strings == NULL)
        return core_fail(SLLM_ERR_OUT_OF_MEMORY, "out of memory indexing %llu strings", (ull)array->count);
    for (uint64_t i = 0; i < array->count; i++) {
        sllm_status status = cursor_string(cur, &array->strings[i], "string");
        if (status != SLLM_OK) return core_fail_context(status, "array element %llu", (ull)i);
    }
    return SLLM_OK;
}

static sllm_status read_array_elements(gguf_cursor *cur, gguf_array *array, int depth) {
    /* calloc: a partly read array is freed element by element, and zeroed elements free
     * as nothing. */
    array->items = calloc((size_t)array->count, sizeof *array->items);
    if (array->items == NULL)
        return core_fail(SLLM_ERR_OUT_OF_MEMORY, "out of memory for %llu nested arrays", (ull)array->count);
    for (uint64_t i = 0; i < array->count; i++) {
        sllm_status status = read_value(cur, GGUF_TYPE_ARRAY, depth, &array->items[i]);
        if (status != SLLM_OK) return core_fail_context(status, "array element %llu", (ull)i);
    }
    return SLLM_OK;
}

static uint64_t min_element_bytes(gguf_type type) {
    if (type == GGUF_TYPE_STRING) return 8;
    if (type == GGUF_TYPE_ARRAY) return MIN_ARRAY_BYTES;
    return gguf_type_size(type);
}

/* `depth` counts the arrays enclosing this one. On failure the caller frees *out. */
static sllm_status read_array(gguf_cursor *cur, int depth, gguf_array *out) {
    sllm_status status = read_type(cur, &out->elem_type, "array element type");
    if (status != SLLM_OK) return status;
    uint64_t count_offset = cur->pos;
    uint64_t count;
    status = cursor_u64(cur, &count, "array count");
    if (status != SLLM_OK) return status;
    if (out->elem_type == GGUF_TYPE_ARRAY && depth + 1 >= GGUF_MAX_ARRAY_DEPTH)
        return core_fail(SLLM_ERR_CORRUPT, "arrays at offset %llu are nested deeper than %d levels",
                         (ull)count_offset, GGUF_MAX_ARRAY_DEPTH);
    /* The count must fit in the remaining bytes before anything is allocated for it. */
    uint64_t elem_bytes = min_element_bytes(out->elem_type);
    if (count > cursor_remaining(cur) / elem_bytes)
        return core_fail(SLLM_ERR_TRUNCATED,
                         "array count %llu at offset %llu (%s elements of at least %llu bytes) "
                         "runs past the end of the file (size %llu)",
                         (ull)count, (ull)count_offset, gguf_type_name(out->elem_type),
                         (ull)elem_bytes, (ull)cur->size);
    out->count = count;
    if (count == 0) return SLLM_OK;
    if (out->elem_type == GGUF_TYPE_STRING) return read_string_elements(cur, out);
    if (out->elem_type == GGUF_TYPE_ARRAY) return read_array_elements(cur, out, depth + 1);
    out->raw = cur->base + cur->pos;
    cur->pos += count * elem_bytes;
    return out->elem_type == GGUF_TYPE_BOOL ? check_bools(out->raw, count, cur->pos - count) : SLLM_OK;
}

static sllm_status read_value(gguf_cursor *cur, gguf_type type, int depth, gguf_value *out) {
    memset(out, 0, sizeof *out);
    out->type = type;
    if (type == GGUF_TYPE_STRING) return cursor_string(cur, &out->as.str, "string");
    if (type == GGUF_TYPE_ARRAY) return read_array(cur, depth, &out->as.arr);
    return read_scalar(cur, type, out);
}

/* ---- header and kvs ------------------------------------------------------------ */

static sllm_status read_header(gguf_cursor *cur, gguf_file *file, uint64_t *n_tensors,
                               uint64_t *n_kv) {
    if (cur->size < GGUF_MAGIC_BYTES)
        return core_fail(SLLM_ERR_BAD_MAGIC, "file of %llu bytes is too short to be a GGUF file",
                         (ull)cur->size);
    if (memcmp(cur->base, GGUF_MAGIC, GGUF_MAGIC_BYTES) != 0)
        return core_fail(SLLM_ERR_BAD_MAGIC,
                         "not a GGUF file: magic is %02x %02x %02x %02x, expected 'GGUF'",
                         cur->base[0], cur->base[1], cur->base[2], cur->base[3]);
    cur->pos = GGUF_MAGIC_BYTES;
    sllm_status status = cursor_u32(cur, &file->version, "header: version");
    if (status != SLLM_OK) return status;
    if (file->version != 2 && file->version != 3)
        return core_fail(SLLM_ERR_UNSUPPORTED_VERSION, "GGUF version %u is not supported (only 2 and 3%s)",
                         (unsigned)file->version,
                         (file->version & 0xFFFF) == 0 ? "; the file may be big-endian" : "");
    status = cursor_u64(cur, n_tensors, "header: tensor count");
    if (status == SLLM_OK) status = cursor_u64(cur, n_kv, "header: metadata kv count");
    if (status != SLLM_OK) return status;
    /* Each kv and tensor info takes a minimum number of bytes, so counts that could not
     * fit in the rest of the file are rejected before any allocation is sized by them. */
    uint64_t remaining = cursor_remaining(cur);
    if (*n_kv > remaining / MIN_KV_BYTES)
        return core_fail(SLLM_ERR_TRUNCATED,
                         "header: metadata kv count %llu at offset 16 needs at least %llu bytes per kv; "
                         "it runs past the end of the file (size %llu)",
                         (ull)*n_kv, (ull)MIN_KV_BYTES, (ull)cur->size);
    if (*n_tensors > (remaining - *n_kv * MIN_KV_BYTES) / MIN_TENSOR_BYTES)
        return core_fail(SLLM_ERR_TRUNCATED,
                         "header: tensor count %llu at offset 8 needs at least %llu bytes per tensor "
                         "info; it runs past the end of the file (size %llu)",
                         (ull)*n_tensors, (ull)MIN_TENSOR_BYTES, (ull)cur->size);
    return SLLM_OK;
}

static sllm_status read_kv(gguf_cursor *cur, int64_t index, gguf_kv *kv) {
    uint64_t key_offset = cur->pos;
    gguf_string key;
    sllm_status status = cursor_string(cur, &key, "key");
    if (status == SLLM_OK) status = copy_name(&key, "key", key_offset, &kv->key);
    if (status != SLLM_OK) return core_fail_context(status, "metadata key %lld", (long long)index);
    gguf_type type = GGUF_TYPE_UINT8;
    status = read_type(cur, &type, "value type");
    if (status == SLLM_OK) status = read_value(cur, type, 0, &kv->value);
    if (status != SLLM_OK)
        return core_fail_context(status, "metadata key %lld ('%.*s')", (long long)index,
                                 NAME_PRINT_MAX, kv->key);
    return SLLM_OK;
}

static int compare_names(const void *a, const void *b) {
    return strcmp(((const gguf_name_index *)a)->name, ((const gguf_name_index *)b)->name);
}

/* Sorts (name, index) pairs; equal names next to each other are duplicates. */
static sllm_status sort_names(gguf_name_index *names, int64_t count, const char *what) {
    if (count == 0) return SLLM_OK;
    qsort(names, (size_t)count, sizeof *names, compare_names);
    for (int64_t i = 1; i < count; i++) {
        if (strcmp(names[i - 1].name, names[i].name) != 0) continue;
        int64_t a = names[i - 1].index, b = names[i].index;
        int64_t first = a < b ? a : b, second = a < b ? b : a;
        return core_fail(SLLM_ERR_CORRUPT, "%s %lld ('%.*s') repeats %s %lld", what, (long long)second,
                         NAME_PRINT_MAX, names[i].name, what, (long long)first);
    }
    return SLLM_OK;
}

static sllm_status read_kvs(gguf_cursor *cur, gguf_file *file, uint64_t n_kv) {
    if (n_kv == 0) return SLLM_OK;
    file->kv = calloc((size_t)n_kv, sizeof *file->kv);
    file->kv_by_key = malloc((size_t)n_kv * sizeof *file->kv_by_key);
    if (file->kv == NULL || file->kv_by_key == NULL)
        return core_fail(SLLM_ERR_OUT_OF_MEMORY, "out of memory for %llu metadata kvs", (ull)n_kv);
    for (uint64_t i = 0; i < n_kv; i++) {
        /* Counted as read before reading, so a failed kv's partial value is freed too. */
        file->n_kv = (int64_t)i + 1;
        sllm_status status = read_kv(cur, (int64_t)i, &file->kv[i]);
        if (status != SLLM_OK) return status;
        file->kv_by_key[i] = (gguf_name_index){ file->kv[i].key, (int64_t)i };
    }
    return sort_names(file->kv_by_key, file->n_kv, "metadata key");
}

static bool is_power_of_two(uint64_t value) { return value != 0 && (value & (value - 1)) == 0; }

static sllm_status read_alignment(gguf_file *file) {
    file->alignment = GGUF_DEFAULT_ALIGNMENT;
    const gguf_kv *kv = gguf_find_kv(file, "general.alignment");
    if (kv == NULL) return SLLM_OK;
    gguf_type type = kv->value.type;
    bool is_unsigned = type == GGUF_TYPE_UINT8 || type == GGUF_TYPE_UINT16 ||
                       type == GGUF_TYPE_UINT32 || type == GGUF_TYPE_UINT64;
    bool is_signed = type == GGUF_TYPE_INT8 || type == GGUF_TYPE_INT16 ||
                     type == GGUF_TYPE_INT32 || type == GGUF_TYPE_INT64;
    if (!is_unsigned && !is_signed)
        return core_fail(SLLM_ERR_CORRUPT, "general.alignment is a %s, expected UINT32",
                         gguf_type_name(type));
    uint64_t alignment = kv->value.as.u64;
    if (is_signed && kv->value.as.i64 <= 0)
        return core_fail(SLLM_ERR_CORRUPT, "general.alignment %lld is not a non-zero power of two",
                         (long long)kv->value.as.i64);
    if (!is_power_of_two(alignment))
        return core_fail(SLLM_ERR_CORRUPT, "general.alignment %llu is not a non-zero power of two",
                         (ull)alignment);
    file->alignment = alignment;
    return SLLM_OK;
}

/* ---- tensor infos -------------------------------------------------------------- */

static sllm_status read_dims(gguf_cursor *cur, gguf_tensor *tensor) {
    uint64_t offset = cur->pos;
    sllm_status status = cursor_u32(cur, &tensor->n_dims, "n_dims");
    if (status != SLLM_OK) return status;
    if (tensor->n_dims < 1 || tensor->n_dims > GGUF_MAX_DIMS)
        return core_fail(SLLM_ERR_CORRUPT, "n_dims %u at offset %llu is outside 1..%d",
                         (unsigned)tensor->n_dims, (ull)offset, GGUF_MAX_DIMS);
    for (int d = 0; d < GGUF_MAX_DIMS; d++) tensor->dims[d] = 1;
    for (uint32_t d = 0; d < tensor->n_dims; d++) {
        offset = cur->pos;
        uint64_t dim;
        status = cursor_u64(cur, &dim, "dimension");
        if (status != SLLM_OK) return status;
        if (dim == 0 || dim > INT64_MAX)
            return core_fail(SLLM_ERR_CORRUPT, "dimension %u is %llu at offset %llu (must be 1..2^63-1)",
                             (unsigned)d, (ull)dim, (ull)offset);
        tensor->dims[d] = (int64_t)dim;
    }
    return SLLM_OK;
}

/* Bytes of the tensor's data; CORRUPT when the shape does not fit its type or overflows. */
static sllm_status tensor_size(gguf_tensor *tensor) {
    const ggml_type_traits *traits = ggml_type_get(tensor->type);
    int64_t n_rows = 1;
    for (uint32_t d = 1; d < tensor->n_dims; d++) {
        if (tensor->dims[d] > INT64_MAX / n_rows)
            return core_fail(SLLM_ERR_CORRUPT, "the product of its dimensions overflows int64");
        n_rows *= tensor->dims[d];
    }
    if (tensor->dims[0] > INT64_MAX / n_rows)
        return core_fail(SLLM_ERR_CORRUPT, "the product of its dimensions overflows int64");
    if (tensor->dims[0] % traits->block_size != 0)
        return core_fail(SLLM_ERR_CORRUPT, "row of %lld elements is not a multiple of %s's block size %u",
                         (long long)tensor->dims[0], traits->name, (unsigned)traits->block_size);
    uint64_t row_bytes;
    if (!ggml_row_size(tensor->type, tensor->dims[0], &row_bytes) || row_bytes > UINT64_MAX / (uint64_t)n_rows)
        return core_fail(SLLM_ERR_CORRUPT, "its size in bytes overflows");
    tensor->size_bytes = row_bytes * (uint64_t)n_rows;
    return SLLM_OK;
}

static sllm_status read_tensor_info(gguf_cursor *cur, uint64_t alignment, gguf_tensor *tensor) {
    uint64_t offset = cur->pos;
    gguf_string name;
    sllm_status status = cursor_string(cur, &name, "name");
    if (status == SLLM_OK) status = copy_name(&name, "name", offset, &tensor->name);
    if (status == SLLM_OK) status = read_dims(cur, tensor);
    if (status != SLLM_OK) return status;
    offset = cur->pos;
    status = cursor_u32(cur, &tensor->type, "type");
    if (status != SLLM_OK) return status;
    if (ggml_type_get(tensor->type) == NULL)
        return core_fail(SLLM_ERR_CORRUPT, "unknown ggml type id %u at offset %llu",
                         (unsigned)tensor->type, (ull)offset);
    status = tensor_size(tensor);
    if (status != SLLM_OK) return status;
    offset = cur->pos;
    status = cursor_u64(cur, &tensor->offset, "data offset");
    if (status != SLLM_OK) return status;
    if (tensor->offset % alignment != 0)
        return core_fail(SLLM_ERR_CORRUPT, "data offset %llu at offset %llu is not a multiple of the alignment %llu",
                         (ull)tensor->offset, (ull)offset, (ull)alignment);
    return SLLM_OK;
}

static sllm_status read_tensor_infos(gguf_cursor *cur, gguf_file *file, uint64_t n_tensors) {
    if (n_tensors > cursor_remaining(cur) / MIN_TENSOR_BYTES)
        return core_fail(SLLM_ERR_TRUNCATED,
                         "tensor count %llu: the tensor infos at offset %llu run past the end of the file (size %llu)",
                         (ull)n_tensors, (ull)cur->pos, (ull)cur->size);
    if (n_tensors == 0) return SLLM_OK;
    file->tensors = calloc((size_t)n_tensors, sizeof *file->tensors);
    file->tensors_by_name = malloc((size_t)n_tensors * sizeof *file->tensors_by_name);
    if (file->tensors == NULL || file->tensors_by_name == NULL)
        return core_fail(SLLM_ERR_OUT_OF_MEMORY, "out of memory for %llu tensor infos", (ull)n_tensors);
    for (uint64_t i = 0; i < n_tensors; i++) {
        file->n_tensors = (int64_t)i + 1;
        gguf_tensor *tensor = &file->tensors[i];
        sllm_status status = read_tensor_info(cur, file->alignment, tensor);
        if (status != SLLM_OK) {
            if (tensor->name == NULL) return core_fail_context(status, "tensor %llu", (ull)i);
            return core_fail_context(status, "tensor %llu ('%.*s')", (ull)i, NAME_PRINT_MAX, tensor->name);
        }
        file->tensors_by_name[i] = (gguf_name_index){ tensor->name, (int64_t)i };
    }
    return sort_names(file->tensors_by_name, file->n_tensors, "tensor");
}

/* ---- tensor data ---------------------------------------------------------------- */

static sllm_status check_data_in_file(gguf_file *file) {
    uint64_t data_bytes = file->file_size > file->data_offset ? file->file_size - file->data_offset : 0;
    for (int64_t i = 0; i < file->n_tensors; i++) {
        gguf_tensor *tensor = &file->tensors[i];
        if (tensor->offset > data_bytes || tensor->size_bytes > data_bytes - tensor->offset)
            return core_fail(SLLM_ERR_TRUNCATED,
                             "tensor %lld ('%.*s'): %llu bytes of data at data offset %llu (data section "
                             "at %llu) run past the end of the file (size %llu)",
                             (long long)i, NAME_PRINT_MAX, tensor->name, (ull)tensor->size_bytes,
                             (ull)tensor->offset, (ull)file->data_offset, (ull)file->file_size);
        tensor->data = file->base + file->data_offset + tensor->offset;
    }
    return SLLM_OK;
}

static int compare_data_offsets(const void *a, const void *b) {
    const gguf_tensor *ta = *(const gguf_tensor *const *)a;
    const gguf_tensor *tb = *(const gguf_tensor *const *)b;
    return (ta->offset > tb->offset) - (ta->offset < tb->offset);
}

static sllm_status check_no_overlap(const gguf_file *file) {
    if (file->n_tensors < 2) return SLLM_OK;
    const gguf_tensor **by_offset = malloc((size_t)file->n_tensors * sizeof *by_offset);
    if (by_offset == NULL) return core_fail(SLLM_ERR_OUT_OF_MEMORY, "out of memory checking tensor overlap");
    for (int64_t i = 0; i < file->n_tensors; i++) by_offset[i] = &file->tensors[i];
    qsort(by_offset, (size_t)file->n_tensors, sizeof *by_offset, compare_data_offsets);
    sllm_status status = SLLM_OK;
    for (int64_t i = 1; i < file->n_tensors; i++) {
        const gguf_tensor *prev = by_offset[i - 1], *next = by_offset[i];
        /* Sizes were checked against the file, so prev->offset + size cannot overflow. */
        if (prev->offset + prev->size_bytes > next->offset) {
            status = core_fail(SLLM_ERR_CORRUPT,
                               "tensor '%.*s' (data [%llu, %llu)) overlaps tensor '%.*s' (data from %llu)",
                               NAME_PRINT_MAX, prev->name, (ull)prev->offset,
                               (ull)(prev->offset + prev->size_bytes), NAME_PRINT_MAX, next->name,
                               (ull)next->offset);
            break;
        }
    }
    free(by_offset);
    return status;
}

static sllm_status set_data_offset(gguf_file *file, uint64_t infos_end) {
    uint64_t padding = (file->alignment - infos_end % file->alignment) % file->alignment;
    if (padding > UINT64_MAX - infos_end)
        return core_fail(SLLM_ERR_CORRUPT, "the data section offset overflows with alignment %llu",
                         (ull)file->alignment);
    file->data_offset = infos_end + padding;
    return SLLM_OK;
}

/* ---- entry points ----------------------------------------------------------------- */

void gguf_close(gguf_file *file) {
    if (file == NULL) return;
    for (int64_t i = 0; i < file->n_kv; i++) {
        free(file->kv[i].key);
        value_free(&file->kv[i].value);
    }
    free(file->kv);
    free(file->kv_by_key);
    for (int64_t i = 0; i < file->n_tensors; i++) free(file->tensors[i].name);
    free(file->tensors);
    free(file->tensors_by_name);
    if (file->owns_mapping && file->file_size > 0) munmap((void *)file->base, (size_t)file->file_size);
    free(file);
}

/* Parses into *file, which is freed by the caller on failure. */
static sllm_status parse_file(gguf_file *file) {
    gguf_cursor cur = { file->base, file->file_size, 0 };
    uint64_t n_tensors, n_kv;
    sllm_status status = read_header(&cur, file, &n_tensors, &n_kv);
    if (status == SLLM_OK) status = read_kvs(&cur, file, n_kv);
    if (status == SLLM_OK) status = read_alignment(file);
    if (status == SLLM_OK) status = read_tensor_infos(&cur, file, n_tensors);
    if (status == SLLM_OK) status = set_data_offset(file, cur.pos);
    if (status == SLLM_OK) status = check_data_in_file(file);
    if (status == SLLM_OK) status = check_no_overlap(file);
    return status;
}

static sllm_status parse_owned(const uint8_t *data, uint64_t size, bool owns_mapping,
                               gguf_file **out) {
    gguf_file *file = calloc(1, sizeof *file);
    if (file == NULL) return core_fail(SLLM_ERR_OUT_OF_MEMORY, "out of memory for a GGUF file handle");
    file->base = data;
    file->file_size = size;
    file->owns_mapping = owns_mapping;
    sllm_status status = parse_file(file);
    if (status != SLLM_OK) goto fail;
    *out = file;
    return SLLM_OK;
fail:
    gguf_close(file);
    return status;
}

sllm_status gguf_parse(const uint8_t *data, uint64_t size, gguf_file **out) {
    if (out == NULL || (data == NULL && size > 0))
        return core_fail(SLLM_ERR_INVALID_ARGUMENT, "gguf_parse: NULL argument");
    return parse_owned(data, size, false, out);
}

static sllm_status fail_errno(sllm_status status, const char *what, const char *path) {
    char buf[128];
    return core_fail(status, "%s '%s': %s", what, path, strerror_r(errno, buf, sizeof buf));
}

sllm_status gguf_open(const char *path, gguf_file **out) {
    if (path == NULL || out == NULL) return core_fail(SLLM_ERR_INVALID_ARGUMENT, "gguf_open: NULL argument");
    void *mapping = NULL;
    uint64_t size = 0;
    sllm_status status = SLLM_OK;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return fail_errno(SLLM_ERR_IO, "cannot open", path);
    struct stat st;
    if (fstat(fd, &st) != 0) {
        status = fail_errno(SLLM_ERR_IO, "cannot stat", path);
        goto fail;
    }
    if (!S_ISREG(st.st_mode)) {
        status = core_fail(SLLM_ERR_IO, "'%s' is not a regular file", path);
        goto fail;
    }
    size = (uint64_t)st.st_size;
    if (size > 0) {
        mapping = mmap(NULL, (size_t)size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (mapping == MAP_FAILED) {
            mapping = NULL;
            status = fail_errno(SLLM_ERR_IO, "cannot mmap", path);
            goto fail;
        }
    }
    close(fd);
    fd = -1;
    /* parse_owned unmaps on failure. */
    return parse_owned(mapping, size, true, out);
fail:
    if (fd >= 0) close(fd);
    return status;
}
