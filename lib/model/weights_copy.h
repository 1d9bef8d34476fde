/* Moving a model's tensor data from the mmap'd file into huge-page memory at load. */
#ifndef SLLM_MODEL_WEIGHTS_COPY_H
#define SLLM_MODEL_WEIGHTS_COPY_H

#include "core/hugemem.h"
#include "format/gguf.h"
#include "model/weights.h"

/* Copies every tensor `weights` uses into a new region, each at a 64-byte aligned
 * offset, and points `weights` there (tensor data and offsets, weights->data and
 * data_bytes now describe the region). The file pages it read are dropped from the
 * process as it goes, so the peak is the copy plus one tensor. Matrices the CPU kernels read faster
 * repacked are repacked (cpu_tile.h) and marked in their layout. On failure the model
 * must be discarded. */
sllm_status model_weights_copy_in(const gguf_file *gguf, model_weights *weights, core_region *region);

/* Whether a copying load on this CPU repacks the tensor `name` of this type and shape
 * (n_rows rows of n_cols): matrices the CPU kernels read as tile16, except a token
 * embedding that is not also the output matrix (tied_output: the model has no
 * output.weight), which is only read by row. `sllm info` asks it too. */
int model_weights_would_repack(const char *name, uint32_t type, int64_t n_rows, int64_t n_cols, int tied_output);

/* How many of `weights`' matrices are in the CPU's tile16 layout. */
int model_weights_count_repacked(const model_weights *weights);

#endif
