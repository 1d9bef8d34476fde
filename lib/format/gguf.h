/* GGUF v2/v3 reader (mmap'd, bounds-checked) and writer (for tests and tools). */
#ifndef SLLM_FORMAT_GGUF_H
#define SLLM_FORMAT_GGUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "format/ggml_types.h"

enum {
    GGUF_DEFAULT_ALIGNMENT = 32,
    GGUF_MAX_DIMS = 4,
    GGUF_MAX_ARRAY_DEPTH = 8   /* arrays nested deeper than this are rejected as corrupt */
};

typedef enum gguf_type {
    GGUF_TYPE_UINT8 = 0, GGUF_TYPE_INT8 = 1, GGUF_TYPE_UINT16 = 2, GGUF_TYPE_INT16 = 3,
    GGUF_TYPE_UINT32 = 4, GGUF_TYPE_INT32 = 5, GGUF_TYPE_FLOAT32 = 6, GGUF_TYPE_BOOL = 7,
    GGUF_TYPE_STRING = 8, GGUF_TYPE_ARRAY = 9, GGUF_TYPE_UINT64 = 10, GGUF_TYPE_INT64 = 11,
    GGUF_TYPE_FLOAT64 = 12,
    GGUF_TYPE_COUNT = 13
} gguf_type;

/* A string inside the file: not NUL-terminated, may contain NUL bytes. */
typedef struct gguf_string {
    const char *data;
    uint64_t len;
} gguf_string;

typedef struct gguf_value gguf_value;

/* An array value. Fixed-size elements stay in the file (`raw`, little-endian, possibly
 * unaligned: read them with gguf_array_get_*). Strings are indexed in `strings`;
 * nested arrays are parsed into `items`. */
typedef struct gguf_array {
    gguf_type elem_type;
    uint64_t count;
    const uint8_t *raw;      /* elem_type is a fixed-size type */
    gguf_string *strings;    /* elem_type == STRING: count entries */
    gguf_value *items;       /* elem_type == ARRAY: count entries */
} gguf_array;

struct gguf_value {
    gguf_type type;
    union {
        uint64_t u64;        /* UINT8/16/32/64 */
        int64_t i64;         /* INT8/16/32/64 */
        double f64;          /* FLOAT32/64 */
        bool b;
        gguf_string str;
        gguf_array arr;
    } as;
};

typedef struct gguf_kv {
    char *key;               /* NUL-terminated copy (keys never contain NUL; checked) */
    gguf_value value;
} gguf_kv;

typedef struct gguf_tensor {
    char *name;              /* NUL-terminated copy */
    uint32_t n_dims;
    int64_t dims[4];         /* dims[0] is the contiguous one; unused dims are 1 */
    uint32_t type;           /* ggml type id */
    uint64_t offset;         /* relative to the start of the data section */
    uint64_t size_bytes;
    const uint8_t *data;     /* into the mapping */
} gguf_tensor;

/* A name and the index of its kv or tensor; sorted by name for binary search. */
typedef struct gguf_name_index {
    const char *name;
    int64_t index;
} gguf_name_index;

typedef struct gguf_file {
    uint32_t version;
    uint64_t alignment;
    int64_t n_kv;
    gguf_kv *kv;
    int64_t n_tensors;
    gguf_tensor *tensors;
    uint64_t data_offset;    /* start of the tensor data section in the file (the aligned end
                              * of the tensor infos; may lie past file_size when there are
                              * no tensors) */
    const uint8_t *base;     /* the whole file, mapped (or the caller's buffer) */
    uint64_t file_size;
    bool owns_mapping;
    gguf_name_index *kv_by_key;        /* n_kv entries sorted by key */
    gguf_name_index *tensors_by_name;  /* n_tensors entries sorted by name */
} gguf_file;

/* Opens and fully validates a GGUF file; tensor data stays mmap'd. On failure returns
 * a specific status with a message (core_fail) and *out is untouched. */
sllm_status gguf_open(const char *path, gguf_file **out);

/* Parses a GGUF image already in memory (fuzzing, tests). The buffer must outlive
 * the result and is not copied. */
sllm_status gguf_parse(const uint8_t *data, uint64_t size, gguf_file **out);

void gguf_close(gguf_file *file);

/* Lookups; NULL / -1 when absent. */
const gguf_kv *gguf_find_kv(const gguf_file *file, const char *key);
const gguf_tensor *gguf_find_tensor(const gguf_file *file, const char *name);
int64_t gguf_find_tensor_index(const gguf_file *file, const char *name);

/* Typed getters; NOT_FOUND when the key is absent, TYPE_MISMATCH otherwise. */
sllm_status gguf_get_int(const gguf_file *file, const char *key, int64_t *value);
sllm_status gguf_get_float(const gguf_file *file, const char *key, double *value);
sllm_status gguf_get_bool(const gguf_file *file, const char *key, bool *value);
sllm_status gguf_get_string(const gguf_file *file, const char *key, gguf_string *value);
sllm_status gguf_get_array(const gguf_file *file, const char *key, const gguf_array **value);

/* Array element access with conversion (integer types and bool as int64; float and
 * integer types as double). Caller guarantees index < count. */
int64_t gguf_array_get_int(const gguf_array *array, uint64_t index);
double gguf_array_get_float(const gguf_array *array, uint64_t index);

/* Size in bytes of one element of a fixed-size type; 0 for STRING/ARRAY/unknown. */
size_t gguf_type_size(gguf_type type);
const char *gguf_type_name(gguf_type type);

/* ---- Writer ------------------------------------------------------------------
 * Builds a GGUF v3 file in memory: add metadata and tensors, then write. Values
 * and tensor data are copied into the writer. Output is readable by gguf_open and by
 * llama.cpp's gguf tools. */
typedef struct gguf_writer gguf_writer;

sllm_status gguf_writer_create(gguf_writer **out);
void gguf_writer_free(gguf_writer *writer);
/* Sets general.alignment (a power of two; default 32) and writes the key. */
sllm_status gguf_writer_set_alignment(gguf_writer *writer, uint32_t alignment);
/* Adds a key with a deep copy of `value` (any type, arrays of strings and nested
 * arrays included; string data is copied). */
sllm_status gguf_writer_add(gguf_writer *writer, const char *key, const gguf_value *value);
sllm_status gguf_writer_add_u32(gguf_writer *writer, const char *key, uint32_t value);
sllm_status gguf_writer_add_i32(gguf_writer *writer, const char *key, int32_t value);
sllm_status gguf_writer_add_f32(gguf_writer *writer, const char *key, float value);
sllm_status gguf_writer_add_bool(gguf_writer *writer, const char *key, bool value);
sllm_status gguf_writer_add_string(gguf_writer *writer, const char *key, const char *value);
/* Array of fixed-size elements, `count` elements of `elem_type` in native layout. */
sllm_status gguf_writer_add_array(gguf_writer *writer, const char *key, gguf_type elem_type,
                                  const void *elems, uint64_t count);
sllm_status gguf_writer_add_string_array(gguf_writer *writer, const char *key,
                                         const char *const *strings, uint64_t count);
/* Adds a tensor: dims[0] is the contiguous one; data holds ggml_row_size bytes per row
 * in the tensor's type, copied (NULL: the tensor is zero-filled). */
sllm_status gguf_writer_add_tensor(gguf_writer *writer, const char *name, uint32_t type,
                                   uint32_t n_dims, const int64_t *dims, const void *data);
/* Serializes to a malloc'd buffer (caller frees) or to a file. */
sllm_status gguf_writer_to_buffer(const gguf_writer *writer, uint8_t **data, uint64_t *size);
sllm_status gguf_writer_to_file(const gguf_writer *writer, const char *path);

#endif
