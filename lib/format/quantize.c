/* GGUF -> GGUF re-quantization following llama.cpp's per-tensor type rules. */
#include "format/quantize.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/cpu/cpu_quant.h"
#include "core/threadpool.h"
#include "format/gguf.h"

typedef struct plan_entry {
    const char *name;
    uint32_t base_type;
    int mix;
    uint32_t file_type;
} plan_entry;

/* file_type numbers are llama.cpp's enum llama_ftype. */
static const plan_entry plans[] = {
    {"F32", GGML_TYPE_F32, 0, 0},     {"F16", GGML_TYPE_F16, 0, 1},
    {"BF16", GGML_TYPE_BF16, 0, 32},  {"Q8_0", GGML_TYPE_Q8_0, 0, 7},
    {"Q4_0", GGML_TYPE_Q4_0, 0, 2},   {"Q4_1", GGML_TYPE_Q4_1, 0, 3},
    {"Q5_0", GGML_TYPE_Q5_0, 0, 8},   {"Q5_1", GGML_TYPE_Q5_1, 0, 9},
    {"Q4_K", GGML_TYPE_Q4_K, 0, 14},  {"Q4_K_S", GGML_TYPE_Q4_K, 0, 14},
    {"Q5_K", GGML_TYPE_Q5_K, 0, 16},  {"Q5_K_S", GGML_TYPE_Q5_K, 0, 16},
    {"Q6_K", GGML_TYPE_Q6_K, 0, 18},  {"Q4_K_M", GGML_TYPE_Q4_K, 1, 15},
    {"Q5_K_M", GGML_TYPE_Q5_K, 1, 17},
};

sllm_status quantize_plan_for(const char *type_name, quantize_plan *plan) {
    for (size_t i = 0; i < sizeof plans / sizeof plans[0]; i++) {
        if (type_name != NULL && strcmp(plans[i].name, type_name) == 0) {
            *plan = (quantize_plan){plans[i].base_type, plans[i].mix, plans[i].file_type};
            return SLLM_OK;
        }
    }
    return core_fail(SLLM_ERR_INVALID_ARGUMENT,
                     "quantize: unknown type '%s' (expected F32 F16 BF16 Q8_0 Q4_0 Q4_1 Q5_0 Q5_1 "
                     "Q4_K Q5_K Q6_K Q4_K_M Q5_K_M)", type_name ? type_name : "(null)");
}

static int ends_with(const char *text, const char *suffix) {
    size_t n = strlen(text), m = strlen(suffix);
    return n >= m && strcmp(text + n - m, suffix) == 0;
}

/* llama.cpp's use_more_bits: the first and last eighth of layers and every third between. */
static int use_more_bits(int index, int count) {
    return index < count / 8 || index >= 7 * count / 8 || (index - count / 8) % 3 == 2;
}

static int is_float_type(uint32_t type) {
    return type == GGML_TYPE_F32 || type == GGML_TYPE_F16 || type == GGML_TYPE_BF16;
}

/* A type whose block does not divide the row length falls back as llama.cpp does. */
static uint32_t fit_row_length(uint32_t type, int64_t row_length) {
    const ggml_type_traits *traits = ggml_type_get(type);
    if (row_length % traits->block_size == 0) return type;
    switch (type) {
    case GGML_TYPE_Q4_K: return fit_row_length(GGML_TYPE_Q5_0, row_length);
    case GGML_TYPE_Q5_K: return fit_row_length(GGML_TYPE_Q5_1, row_length);
    case GGML_TYPE_Q6_K: return fit_row_length(GGML_TYPE_Q8_0, row_length);
    default: return GGML_TYPE_F16;
    }
}

uint32_t quantize_tensor_type(const quantize_plan *plan, const char *name, uint32_t n_dims,
                              const int64_t *dims, uint32_t source_type, int has_output,
                              int layer_index, int n_layers) {
    if (n_dims < 2 || !ends_with(name, "weight")) return source_type;
    uint32_t type = plan->base_type;
    if (!is_float_type(type)) {
        int is_output = strcmp(name, "output.weight") == 0 ||
                        (!has_output && strcmp(name, "token_embd.weight") == 0);
        if (is_output && type != GGML_TYPE_Q8_0) type = GGML_TYPE_Q6_K;
        else if (plan->mix && (strstr(name, "attn_v.weight") || strstr(name, "ffn_down")) &&
                 use_more_bits(layer_index, n_layers))
            type = GGML_TYPE_Q6_K;
    }
    return fit_row_length(type, dims[0]);
}

typedef struct convert_task {
    const gguf_tensor *tensor;
    uint32_t type;
    int64_t n_rows, row_length;
    uint64_t src_row_bytes, dst_row_bytes;
    uint8_t *out;
    float **row_buffers;     /* one per thread */
    int failed;
} convert_task;

static void convert_rows(void *context, int thread_index, int n_threads) {
    convert_task *task = context;
    int64_t begin = task->n_rows * thread_index / n_threads;
    int64_t end = task->n_rows * (thread_index + 1) / n_threads;
    float *row = task->row_buffers[thread_index];
    for (int64_t r = begin; r < end; r++) {
        if (!cpu_dequantize(task->tensor->type, task->tensor->data + r * task->src_row_bytes, row,
                            task->row_length) ||
            !cpu_quantize(task->type, row, task->out + r * task->dst_row_bytes, task->row_length))
            task->failed = 1;
    }
}

static sllm_status convert_tensor(core_threadpool *pool, const gguf_tensor *tensor, uint32_t type,
                                  uint8_t **out) {
    convert_task task = {.tensor = tensor, .type = type, .row_length = tensor->dims[0]};
    int n_threads = core_threadpool_size(pool);
    sllm_status status = SLLM_OK;
    task.n_rows = 1;
    for (uint32_t d = 1; d < tensor->n_dims; d++) task.n_rows *= tensor->dims[d];
    if (!ggml_row_size(tensor->type, task.row_length, &task.src_row_bytes) ||
        !ggml_row_size(type, task.row_length, &task.dst_row_bytes))
        return core_fail(SLLM_ERR_CORRUPT, "quantize: tensor '%s' has rows of %lld elements",
                         tensor->name, (long long)task.row_length);
    task.row_buffers = calloc((size_t)n_threads, sizeof *task.row_buffers);
    task.out = malloc(task.dst_row_bytes * (size_t)task.n_rows + 1);
    if (task.row_buffers == NULL || task.out == NULL) {
        status = core_fail(SLLM_ERR_OUT_OF_MEMORY, "quantize: tensor '%s'", tensor->name);
        goto fail;
    }
    for (int i = 0; i < n_threads; i++) {
        task.row_buffers[i] = malloc((size_t)task.row_length * sizeof(float) + 1);
        if (task.row_buffers[i] == NULL) {
            status = core_fail(SLLM_ERR_OUT_OF_MEMORY, "quantize: tensor '%s' row buffer", tensor->name);
            goto fail;
        }
    }
    core_threadpool_run(pool, convert_rows, &task);
    if (task.failed) {
        status = core_fail(SLLM_ERR_UNSUPPORTED_TYPE, "quantize: tensor '%s': cannot convert %s to %s",
                           tensor->name, ggml_type_get(tensor->type)->name, ggml_type_get(type)->name);
        goto fail;
    }
    *out = task.out;
    task.out = NULL;
fail:
    for (int i = 0; task.row_buffers != NULL && i < n_threads; i++) free(task.row_buffers[i]);
    free(task.row_buffers);
    free(task.out);
    return status;
}

static sllm_status copy_metadata(const gguf_file *in, const quantize_plan *plan, gguf_writer *writer) {
    sllm_status status = SLLM_OK;
    for (int64_t i = 0; i < in->n_kv && status == SLLM_OK; i++) {
        const gguf_kv *kv = &in->kv[i];
        if (strcmp(kv->key, "general.file_type") == 0) continue;
        if (strcmp(kv->key, "general.alignment") == 0) {
            status = gguf_writer_set_alignment(writer, (uint32_t)in->alignment);
            continue;
        }
        status = gguf_writer_add(writer, kv->key, &kv->value);
    }
    if (status == SLLM_OK) status = gguf_writer_add_u32(writer, "general.file_type", plan->file_type);
    return status;
}

/* Layer index from "blk.N.", and the position of this attn_v / ffn_down tensor. */
static int layer_of(const char *name) {
    return strncmp(name, "blk.", 4) == 0 ? atoi(name + 4) : 0;
}

static int count_tensors(const gguf_file *in, const char *needle) {
    int count = 0;
    for (int64_t i = 0; i < in->n_tensors; i++) count += strstr(in->tensors[i].name, needle) != NULL;
    return count;
}

static sllm_status quantize_tensors(const gguf_file *in, const quantize_plan *plan,
                                    core_threadpool *pool, gguf_writer *writer) {
    int has_output = gguf_find_tensor(in, "output.weight") != NULL;
    int n_attn_v = count_tensors(in, "attn_v.weight"), n_ffn_down = count_tensors(in, "ffn_down");
    for (int64_t i = 0; i < in->n_tensors; i++) {
        const gguf_tensor *tensor = &in->tensors[i];
        int n_layers = strstr(tensor->name, "attn_v.weight") ? n_attn_v : n_ffn_down;
        uint32_t type = quantize_tensor_type(plan, tensor->name, tensor->n_dims, tensor->dims,
                                             tensor->type, has_output, layer_of(tensor->name), n_layers);
        sllm_status status;
        if (type == tensor->type) {
            status = gguf_writer_add_tensor(writer, tensor->name, type, tensor->n_dims, tensor->dims,
                                            tensor->data);
        } else {
            uint8_t *data = NULL;
            status = convert_tensor(pool, tensor, type, &data);
            if (status == SLLM_OK)
                status = gguf_writer_add_tensor(writer, tensor->name, type, tensor->n_dims, tensor->dims, data);
            free(data);
        }
        if (status != SLLM_OK) return status;
    }
    return SLLM_OK;
}

sllm_status quantize_file(const char *in_path, const char *out_path, const char *type_name) {
    quantize_plan plan;
    gguf_file *in = NULL;
    gguf_writer *writer = NULL;
    core_threadpool *pool = NULL;
    sllm_status status = quantize_plan_for(type_name, &plan);
    if (status != SLLM_OK) return status;
    long n_cpus = sysconf(_SC_NPROCESSORS_ONLN);
    if ((status = gguf_open(in_path, &in)) != SLLM_OK) goto fail;
    if ((status = gguf_writer_create(&writer)) != SLLM_OK) goto fail;
    if ((status = core_threadpool_create(n_cpus < 1 ? 1 : n_cpus > 64 ? 64 : (int)n_cpus, &pool)) != SLLM_OK)
        goto fail;
    if ((status = copy_metadata(in, &plan, writer)) != SLLM_OK) goto fail;
    if ((status = quantize_tensors(in, &plan, pool, writer)) != SLLM_OK) goto fail;
    status = gguf_writer_to_file(writer, out_path);
fail:
    if (status != SLLM_OK) core_fail_context(status, "quantize '%s' -> '%s'", in_path, out_path);
    core_threadpool_free(pool);
    gguf_writer_free(writer);
    gguf_close(in);
    return status;
}
