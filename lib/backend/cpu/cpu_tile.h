/* The CPU's repacked weight layout "tile16": 16 rows interleaved so that one 64-byte
 * load holds 4 level bytes of each of the 16 rows (one row per 32-bit lane, the operand
 * shape of vpdpbusd). Decode then streams a matrix front to back with no shuffles, and
 * every load is a full aligned cache line.
 *
 * For Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K and Q6_K: a tile is 16 consecutive rows,
 * stored in the same 16 x row_bytes bytes the rows occupied, as groups of G blocks (G = 2
 * for Q4_0, Q5_0, Q8_0 and Q6_K, 1 for Q4_1, Q5_1, Q4_K and Q5_K, so that a group is a
 * whole number of cache lines):
 * the G blocks' levels, then the G blocks' headers. Decode thus reads one linear stream
 * (scales stored apart from the levels, in a second region, measured ~17% slower).
 *   levels:  per block, each level field (qs; Q5_0/Q5_1: qs then qh, each row's 32 bits
 *            bit-major, element e at bit e / 4 of byte e % 4; Q5_K: qh then qs; Q6_K: ql
 *            then qh), word k
 *            of row r at (k * 16 + r) * 4 within the field: bytes 4k..4k+3 of that row's
 *            field (Q8_0: each byte XOR 0x80, so levels are unsigned q + 128);
 *   headers: per block, each scale field in block order, unit i of row r at
 *            (i * 16 + r) * unit: fp16 d/m/dmin as 16 halves, Q4_K/Q5_K's 12 bytes of packed
 *            scales and Q6_K's 16 int8 scales as 16-lane dwords.
 * For F32, F16 and BF16 (blocks of 16 elements, groups of one block): per 16 columns, the
 * 16 rows' elements one row after the other (row r at r * 16 * element bytes), so a
 * decode token reads the matrix as one stream (rows side by side measured ~25% slower:
 * 16 or 4 interleaved streams keep fewer reads in flight than one).
 * Values and per-block float chains are unchanged: a tile16 matrix multiplies to the
 * same bits as the row layout (tests compare by memcmp). */
#ifndef SLLM_BACKEND_CPU_TILE_H
#define SLLM_BACKEND_CPU_TILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backend/cpu/cpu_kernels.h"

enum { CPU_TILE_ROWS = 16 };

/* Values of sllm_backend_weight.layout the CPU backend reads. */
typedef enum cpu_layout { CPU_LAYOUT_ROWS = 0, CPU_LAYOUT_TILE16 = 1 } cpu_layout;

/* Whether a matrix of this type and shape can be stored as tile16. */
bool cpu_tile16_supported(uint32_t type, int64_t n_rows, int64_t n_cols);

/* Whether matrices of `type` should be repacked on this machine: its best kernel table
 * has a tile16 kernel for the type (AVX-512 VNNI: every supported type; AVX2: the
 * quantized ones). Elsewhere a repacked matrix would only be unpacked again. */
bool cpu_tile16_wanted(uint32_t type);

/* The name of the kernel table that multiplies tile16 weights on this machine ("avx512",
 * "avx2"; the best table's name). */
const char *cpu_tile16_kernels_name(void);

/* Packs n_rows (a multiple of 16) rows into dst (same size; must not overlap src). */
void cpu_tile16_pack(uint32_t type, const uint8_t *src, int64_t n_rows, int64_t n_cols, uint8_t *dst);

/* Unpacks one tile (16 rows) back to row layout. */
void cpu_tile16_unpack(uint32_t type, const uint8_t *tile, int64_t n_cols, uint8_t *rows);

/* Unpacks row `row` of a tile16 matrix (w: its first tile) into `out` (one row's bytes):
 * an embedding lookup in a table that is also the tied output matrix. */
void cpu_tile16_unpack_row(uint32_t type, const uint8_t *w, int64_t n_cols, int64_t row, uint8_t *out);

/* tile16 weights through a row-layout kernel: each tile is unpacked (into a buffer
 * allocated per call), then multiplied; same results. Outputs are NaN if the buffer
 * cannot be had. Same arguments as cpu_gemm_fn (w: the first tile). */
void cpu_tile16_gemm_via_rows(uint32_t type, cpu_gemm_fn row_gemm, const uint8_t *w, size_t w_row_bytes,
                              int64_t n_rows, const uint8_t *x, size_t x_row_bytes, int64_t n_tokens, int64_t n_cols,
                              float *y, int64_t y_stride);

#endif
