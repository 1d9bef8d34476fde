/* model_weights_copy_in: see weights_copy.h. Tensors are copied one by one to 64-byte
 * aligned offsets of the region (GGUF aligns to 32 by default; the repacked kernels load
 * whole cache lines), and each tensor's file pages are released once copied
 * (MADV_DONTNEED on the private read-only mapping only drops them from this process; the
 * page cache keeps them). */
#include "model/weights_copy.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "backend/cpu/cpu_tile.h"
#include "statelessllm_backend.h"

enum { TENSOR_ALIGNMENT = 64, MAX_GLOBAL_TENSORS = 4 };

typedef struct tensor_list {
    model_tensor **items;
    size_t count;
} tensor_list;

/* Every distinct present tensor the model uses (a tied output is token_embd itself). */
static sllm_status list_tensors(model_weights *weights, tensor_list *out) {
    size_t per_layer = sizeof(model_layer) / sizeof(model_tensor);
    out->count = 0;
    out->items = malloc((MAX_GLOBAL_TENSORS + (size_t)weights->n_layers * per_layer) * sizeof *out->items);
    if (out->items == NULL) return core_fail(SLLM_ERR_OUT_OF_MEMORY, "out of memory listing tensors");
    model_tensor *globals[] = { &weights->token_embd, &weights->output_norm,
                                weights->tied_output ? NULL : &weights->output, &weights->rope_freqs };
    for (size_t i = 0; i < MAX_GLOBAL_TENSORS; i++)
        if (globals[i] != NULL && globals[i]->data != NULL) out->items[out->count++] = globals[i];
    for (int64_t il = 0; il < weights->n_layers; il++) {
        model_tensor *layer = (model_tensor *)&weights->layers[il];   /* a model_layer is only model_tensors */
        for (size_t i = 0; i < per_layer; i++)
            if (layer[i].data != NULL) out->items[out->count++] = &layer[i];
    }
    return SLLM_OK;
}

_Static_assert(sizeof(model_layer) % sizeof(model_tensor) == 0, "a model_layer is an array of model_tensor");

static uint64_t aligned(uint64_t offset) { return (offset + TENSOR_ALIGNMENT - 1) / TENSOR_ALIGNMENT * TENSOR_ALIGNMENT; }

/* Drops the file pages of [begin, end) from this process (they would only be read again). */
static void release_file_pages(const uint8_t *begin, const uint8_t *end) {
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t first = (uintptr_t)begin / page * page, last = ((uintptr_t)end + page - 1) / page * page;
    if (last > first) madvise((void *)first, last - first, MADV_DONTNEED);
}

int model_weights_would_repack(const char *name, uint32_t type, int64_t n_rows, int64_t n_cols, int tied_output) {
    return n_rows > 1 && (tied_output || strcmp(name, "token_embd.weight") != 0) &&
           cpu_tile16_supported(type, n_rows, n_cols) && cpu_tile16_wanted(type);
}

/* Repacks a copied matrix in place, tile by tile, when the CPU's kernels read tile16
 * (the model is loaded before any backend exists, and the CPU backend is the one that
 * reads host weights; the layout is recorded in the tensor and checked by the backend).
 * Vectors and an untied token embedding (only read by row) stay as they are. */
static sllm_status repack(model_tensor *tensor, uint8_t *data) {
    size_t tile_bytes = (size_t)(tensor->size_bytes / (uint64_t)tensor->n_rows) * CPU_TILE_ROWS;
    uint8_t *tile = malloc(tile_bytes);
    if (tile == NULL) return core_fail(SLLM_ERR_OUT_OF_MEMORY, "out of memory repacking '%s'", tensor->name);
    for (int64_t r = 0; r < tensor->n_rows; r += CPU_TILE_ROWS) {
        uint8_t *rows = data + (size_t)(r / CPU_TILE_ROWS) * tile_bytes;
        cpu_tile16_pack(tensor->type, rows, CPU_TILE_ROWS, tensor->n_cols, tile);
        memcpy(rows, tile, tile_bytes);
    }
    free(tile);
    tensor->layout = SLLM_WEIGHT_CPU_TILE16;
    return SLLM_OK;
}

static sllm_status copy_tensors(const gguf_file *gguf, model_weights *weights, const tensor_list *list,
                                uint64_t total, core_region *region) {
    sllm_status status = core_region_alloc(total, region);
    if (status != SLLM_OK)
        return core_fail_context(status, "copying %llu bytes of weights into memory", (unsigned long long)total);
    const uint8_t *file_data = weights->data;
    uint8_t *copy = region->data;
    uint64_t offset = 0;
    for (size_t i = 0; i < list->count && status == SLLM_OK; i++) {
        model_tensor *tensor = list->items[i];
        const uint8_t *source = file_data + tensor->offset;
        offset = aligned(offset);
        memcpy(copy + offset, source, tensor->size_bytes);
        if (gguf->owns_mapping) release_file_pages(source, source + tensor->size_bytes);
        tensor->offset = offset;
        tensor->data = copy + offset;
        if (model_weights_would_repack(tensor->name, tensor->type, tensor->n_rows, tensor->n_cols,
                                       weights->tied_output))
            status = repack(tensor, copy + offset);
        offset += tensor->size_bytes;
    }
    if (weights->tied_output) weights->output = weights->token_embd;
    weights->data = copy;
    weights->data_bytes = total;
    return status;
}

sllm_status model_weights_copy_in(const gguf_file *gguf, model_weights *weights, core_region *region) {
    tensor_list list;
    sllm_status status = list_tensors(weights, &list);
    if (status != SLLM_OK) return status;
    uint64_t total = 0;
    for (size_t i = 0; i < list.count; i++) total = aligned(total) + list.items[i]->size_bytes;
    if (total > 0) status = copy_tensors(gguf, weights, &list, total, region);
    free(list.items);
    return status;
}

int model_weights_count_repacked(const model_weights *weights) {
    int count = weights->output.layout == SLLM_WEIGHT_CPU_TILE16;   /* a tied output is token_embd */
    for (int64_t il = 0; il < weights->n_layers; il++) {
        const model_tensor *layer = (const model_tensor *)&weights->layers[il];
        for (size_t i = 0; i < sizeof(model_layer) / sizeof(model_tensor); i++)
            count += layer[i].layout == SLLM_WEIGHT_CPU_TILE16;
    }
    return count;
}
