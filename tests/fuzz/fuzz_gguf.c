/* libFuzzer target for the GGUF reader: parse, then touch every kv, array element and tensor.
 *
 * Built with FUZZ_GGUF_WRITE_SEEDS defined (and without -fsanitize=fuzzer), it is instead a
 * program that writes the seed corpus with the GGUF writer:
 *   cc -std=c11 -D_GNU_SOURCE -DFUZZ_GGUF_WRITE_SEEDS -Iinclude -Ilib tests/fuzz/fuzz_gguf.c \
 *      build/lib/libstatelessllm.a -ljansson -lsodium -lpthread -lm -o /tmp/gguf_seeds
 *   /tmp/gguf_seeds tests/fuzz/corpus/fuzz_gguf */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "format/gguf.h"

/* Everything read is folded into this value so no read can be optimized away. */
static uint64_t fold(uint64_t acc, uint64_t value) { return acc * 31 + value; }

static uint64_t float_bits(double value) {
    uint64_t bits;
    memcpy(&bits, &value, sizeof bits);
    return bits;
}

static uint64_t touch_string(uint64_t acc, gguf_string str) {
    if (str.len == 0) return fold(acc, 0);
    return fold(fold(acc, (uint8_t)str.data[0]), (uint8_t)str.data[str.len - 1]);
}

static uint64_t touch_value(uint64_t acc, const gguf_value *value);

static uint64_t touch_array(uint64_t acc, const gguf_array *array) {
    acc = fold(acc, array->count);
    for (uint64_t i = 0; i < array->count; i++) {
        if (array->elem_type == GGUF_TYPE_STRING) acc = touch_string(acc, array->strings[i]);
        else if (array->elem_type == GGUF_TYPE_ARRAY) acc = touch_value(acc, &array->items[i]);
        else acc = fold(acc, (uint64_t)gguf_array_get_int(array, i) ^ float_bits(gguf_array_get_float(array, i)));
    }
    return acc;
}

static uint64_t touch_value(uint64_t acc, const gguf_value *value) {
    if (value->type == GGUF_TYPE_STRING) return touch_string(acc, value->as.str);
    if (value->type == GGUF_TYPE_ARRAY) return touch_array(acc, &value->as.arr);
    return fold(acc, value->as.u64);
}

static uint64_t touch_file(const gguf_file *file) {
    uint64_t acc = file->version;
    for (int64_t i = 0; i < file->n_kv; i++) {
        const gguf_kv *kv = &file->kv[i];
        if (gguf_find_kv(file, kv->key) != kv) __builtin_trap();
        int64_t as_int;
        double as_float;
        if (gguf_get_int(file, kv->key, &as_int) == SLLM_OK) acc = fold(acc, (uint64_t)as_int);
        if (gguf_get_float(file, kv->key, &as_float) == SLLM_OK) acc = fold(acc, float_bits(as_float));
        acc = touch_value(fold(acc, strlen(kv->key)), &kv->value);
    }
    for (int64_t i = 0; i < file->n_tensors; i++) {
        const gguf_tensor *tensor = &file->tensors[i];
        if (gguf_find_tensor_index(file, tensor->name) != i) __builtin_trap();
        if (tensor->size_bytes == 0 || tensor->n_dims < 1 || tensor->n_dims > GGUF_MAX_DIMS) __builtin_trap();
        acc = fold(acc, tensor->data[0]);
        acc = fold(acc, tensor->data[tensor->size_bytes - 1]);
    }
    return acc;
}

#ifndef FUZZ_GGUF_WRITE_SEEDS

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    gguf_file *file = NULL;
    if (gguf_parse(data, size, &file) != SLLM_OK) return 0;
    volatile uint64_t sink = touch_file(file);
    (void)sink;
    gguf_close(file);
    return 0;
}

#else

#include <stdio.h>

static void add_kvs(gguf_writer *writer, bool nested) {
    gguf_writer_add_string(writer, "general.architecture", "llama");
    gguf_writer_add_u32(writer, "llama.block_count", 2);
    gguf_writer_add_i32(writer, "i32", -3);
    gguf_writer_add_f32(writer, "llama.attention.layer_norm_rms_epsilon", 1e-5f);
    gguf_writer_add_bool(writer, "tokenizer.ggml.add_bos_token", true);
    gguf_value u64 = { .type = GGUF_TYPE_UINT64, .as.u64 = 1 };
    gguf_writer_add(writer, "u64", &u64);
    const char *const tokens[] = { "<unk>", "<s>", "</s>", "a", "b" };
    gguf_writer_add_string_array(writer, "tokenizer.ggml.tokens", tokens, 5);
    const float scores[] = { 0, 0, 0, -1, -2 };
    gguf_writer_add_array(writer, "tokenizer.ggml.scores", GGUF_TYPE_FLOAT32, scores, 5);
    const bool flags[] = { true, false };
    gguf_writer_add_array(writer, "flags", GGUF_TYPE_BOOL, flags, 2);
    if (!nested) return;
    const int16_t pair[] = { 1, -1 };
    gguf_value inner[2] = { { .type = GGUF_TYPE_ARRAY }, { .type = GGUF_TYPE_ARRAY } };
    inner[0].as.arr = (gguf_array){ .elem_type = GGUF_TYPE_INT16, .count = 2, .raw = (const uint8_t *)pair };
    inner[1].as.arr = (gguf_array){ .elem_type = GGUF_TYPE_ARRAY, .count = 0 };
    gguf_value outer = { .type = GGUF_TYPE_ARRAY };
    outer.as.arr = (gguf_array){ .elem_type = GGUF_TYPE_ARRAY, .count = 2, .items = inner };
    gguf_writer_add(writer, "nested", &outer);
}

static void add_tensors(gguf_writer *writer) {
    const int64_t vec[] = { 4 }, mat[] = { 32, 2 }, cube[] = { 2, 1, 3 };
    gguf_writer_add_tensor(writer, "output_norm.weight", GGML_TYPE_F32, 1, vec, NULL);
    gguf_writer_add_tensor(writer, "blk.0.attn_q.weight", GGML_TYPE_Q8_0, 2, mat, NULL);
    gguf_writer_add_tensor(writer, "token_embd.weight", GGML_TYPE_F16, 3, cube, NULL);
}

static int write_seed(const char *dir, const char *name, uint32_t alignment, bool nested, bool tensors) {
    gguf_writer *writer = NULL;
    if (gguf_writer_create(&writer) != SLLM_OK) return 1;
    if (alignment != GGUF_DEFAULT_ALIGNMENT) gguf_writer_set_alignment(writer, alignment);
    add_kvs(writer, nested);
    if (tensors) add_tensors(writer);
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    sllm_status status = gguf_writer_to_file(writer, path);
    gguf_writer_free(writer);
    /* Each seed must be valid, so the fuzzer starts from files that reach every stage. */
    gguf_file *file = NULL;
    if (status == SLLM_OK) status = gguf_open(path, &file);
    if (status == SLLM_OK) printf("%s: %llu\n", path, (unsigned long long)touch_file(file));
    gguf_close(file);
    if (status != SLLM_OK) fprintf(stderr, "%s: %s\n", path, sllm_last_error());
    return status != SLLM_OK;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
        return 2;
    }
    int failures = write_seed(argv[1], "kvs_and_tensors.gguf", 32, false, true);
    failures += write_seed(argv[1], "nested_arrays.gguf", 32, true, false);
    failures += write_seed(argv[1], "alignment_8.gguf", 8, true, true);
    failures += write_seed(argv[1], "kvs_only.gguf", 32, false, false);
    return failures != 0;
}

#endif
