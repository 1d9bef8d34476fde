/* GGUF reader against damaged files: truncations, huge counts, bad fields; exact statuses. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format/gguf.h"
#include "testutil.h"

/* ---- the sample file and an independent map of its fields ------------------------- */

/* Field positions are found by this test's own walk of the bytes (written from the GGUF
 * specification), not by the reader under test. */
typedef enum field_kind {
    FIELD_N_TENSORS, FIELD_N_KV, FIELD_KEY_LENGTH, FIELD_VALUE_TYPE, FIELD_STRING_LENGTH,
    FIELD_ELEM_TYPE, FIELD_ARRAY_COUNT, FIELD_BOOL, FIELD_ALIGNMENT_VALUE, FIELD_NAME_LENGTH,
    FIELD_N_DIMS, FIELD_DIM, FIELD_TENSOR_TYPE, FIELD_TENSOR_OFFSET
} field_kind;

typedef struct field {
    field_kind kind;
    uint64_t offset;
    char owner[32];   /* the key or tensor name the field belongs to */
} field;

enum { MAX_FIELDS = 512 };

typedef struct layout {
    field fields[MAX_FIELDS];
    int n_fields;
    uint64_t infos_end;
} layout;

typedef struct sample {
    uint8_t *bytes;
    uint64_t size;
    layout map;
    uint64_t data_end;   /* end of the last tensor's data (the rest is padding) */
} sample;

static const uint64_t spec_type_size[13] = { 1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8 };

static uint64_t load_u64(const uint8_t *p) {
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static uint32_t load_u32(const uint8_t *p) {
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static void store_u64(uint8_t *p, uint64_t v) { memcpy(p, &v, sizeof v); }
static void store_u32(uint8_t *p, uint32_t v) { memcpy(p, &v, sizeof v); }

static void add_field(layout *map, field_kind kind, uint64_t offset, const char *owner) {
    ck_assert_int_lt(map->n_fields, MAX_FIELDS);
    field *f = &map->fields[map->n_fields++];
    f->kind = kind;
    f->offset = offset;
    snprintf(f->owner, sizeof f->owner, "%s", owner);
}

static void walk_value(layout *map, const uint8_t *d, uint64_t *pos, uint32_t type, const char *owner) {
    if (type == 8) {
        add_field(map, FIELD_STRING_LENGTH, *pos, owner);
        *pos += 8 + load_u64(d + *pos);
    } else if (type == 9) {
        uint32_t elem = load_u32(d + *pos);
        add_field(map, FIELD_ELEM_TYPE, *pos, owner);
        add_field(map, FIELD_ARRAY_COUNT, *pos + 4, owner);
        uint64_t count = load_u64(d + *pos + 4);
        *pos += 12;
        for (uint64_t i = 0; i < count; i++) walk_value(map, d, pos, elem, owner);
    } else {
        if (type == 7) add_field(map, FIELD_BOOL, *pos, owner);
        *pos += spec_type_size[type];
    }
}

static void read_name(const uint8_t *d, uint64_t pos, char *name, size_t cap) {
    uint64_t len = load_u64(d + pos);
    snprintf(name, cap, "%.*s", (int)len, (const char *)d + pos + 8);
}

static void walk_file(layout *map, const uint8_t *d) {
    uint64_t n_tensors = load_u64(d + 8), n_kv = load_u64(d + 16), pos = 24;
    add_field(map, FIELD_N_TENSORS, 8, "");
    add_field(map, FIELD_N_KV, 16, "");
    for (uint64_t i = 0; i < n_kv; i++) {
        char key[32];
        read_name(d, pos, key, sizeof key);
        add_field(map, FIELD_KEY_LENGTH, pos, key);
        pos += 8 + load_u64(d + pos);
        add_field(map, FIELD_VALUE_TYPE, pos, key);
        uint32_t type = load_u32(d + pos);
        pos += 4;
        if (strcmp(key, "general.alignment") == 0) add_field(map, FIELD_ALIGNMENT_VALUE, pos, key);
        walk_value(map, d, &pos, type, key);
    }
    for (uint64_t i = 0; i < n_tensors; i++) {
        char name[32];
        read_name(d, pos, name, sizeof name);
        add_field(map, FIELD_NAME_LENGTH, pos, name);
        pos += 8 + load_u64(d + pos);
        add_field(map, FIELD_N_DIMS, pos, name);
        uint32_t n_dims = load_u32(d + pos);
        pos += 4;
        for (uint32_t k = 0; k < n_dims; k++, pos += 8) add_field(map, FIELD_DIM, pos, name);
        add_field(map, FIELD_TENSOR_TYPE, pos, name);
        add_field(map, FIELD_TENSOR_OFFSET, pos + 4, name);
        pos += 12;
    }
    map->infos_end = pos;
}

/* The n-th field of `kind` belonging to `owner`. */
static uint64_t field_offset(const sample *s, field_kind kind, const char *owner, int nth) {
    for (int i = 0; i < s->map.n_fields; i++) {
        const field *f = &s->map.fields[i];
        if (f->kind == kind && strcmp(f->owner, owner) == 0 && nth-- == 0) return f->offset;
    }
    ck_abort_msg("no field %d of '%s'", (int)kind, owner);
    return 0;
}

static void add_sample_kvs(gguf_writer *w) {
    ck_assert_int_eq(gguf_writer_set_alignment(w, 32), SLLM_OK);
    const gguf_value scalars[] = {
        { .type = GGUF_TYPE_UINT8, .as.u64 = 7 },     { .type = GGUF_TYPE_INT8, .as.i64 = -7 },
        { .type = GGUF_TYPE_UINT16, .as.u64 = 700 },  { .type = GGUF_TYPE_INT16, .as.i64 = -700 },
        { .type = GGUF_TYPE_UINT32, .as.u64 = 70000 }, { .type = GGUF_TYPE_INT32, .as.i64 = -70000 },
        { .type = GGUF_TYPE_FLOAT32, .as.f64 = 0.5 }, { .type = GGUF_TYPE_BOOL, .as.b = true },
        { .type = GGUF_TYPE_STRING, .as.str = { "hello", 5 } },
        { .type = GGUF_TYPE_UINT64, .as.u64 = 1 },    { .type = GGUF_TYPE_INT64, .as.i64 = -1 },
        { .type = GGUF_TYPE_FLOAT64, .as.f64 = 2.5 },
    };
    static const char *const keys[] = { "k.u8", "k.i8", "k.u16", "k.i16", "k.u32", "k.i32",
                                        "k.f32", "k.bool", "k.str", "k.u64", "k.i64", "k.f64" };
    for (int i = 0; i < 12; i++) ck_assert_int_eq(gguf_writer_add(w, keys[i], &scalars[i]), SLLM_OK);
    const uint32_t u32[] = { 1, 2, 3 };
    ck_assert_int_eq(gguf_writer_add_array(w, "a.u32", GGUF_TYPE_UINT32, u32, 3), SLLM_OK);
    const char *const strings[] = { "x", "yz" };
    ck_assert_int_eq(gguf_writer_add_string_array(w, "a.str", strings, 2), SLLM_OK);
    const bool bools[] = { true, false };
    ck_assert_int_eq(gguf_writer_add_array(w, "a.bool", GGUF_TYPE_BOOL, bools, 2), SLLM_OK);
    gguf_string pq[] = { { "p", 1 }, { "q", 1 } };
    const int8_t i8[] = { -1, 1 };
    gguf_value inner[2] = { { .type = GGUF_TYPE_ARRAY }, { .type = GGUF_TYPE_ARRAY } };
    inner[0].as.arr = (gguf_array){ .elem_type = GGUF_TYPE_STRING, .count = 2, .strings = pq };
    inner[1].as.arr = (gguf_array){ .elem_type = GGUF_TYPE_INT8, .count = 2, .raw = (const uint8_t *)i8 };
    gguf_value nested = { .type = GGUF_TYPE_ARRAY };
    nested.as.arr = (gguf_array){ .elem_type = GGUF_TYPE_ARRAY, .count = 2, .items = inner };
    ck_assert_int_eq(gguf_writer_add(w, "a.nested", &nested), SLLM_OK);
}

/* t.a: F32 [8] = 32 bytes at 0; t.b: Q8_0 [32, 2] = 68 bytes at 32; t.c: F16 [4, 3] = 24
 * bytes at 128 (after padding t.b to 32). */
enum { SAMPLE_DATA_BYTES = 128 + 24 };

static void build_sample(sample *s) {
    memset(s, 0, sizeof *s);
    gguf_writer *w = NULL;
    ck_assert_int_eq(gguf_writer_create(&w), SLLM_OK);
    add_sample_kvs(w);
    const int64_t a[] = { 8 }, b[] = { 32, 2 }, c[] = { 4, 3 };
    ck_assert_int_eq(gguf_writer_add_tensor(w, "t.a", GGML_TYPE_F32, 1, a, NULL), SLLM_OK);
    ck_assert_int_eq(gguf_writer_add_tensor(w, "t.b", GGML_TYPE_Q8_0, 2, b, NULL), SLLM_OK);
    ck_assert_int_eq(gguf_writer_add_tensor(w, "t.c", GGML_TYPE_F16, 2, c, NULL), SLLM_OK);
    ck_assert_int_eq(gguf_writer_to_buffer(w, &s->bytes, &s->size), SLLM_OK);
    gguf_writer_free(w);
    walk_file(&s->map, s->bytes);
    uint64_t data_offset = (s->map.infos_end + 31) / 32 * 32;
    s->data_end = data_offset + SAMPLE_DATA_BYTES;
    ck_assert_uint_eq(load_u64(s->bytes + field_offset(s, FIELD_TENSOR_OFFSET, "t.c", 0)), 128);
    ck_assert_uint_eq(s->size, data_offset + 160);
}

/* ---- parsing damaged copies --------------------------------------------------------- */

/* Parses `size` bytes from an exactly-sized heap copy (so ASan sees any over-read) and
 * checks the status; a failure must come with a message. */
static void expect_status(const uint8_t *bytes, uint64_t size, sllm_status expected, const char *what) {
    uint8_t *copy = size > 0 ? malloc((size_t)size) : NULL;
    if (size > 0) memcpy(copy, bytes, (size_t)size);
    core_error_clear();
    gguf_file *file = NULL;
    sllm_status status = gguf_parse(copy, size, &file);
    ck_assert_msg(status == expected, "%s: expected %s, got %s (%s)", what, sllm_status_string(expected),
                  sllm_status_string(status), sllm_last_error());
    if (status == SLLM_OK) {
        gguf_close(file);
    } else {
        ck_assert_ptr_null(file);
        ck_assert_msg(sllm_last_error()[0] != '\0', "%s: empty message", what);
    }
    free(copy);
}

/* A copy of the sample with `width` bytes at `offset` replaced by `value`. */
static void expect_patched(const sample *s, uint64_t offset, const void *value, size_t width,
                           sllm_status expected, const char *label) {
    uint8_t *bytes = malloc((size_t)s->size);
    memcpy(bytes, s->bytes, (size_t)s->size);
    memcpy(bytes + offset, value, width);
    expect_status(bytes, s->size, expected, label);
    free(bytes);
}

static void expect_u64(const sample *s, uint64_t offset, uint64_t value, sllm_status expected, const char *what) {
    char label[160];
    snprintf(label, sizeof label, "%s = %llu (offset %llu)", what, (unsigned long long)value,
             (unsigned long long)offset);
    expect_patched(s, offset, &value, sizeof value, expected, label);
}

static void expect_u32(const sample *s, uint64_t offset, uint32_t value, sllm_status expected, const char *what) {
    char label[160];
    snprintf(label, sizeof label, "%s = %u (offset %llu)", what, (unsigned)value, (unsigned long long)offset);
    expect_patched(s, offset, &value, sizeof value, expected, label);
}

static void expect_byte(const sample *s, uint64_t offset, uint8_t value, sllm_status expected, const char *what) {
    expect_patched(s, offset, &value, 1, expected, what);
}

START_TEST(test_sample_file_is_valid) {
    sample s;
    build_sample(&s);
    expect_status(s.bytes, s.size, SLLM_OK, "unmodified sample");
    /* Version 2 has the same layout and is accepted. */
    expect_u32(&s, 4, 2, SLLM_OK, "version");
    free(s.bytes);
}
END_TEST

START_TEST(test_truncation_at_every_offset_is_rejected) {
    sample s;
    build_sample(&s);
    ck_assert_uint_gt(s.data_end, s.map.infos_end);
    for (uint64_t size = 0; size < s.data_end; size++) {
        char label[64];
        snprintf(label, sizeof label, "truncated to %llu bytes", (unsigned long long)size);
        expect_status(s.bytes, size, size < 4 ? SLLM_ERR_BAD_MAGIC : SLLM_ERR_TRUNCATED, label);
    }
    /* The padding after the last tensor is not needed. */
    expect_status(s.bytes, s.data_end, SLLM_OK, "truncated after the last tensor");
    free(s.bytes);
}
END_TEST

START_TEST(test_truncation_message_names_field_and_offset) {
    sample s;
    build_sample(&s);
    uint64_t at = field_offset(&s, FIELD_STRING_LENGTH, "a.str", 1);
    expect_status(s.bytes, at + 9, SLLM_ERR_TRUNCATED, "inside a.str[1]");
    char expected[160];
    snprintf(expected, sizeof expected, "string length 2 at offset %llu runs past the end of the file (size %llu)",
             (unsigned long long)at, (unsigned long long)(at + 9));
    ck_assert_msg(strstr(sllm_last_error(), expected) != NULL, "%s", sllm_last_error());
    ck_assert_msg(strstr(sllm_last_error(), "('a.str')") != NULL, "%s", sllm_last_error());
    ck_assert_msg(strstr(sllm_last_error(), "array element 1") != NULL, "%s", sllm_last_error());
    free(s.bytes);
}
END_TEST

static const uint64_t huge_values[] = { (uint64_t)1 << 32, (uint64_t)1 << 63, UINT64_MAX };

/* Every u64 length or count set to a huge value: the reader must notice the count
 * cannot fit in the file before it allocates for it. */
START_TEST(test_huge_lengths_and_counts_are_truncated) {
    sample s;
    build_sample(&s);
    int checked = 0;
    for (int i = 0; i < s.map.n_fields; i++) {
        const field *f = &s.map.fields[i];
        bool is_length = f->kind == FIELD_N_TENSORS || f->kind == FIELD_N_KV || f->kind == FIELD_KEY_LENGTH ||
                         f->kind == FIELD_STRING_LENGTH || f->kind == FIELD_ARRAY_COUNT ||
                         f->kind == FIELD_NAME_LENGTH;
        if (!is_length) continue;
        for (int h = 0; h < 3; h++) expect_u64(&s, f->offset, huge_values[h], SLLM_ERR_TRUNCATED, f->owner);
        checked++;
    }
    /* n_tensors and n_kv, 17 keys, 5 strings (k.str, a.str's 2, a.nested's 2), 6 array
     * counts (a.u32, a.str, a.bool, a.nested and its 2 arrays), 3 tensor names. */
    ck_assert_int_eq(checked, 2 + 17 + 5 + 6 + 3);
    free(s.bytes);
}
END_TEST

START_TEST(test_huge_dims_are_rejected) {
    sample s;
    build_sample(&s);
    int checked = 0;
    for (int i = 0; i < s.map.n_fields; i++) {
        const field *f = &s.map.fields[i];
        if (f->kind != FIELD_DIM) continue;
        /* 2^32 elements is a valid shape whose data is not in the file; 2^63 and more are
         * not representable as int64 dimensions. */
        expect_u64(&s, f->offset, huge_values[0], SLLM_ERR_TRUNCATED, f->owner);
        expect_u64(&s, f->offset, huge_values[1], SLLM_ERR_CORRUPT, f->owner);
        expect_u64(&s, f->offset, huge_values[2], SLLM_ERR_CORRUPT, f->owner);
        expect_u64(&s, f->offset, 0, SLLM_ERR_CORRUPT, f->owner);
        checked++;
    }
    ck_assert_int_eq(checked, 5);
    free(s.bytes);
}
END_TEST

START_TEST(test_dims_whose_product_overflows_are_corrupt) {
    sample s;
    build_sample(&s);
    uint8_t *bytes = malloc((size_t)s.size);
    memcpy(bytes, s.bytes, (size_t)s.size);
    store_u64(bytes + field_offset(&s, FIELD_DIM, "t.b", 0), (uint64_t)1 << 32);
    store_u64(bytes + field_offset(&s, FIELD_DIM, "t.b", 1), (uint64_t)1 << 32);
    expect_status(bytes, s.size, SLLM_ERR_CORRUPT, "t.b dims 2^32 x 2^32");
    ck_assert_msg(strstr(sllm_last_error(), "overflows") != NULL, "%s", sllm_last_error());
    free(bytes);
    /* t.a is F32: 2^61 elements are 2^63 bytes (representable, not in the file); 2^62
     * elements are 2^64 bytes, which overflows. */
    uint64_t at = field_offset(&s, FIELD_DIM, "t.a", 0);
    expect_u64(&s, at, (uint64_t)1 << 61, SLLM_ERR_TRUNCATED, "t.a 2^61 F32 elements");
    expect_u64(&s, at, (uint64_t)1 << 62, SLLM_ERR_CORRUPT, "t.a 2^62 F32 elements");
    ck_assert_msg(strstr(sllm_last_error(), "overflows") != NULL, "%s", sllm_last_error());
    free(s.bytes);
}
END_TEST

START_TEST(test_bad_n_dims_is_corrupt) {
    sample s;
    build_sample(&s);
    const uint32_t bad[] = { 0, 5, 0xFFFFFFFFu };
    for (int i = 0; i < 3; i++) {
        expect_u32(&s, field_offset(&s, FIELD_N_DIMS, "t.a", 0), bad[i], SLLM_ERR_CORRUPT, "t.a n_dims");
        expect_u32(&s, field_offset(&s, FIELD_N_DIMS, "t.c", 0), bad[i], SLLM_ERR_CORRUPT, "t.c n_dims");
    }
    free(s.bytes);
}
END_TEST

START_TEST(test_bad_magic_and_versions_are_rejected) {
    sample s;
    build_sample(&s);
    expect_byte(&s, 0, 'g', SLLM_ERR_BAD_MAGIC, "magic 'gGUF'");
    expect_u32(&s, 0, 0x46554747u ^ 0xFF000000u, SLLM_ERR_BAD_MAGIC, "magic");
    const uint32_t versions[] = { 0, 1, 4, 0x03000000u, 0xFFFFFFFFu };
    for (int i = 0; i < 5; i++) expect_u32(&s, 4, versions[i], SLLM_ERR_UNSUPPORTED_VERSION, "version");
    expect_status((const uint8_t *)"GGU", 3, SLLM_ERR_BAD_MAGIC, "3 bytes");
    free(s.bytes);
}
END_TEST

START_TEST(test_unknown_value_and_element_types_are_corrupt) {
    sample s;
    build_sample(&s);
    for (int i = 0; i < s.map.n_fields; i++) {
        const field *f = &s.map.fields[i];
        if (f->kind != FIELD_VALUE_TYPE && f->kind != FIELD_ELEM_TYPE) continue;
        expect_u32(&s, f->offset, GGUF_TYPE_COUNT, SLLM_ERR_CORRUPT, f->owner);
        expect_u32(&s, f->offset, 0xFFFFFFFFu, SLLM_ERR_CORRUPT, f->owner);
    }
    free(s.bytes);
}
END_TEST

START_TEST(test_unknown_tensor_type_is_corrupt) {
    sample s;
    build_sample(&s);
    const uint32_t unknown[] = { 4, 5, 31, 32, 33, 36, 40, 1000, 0xFFFFFFFFu };
    for (int i = 0; i < 9; i++) {
        expect_u32(&s, field_offset(&s, FIELD_TENSOR_TYPE, "t.b", 0), unknown[i], SLLM_ERR_CORRUPT, "t.b type");
        char id[32];
        snprintf(id, sizeof id, "unknown ggml type id %u", (unsigned)unknown[i]);
        ck_assert_msg(strstr(sllm_last_error(), id) != NULL, "%s", sllm_last_error());
        ck_assert_msg(strstr(sllm_last_error(), "'t.b'") != NULL, "%s", sllm_last_error());
    }
    free(s.bytes);
}
END_TEST

START_TEST(test_row_not_a_multiple_of_the_block_is_corrupt) {
    sample s;
    build_sample(&s);
    expect_u64(&s, field_offset(&s, FIELD_DIM, "t.b", 0), 33, SLLM_ERR_CORRUPT, "Q8_0 row of 33");
    expect_u64(&s, field_offset(&s, FIELD_DIM, "t.b", 0), 16, SLLM_ERR_CORRUPT, "Q8_0 row of 16");
    /* Known but uncomputable types are accepted by the reader: t.b as IQ4_NL (32 per block,
     * 18 bytes) still fits its slot. */
    expect_u32(&s, field_offset(&s, FIELD_TENSOR_TYPE, "t.b", 0), GGML_TYPE_IQ4_NL, SLLM_OK, "IQ4_NL");
    free(s.bytes);
}
END_TEST

START_TEST(test_misaligned_tensor_offset_is_corrupt) {
    sample s;
    build_sample(&s);
    uint64_t at = field_offset(&s, FIELD_TENSOR_OFFSET, "t.b", 0);
    expect_u64(&s, at, 33, SLLM_ERR_CORRUPT, "t.b offset 33");
    expect_u64(&s, at, 48, SLLM_ERR_CORRUPT, "t.b offset 48");
    ck_assert_msg(strstr(sllm_last_error(), "alignment 32") != NULL, "%s", sllm_last_error());
    free(s.bytes);
}
END_TEST

START_TEST(test_overlapping_tensors_are_corrupt) {
    sample s;
    build_sample(&s);
    expect_u64(&s, field_offset(&s, FIELD_TENSOR_OFFSET, "t.b", 0), 0, SLLM_ERR_CORRUPT, "t.b on t.a");
    ck_assert_msg(strstr(sllm_last_error(), "overlaps") != NULL, "%s", sllm_last_error());
    /* t.b covers [32, 100): t.c at 96 overlaps its tail. */
    expect_u64(&s, field_offset(&s, FIELD_TENSOR_OFFSET, "t.c", 0), 96, SLLM_ERR_CORRUPT, "t.c at 96");
    expect_u64(&s, field_offset(&s, FIELD_TENSOR_OFFSET, "t.a", 0), 128, SLLM_ERR_CORRUPT, "t.a on t.c");
    /* t.a at 96 would end where t.c starts, but overlaps t.b's tail. */
    expect_u64(&s, field_offset(&s, FIELD_TENSOR_OFFSET, "t.a", 0), 96, SLLM_ERR_CORRUPT, "t.a at 96");
    free(s.bytes);
}
END_TEST

START_TEST(test_tensor_data_past_the_end_is_truncated) {
    sample s;
    build_sample(&s);
    uint64_t at = field_offset(&s, FIELD_TENSOR_OFFSET, "t.c", 0);
    expect_u64(&s, at, 160, SLLM_ERR_TRUNCATED, "t.c at 160");
    ck_assert_msg(strstr(sllm_last_error(), "'t.c'") != NULL, "%s", sllm_last_error());
    expect_u64(&s, at, (uint64_t)1 << 20, SLLM_ERR_TRUNCATED, "t.c at 2^20");
    expect_u64(&s, at, UINT64_MAX - 31, SLLM_ERR_TRUNCATED, "t.c at 2^64 - 32");
    free(s.bytes);
}
END_TEST

START_TEST(test_bad_alignment_value_is_corrupt) {
    sample s;
    build_sample(&s);
    uint64_t at = field_offset(&s, FIELD_ALIGNMENT_VALUE, "general.alignment", 0);
    const uint32_t bad[] = { 0, 3, 48, 0xFFFFFFFFu };
    for (int i = 0; i < 4; i++) expect_u32(&s, at, bad[i], SLLM_ERR_CORRUPT, "general.alignment");
    /* A valid alignment the tensor offsets do not honour. */
    expect_u32(&s, at, 64, SLLM_ERR_CORRUPT, "general.alignment 64");
    free(s.bytes);
}
END_TEST

START_TEST(test_alignment_of_another_type_is_corrupt) {
    gguf_writer *w = NULL;
    ck_assert_int_eq(gguf_writer_create(&w), SLLM_OK);
    ck_assert_int_eq(gguf_writer_add_string(w, "general.alignment", "32"), SLLM_OK);
    uint8_t *bytes = NULL;
    uint64_t size = 0;
    ck_assert_int_eq(gguf_writer_to_buffer(w, &bytes, &size), SLLM_OK);
    gguf_writer_free(w);
    expect_status(bytes, size, SLLM_ERR_CORRUPT, "string alignment");
    free(bytes);
}
END_TEST

START_TEST(test_duplicate_keys_and_tensor_names_are_corrupt) {
    sample s;
    build_sample(&s);
    /* "k.u8" -> "k.i8" */
    expect_byte(&s, field_offset(&s, FIELD_KEY_LENGTH, "k.u8", 0) + 8 + 2, 'i', SLLM_ERR_CORRUPT, "dup key");
    ck_assert_msg(strstr(sllm_last_error(), "'k.i8'") != NULL, "%s", sllm_last_error());
    /* "t.c" -> "t.a" */
    expect_byte(&s, field_offset(&s, FIELD_NAME_LENGTH, "t.c", 0) + 8 + 2, 'a', SLLM_ERR_CORRUPT, "dup name");
    ck_assert_msg(strstr(sllm_last_error(), "'t.a'") != NULL, "%s", sllm_last_error());
    free(s.bytes);
}
END_TEST

START_TEST(test_nul_in_key_or_name_is_corrupt) {
    sample s;
    build_sample(&s);
    expect_byte(&s, field_offset(&s, FIELD_KEY_LENGTH, "k.str", 0) + 8 + 1, 0, SLLM_ERR_CORRUPT, "NUL in key");
    expect_byte(&s, field_offset(&s, FIELD_NAME_LENGTH, "t.b", 0) + 8 + 2, 0, SLLM_ERR_CORRUPT, "NUL in name");
    /* NUL inside a string value is data, not damage. */
    expect_byte(&s, field_offset(&s, FIELD_STRING_LENGTH, "k.str", 0) + 8 + 1, 0, SLLM_OK, "NUL in value");
    free(s.bytes);
}
END_TEST

START_TEST(test_bool_other_than_0_or_1_is_corrupt) {
    sample s;
    build_sample(&s);
    expect_byte(&s, field_offset(&s, FIELD_BOOL, "k.bool", 0), 2, SLLM_ERR_CORRUPT, "k.bool = 2");
    expect_byte(&s, field_offset(&s, FIELD_BOOL, "a.bool", 1), 0xFF, SLLM_ERR_CORRUPT, "a.bool[1] = 255");
    free(s.bytes);
}
END_TEST

/* A file of one kv holding `depth` arrays nested in each other, built byte by byte. */
static uint8_t *nested_file(int depth, uint64_t *size) {
    *size = 24 + 8 + 1 + 4 + (uint64_t)depth * 12;
    uint8_t *d = calloc(1, (size_t)*size);
    memcpy(d, "GGUF", 4);
    store_u32(d + 4, 3);
    store_u64(d + 16, 1);
    store_u64(d + 24, 1);
    d[32] = 'n';
    store_u32(d + 33, GGUF_TYPE_ARRAY);
    uint8_t *p = d + 37;
    for (int level = 0; level < depth; level++, p += 12) {
        bool innermost = level == depth - 1;
        store_u32(p, innermost ? GGUF_TYPE_INT32 : GGUF_TYPE_ARRAY);
        store_u64(p + 4, innermost ? 0 : 1);
    }
    return d;
}

START_TEST(test_nesting_deeper_than_the_limit_is_corrupt) {
    uint64_t size;
    uint8_t *ok = nested_file(GGUF_MAX_ARRAY_DEPTH, &size);
    expect_status(ok, size, SLLM_OK, "nested to the limit");
    free(ok);
    uint8_t *deep = nested_file(GGUF_MAX_ARRAY_DEPTH + 1, &size);
    expect_status(deep, size, SLLM_ERR_CORRUPT, "nested past the limit");
    ck_assert_msg(strstr(sllm_last_error(), "nested deeper") != NULL, "%s", sllm_last_error());
    free(deep);
}
END_TEST

static Suite *mutation_suite(void) {
    Suite *suite = suite_create("gguf_mutation");
    TCase *tc = tcase_create("mutations");
    tcase_add_test(tc, test_sample_file_is_valid);
    tcase_add_test(tc, test_truncation_at_every_offset_is_rejected);
    tcase_add_test(tc, test_truncation_message_names_field_and_offset);
    tcase_add_test(tc, test_huge_lengths_and_counts_are_truncated);
    tcase_add_test(tc, test_huge_dims_are_rejected);
    tcase_add_test(tc, test_dims_whose_product_overflows_are_corrupt);
    tcase_add_test(tc, test_bad_n_dims_is_corrupt);
    tcase_add_test(tc, test_bad_magic_and_versions_are_rejected);
    tcase_add_test(tc, test_unknown_value_and_element_types_are_corrupt);
    tcase_add_test(tc, test_unknown_tensor_type_is_corrupt);
    tcase_add_test(tc, test_row_not_a_multiple_of_the_block_is_corrupt);
    tcase_add_test(tc, test_misaligned_tensor_offset_is_corrupt);
    tcase_add_test(tc, test_overlapping_tensors_are_corrupt);
    tcase_add_test(tc, test_tensor_data_past_the_end_is_truncated);
    tcase_add_test(tc, test_bad_alignment_value_is_corrupt);
    tcase_add_test(tc, test_alignment_of_another_type_is_corrupt);
    tcase_add_test(tc, test_duplicate_keys_and_tensor_names_are_corrupt);
    tcase_add_test(tc, test_nul_in_key_or_name_is_corrupt);
    tcase_add_test(tc, test_bool_other_than_0_or_1_is_corrupt);
    tcase_add_test(tc, test_nesting_deeper_than_the_limit_is_corrupt);
    suite_add_tcase(suite, tc);
    return suite;
}

int main(void) { return testutil_run_suite(mutation_suite()) == 0 ? 0 : 1; }
