/* GGUF -> GGUF re-quantization following llama.cpp's per-tensor type rules. */
#include "format/quantize.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/cpu/cpu_quant.h"
#include "core/threadpool.h"
#include "format/gguf.h"

/* Per-tensor types, as llama.cpp chooses them: llama_tensor_get_type_impl and
 * tensor_type_fallback in src/llama-quant.cpp, read at ggml-org/llama.cpp commit
 * 007dbbf3fd17eefe9b47fee45f48f7ba5e62b714 (the same rules as in ggerganov/llama.cpp
 * 059325d9b4bf046fc38278c4157d8791333129b1), restricted to dense (n_expert <= 1)
 * llama, qwen2 and qwen3 models without an importance matrix:
 *
 * - Only weights are quantized: tensors with 2+ dimensions (ggml_n_dims: trailing dims of
 *   size 1 do not count) whose name ends in "weight" and does not contain "_norm.weight".
 *   Anything else (norms, biases) keeps its type. For F32/F16/BF16 every such weight
 *   takes that type and no rule below applies.
 * - output.weight, and token_embd.weight when there is no output.weight (tied
 *   embeddings): Q8_0 when its rows are not a multiple of the base type's block, else Q8_0
 *   stays Q8_0 and every other type becomes Q6_K. An untied token_embd.weight takes the
 *   base type.
 * - attn_v.weight (i = its position among the n_attention_wv attn_v weights): Q4_K_M and
 *   Q5_K_M use Q6_K when use_more_bits(i, n_attention_wv); Q4_K_S uses Q5_K when i < 4.
 *   Then on a "70B" model (llama with 80 layers and n_head != n_head_kv, or qwen2 with 80
 *   layers; never qwen3) a Q3_K/Q4_K choice becomes Q5_K. The GQA (n_gqa >= 4) and
 *   8-expert special cases belong to Q2_K, Q3_K, IQ* and MoE models, not to these mixes.
 * - ffn_down (i = its position among them, n = block_count): Q4_K_M and Q5_K_M use Q6_K
 *   when use_more_bits(i, n) (Falcon's variant does not apply); Q4_K_S uses Q5_K when
 *   i < n/8. The Q4_0/Q5_0 ffn_down rule needs an imatrix, so it never applies here.
 * - attn_q, attn_k, attn_output, ffn_gate, ffn_up: the base type (their rules are for
 *   Q2_K, Q3_K, IQ* and MoE models).
 * - use_more_bits(i, n) = i < n/8 || i >= 7*n/8 || (i - n/8) % 3 == 2.
 * - Fallback, last: a type whose block does not divide the row length becomes Q5_0
 *   (Q4_K), Q5_1 (Q5_K) or Q8_0 (Q6_K), and F16 when that still does not divide it.
 *   llama.cpp refuses a 32-block type (Q8_0, Q4_0, ...) on rows that are not a multiple
 *   of 32; this quantizer writes F16 there instead.
 *
 * The uniform types (Q4_K, Q5_K, Q6_K, the 32-block types) get the output rule and the
 * fallback only; for Q6_K, Q5_K (= Q5_K_S) and the 32-block types that is exactly
 * llama.cpp's mix. */

typedef struct plan_entry {
    const char *name;
    uint32_t base_type;
    quantize_mix mix;
    uint32_t file_type;
} plan_entry;

/* file_type numbers are llama.cpp's enum llama_ftype. */
static const plan_entry plans[] = {
    {"F32", GGML_TYPE_F32, QUANTIZE_UNIFORM, 0},     {"F16", GGML_TYPE_F16, QUANTIZE_UNIFORM, 1},
    {"BF16", GGML_TYPE_BF16, QUANTIZE_UNIFORM, 32},  {"Q8_0", GGML_TYPE_Q8_0, QUANTIZE_UNIFORM, 7},
    {"Q4_0", GGML_TYPE_Q4_0, QUANTIZE_UNIFORM, 2},   {"Q4_1", GGML_TYPE_Q4_1, QUANTIZE_UNIFORM, 3},
    {"Q5_0", GGML_TYPE_Q5_0, QUANTIZE_UNIFORM, 8},   {"Q5_1", GGML_TYPE_Q5_1, QUANTIZE_UNIFORM, 9},
    {"Q4_K", GGML_TYPE_Q4_K, QUANTIZE_UNIFORM, 14},  {"Q4_K_S", GGML_TYPE_Q4_K, QUANTIZE_MIX_Q4_K_S, 14},
    {"Q5_K", GGML_TYPE_Q5_K, QUANTIZE_UNIFORM, 16},  {"Q5_K_S", GGML_TYPE_Q5_K, QUANTIZE_UNIFORM, 16},
    {"Q6_K", GGML_TYPE_Q6_K, QUANTIZE_UNIFORM, 18},  {"Q4_K_M", GGML_TYPE_Q4_K, QUANTIZE_MIX_M, 15},
    {"Q5_K_M", GGML_TYPE_Q5_K, QUANTIZE_MIX_M, 17},
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
                     "Q4_K Q5_K Q6_K Q4_K_S Q4_K_M Q5_K_S Q5_K_M)", type_name ? type_name : "(null)");
}

static int ends_with(const char *text, const char *suffix) {
    size_t n = strlen(text), m = strlen(suffix);
    return n >= m && strcmp(text + n - m, suffix) == 0;
}

static int use_more_bits(int index, int count) {
    return index < count / 8 || index >= 7 * count / 8 || (index - count / 8) % 3 == 2;
}

static int is_float_type(uint32_t type) {
    return type == GGML_TYPE_F32 || type == GGML_TYPE_F16 || type == GGML_TYPE_BF16;
}

/* llama.cpp's tensor categories, in its order of matching (tensor_get_category). */
typedef enum tensor_category {
    CATEGORY_OUTPUT, CATEGORY_TOKEN_EMBD, CATEGORY_ATTN_V, CATEGORY_FFN_DOWN, CATEGORY_OTHER
} tensor_category;

static tensor_category category_of(const char *name) {
    static const struct { const char *needle; tensor_category category; } order[] = {
        {"attn_qkv.weight", CATEGORY_ATTN_V}, {"attn_kv_b.weight", CATEGORY_ATTN_V},
        {"attn_v.weight", CATEGORY_ATTN_V},   {"attn_k.weight", CATEGORY_OTHER},
        {"attn_q.weight", CATEGORY_OTHER},    {"attn_output.weight", CATEGORY_OTHER},
        {"ffn_up", CATEGORY_OTHER},           {"ffn_gate", CATEGORY_OTHER},
        {"ffn_down", CATEGORY_FFN_DOWN},
    };
    if (strcmp(name, "output.weight") == 0) return CATEGORY_OUTPUT;
    if (strcmp(name, "token_embd.weight") == 0) return CATEGORY_TOKEN_EMBD;
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++)
        if (strstr(name, order[i].needle) != NULL) return order[i].category;
    return CATEGORY_OTHER;
}

/* llama.cpp's tensor_allows_quantization for the tensors of these architectures. */
static int is_quantizable(const char *name, uint32_t n_dims, const int64_t *dims) {
    int effective_dims = 1;
    for (uint32_t d = 1; d < n_dims; d++)
        if (dims[d] > 1) effective_dims = (int)d + 1;
    return effective_dims >= 2 && ends_with(name, "weight") && strstr(name, "_norm.weight") == NULL;
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

static uint32_t output_type(uint32_t base_type, int64_t row_length) {
    if (row_length % ggml_type_get(base_type)->block_size != 0) return GGML_TYPE_Q8_0;
    return base_type == GGML_TYPE_Q8_0 ? GGML_TYPE_Q8_0 : GGML_TYPE_Q6_K;
}

static uint32_t attn_v_type(const quantize_plan *plan, const quantize_model *model, int index) {
    uint32_t type = plan->base_type;
    if (plan->mix == QUANTIZE_MIX_M && use_more_bits(index, model->n_attn_v)) type = GGML_TYPE_Q6_K;
    else if (plan->mix == QUANTIZE_MIX_Q4_K_S && index < 4) type = GGML_TYPE_Q5_K;
    if (model->is_70b && (type == GGML_TYPE_Q3_K || type == GGML_TYPE_Q4_K)) type = GGML_TYPE_Q5_K;
    return type;
}

static uint32_t ffn_down_type(const quantize_plan *plan, const quantize_model *model, int index) {
    if (plan->mix == QUANTIZE_MIX_M && use_more_bits(index, model->n_layer)) return GGML_TYPE_Q6_K;
    if (plan->mix == QUANTIZE_MIX_Q4_K_S && index < model->n_layer / 8) return GGML_TYPE_Q5_K;
    return plan->base_type;
}

uint32_t quantize_tensor_type(const quantize_plan *plan, const quantize_model *model, const char *name,
                              uint32_t n_dims, const int64_t *dims, uint32_t source_type, int index) {
    if (!is_quantizable(name, n_dims, dims)) return source_type;
    if (is_float_type(plan->base_type)) return plan->base_type;
    tensor_category category = category_of(name);
    uint32_t type = plan->base_type;
    if (category == CATEGORY_OUTPUT || (!model->has_output && category == CATEGORY_TOKEN_EMBD))
        type = output_type(plan->base_type, dims[0]);
    else if (plan->mix != QUANTIZE_UNIFORM && category == CATEGORY_ATTN_V)
        type = attn_v_type(plan, model, index);
    else if (plan->mix != QUANTIZE_UNIFORM && category == CATEGORY_FFN_DOWN)
        type = ffn_down_type(plan, model, index);
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

/* Layer number of "blk.N." names, -1 for the others (llama.cpp's weight_name_comparer). */
static int layer_of(const char *name) {
    int layer = -1;
    if (sscanf(name, "blk.%d.", &layer) != 1) layer = -1;
    return layer;
}

/* llama.cpp visits tensors by layer number, then by name; its attn_v / ffn_down counters
 * follow that order, whatever the order in the file. */
static int compare_tensor_order(const void *a, const void *b) {
    const gguf_tensor *x = *(const gguf_tensor *const *)a, *y = *(const gguf_tensor *const *)b;
    int layer_x = layer_of(x->name), layer_y = layer_of(y->name);
    if (layer_x != layer_y) return layer_x < layer_y ? -1 : 1;
    return strcmp(x->name, y->name);
}

/* An integer hyperparameter "<arch>.<suffix>"; per-layer arrays give layer 0's value. */
static int64_t arch_int(const gguf_file *in, const char *arch, const char *suffix) {
    char key[160];
    int64_t value = -1;
    const gguf_array *array = NULL;
    snprintf(key, sizeof key, "%s.%s", arch, suffix);
    if (gguf_get_int(in, key, &value) == SLLM_OK) return value;
    if (gguf_get_array(in, key, &array) == SLLM_OK && array->count > 0 && array->elem_type != GGUF_TYPE_STRING &&
        array->elem_type != GGUF_TYPE_ARRAY)
        return gguf_array_get_int(array, 0);
    return -1;
}

static void describe_model(const gguf_file *in, quantize_model *model) {
    char arch[64] = "";
    gguf_string arch_name;
    int max_layer = -1;
    memset(model, 0, sizeof *model);
    if (gguf_get_string(in, "general.architecture", &arch_name) == SLLM_OK && arch_name.len < sizeof arch) {
        memcpy(arch, arch_name.data, arch_name.len);
        arch[arch_name.len] = '\0';
    }
    for (int64_t i = 0; i < in->n_tensors; i++) {
        const char *name = in->tensors[i].name;
        model->has_output |= category_of(name) == CATEGORY_OUTPUT;
        model->n_attn_v += category_of(name) == CATEGORY_ATTN_V;
        if (layer_of(name) > max_layer) max_layer = layer_of(name);
    }
    int64_t n_layer = arch_int(in, arch, "block_count");
    model->n_layer = n_layer > 0 && n_layer <= INT32_MAX ? (int)n_layer : max_layer + 1;
    /* LLM_TYPE_70B as llama.cpp's load_hparams sets it for these architectures. */
    if (strcmp(arch, "llama") == 0)
        model->is_70b = model->n_layer == 80 &&
                        arch_int(in, arch, "attention.head_count") != arch_int(in, arch, "attention.head_count_kv");
    else if (strcmp(arch, "qwen2") == 0)
        model->is_70b = model->n_layer == 80;
}

/* types[i]: the type of in->tensors[i]. */
static sllm_status choose_types(const gguf_file *in, const quantize_plan *plan, uint32_t *types) {
    quantize_model model;
    const gguf_tensor **order = malloc((size_t)in->n_tensors * sizeof *order + 1);
    if (order == NULL) return core_fail(SLLM_ERR_OUT_OF_MEMORY, "quantize: tensor order");
    describe_model(in, &model);
    for (int64_t i = 0; i < in->n_tensors; i++) order[i] = &in->tensors[i];
    qsort(order, (size_t)in->n_tensors, sizeof *order, compare_tensor_order);
    int i_attn_v = 0, i_ffn_down = 0;
    for (int64_t i = 0; i < in->n_tensors; i++) {
        const gguf_tensor *tensor = order[i];
        tensor_category category = category_of(tensor->name);
        int quantizable = is_quantizable(tensor->name, tensor->n_dims, tensor->dims);
        int index = category == CATEGORY_ATTN_V ? i_attn_v : category == CATEGORY_FFN_DOWN ? i_ffn_down : 0;
        types[tensor - in->tensors] = quantize_tensor_type(plan, &model, tensor->name, tensor->n_dims, tensor->dims,
                                                           tensor->type, index);
        i_attn_v += quantizable && category == CATEGORY_ATTN_V;
        i_ffn_down += quantizable && category == CATEGORY_FFN_DOWN;
    }
    free(order);
    return SLLM_OK;
}

static sllm_status quantize_tensors(const gguf_file *in, const quantize_plan *plan,
                                    core_threadpool *pool, gguf_writer *writer) {
    uint32_t *types = malloc((size_t)in->n_tensors * sizeof *types + 1);
    if (types == NULL) return core_fail(SLLM_ERR_OUT_OF_MEMORY, "quantize: tensor types");
    sllm_status status = choose_types(in, plan, types);
    for (int64_t i = 0; i < in->n_tensors && status == SLLM_OK; i++) {
        const gguf_tensor *tensor = &in->tensors[i];
        if (types[i] == tensor->type) {
            status = gguf_writer_add_tensor(writer, tensor->name, types[i], tensor->n_dims, tensor->dims,
                                            tensor->data);
        } else {
            uint8_t *data = NULL;
            status = convert_tensor(pool, tensor, types[i], &data);
            if (status == SLLM_OK)
                status = gguf_writer_add_tensor(writer, tensor->name, types[i], tensor->n_dims, tensor->dims, data);
            free(data);
        }
    }
    free(types);
    return status;
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
