/* tile16 packing and unpacking (layout in cpu_tile.h), driven by a table of each block
 * type's fields: which bytes of a block are levels (interleaved 4 bytes per row) and
 * which are scales (interleaved 2 or 4 bytes per row into the group's headers). */
#include "backend/cpu/cpu_tile.h"

#include <stdlib.h>
#include <string.h>

#include "backend/cpu/cpu_kernels.h"
#include "format/ggml_types.h"

enum { MAX_FIELDS = 4 };

typedef enum { AREA_LEVELS, AREA_HEADERS } tile_area;

typedef struct tile_field {
    int offset;         /* in the row-layout block */
    int bytes;
    tile_area area;
    int unit;           /* interleaving unit: 4 for levels (float types: a row's whole
                         * block), 2 (fp16) or 4 for headers */
    bool fifth_bits;    /* Q5_0/Q5_1 qh: a 4-byte unit stored bit-major (below) */
} tile_field;

typedef struct tile_shape {
    int block_elements;
    int block_bytes;
    int group_blocks;   /* blocks per group: levels then headers, a multiple of 64 bytes */
    int n_fields;
    tile_field fields[MAX_FIELDS];
    uint8_t flip;       /* XOR applied to level bytes (Q8_0: 0x80 makes them unsigned) */
} tile_shape;

/* Field constructors: level bytes (interleaved 4 at a time), a Q5_0/Q5_1 block's fifth
 * bits, fp16 headers (2 at a time), other headers (4 at a time), a float row block. */
#define LEVELS(offset, bytes) { offset, bytes, AREA_LEVELS, 4, false }
#define FIFTH_BITS(offset) { offset, 4, AREA_LEVELS, 4, true }
#define HALVES(offset, bytes) { offset, bytes, AREA_HEADERS, 2, false }
#define DWORDS(offset, bytes) { offset, bytes, AREA_HEADERS, 4, false }
#define WHOLE(bytes) { 0, bytes, AREA_LEVELS, bytes, false }

static bool shape_of(uint32_t type, tile_shape *shape) {
    switch (type) {
    case GGML_TYPE_Q4_0: /* d, qs[16] */
        *shape = (tile_shape){ 32, 18, 2, 2, { HALVES(0, 2), LEVELS(2, 16) }, 0 };
        return true;
    case GGML_TYPE_Q4_1: /* d, m, qs[16] */
        *shape = (tile_shape){ 32, 20, 1, 2, { HALVES(0, 4), LEVELS(4, 16) }, 0 };
        return true;
    case GGML_TYPE_Q5_0: /* d, qh[4], qs[16]: levels are the nibbles, then the fifth bits */
        *shape = (tile_shape){ 32, 22, 2, 3, { HALVES(0, 2), LEVELS(6, 16), FIFTH_BITS(2) }, 0 };
        return true;
    case GGML_TYPE_Q5_1: /* d, m, qh[4], qs[16] */
        *shape = (tile_shape){ 32, 24, 1, 3, { HALVES(0, 4), LEVELS(8, 16), FIFTH_BITS(4) }, 0 };
        return true;
    case GGML_TYPE_Q8_0: /* d, qs[32] */
        *shape = (tile_shape){ 32, 34, 2, 2, { HALVES(0, 2), LEVELS(2, 32) }, 0x80 };
        return true;
    case GGML_TYPE_Q4_K: /* d, dmin, 12 bytes of packed 6-bit scales and mins, 128 bytes of nibbles */
        *shape = (tile_shape){ 256, 144, 1, 3, { HALVES(0, 4), DWORDS(4, 12), LEVELS(16, 128) }, 0 };
        return true;
    case GGML_TYPE_Q5_K: /* Q4_K with qh[32], the fifth bits, before the nibbles */
        *shape = (tile_shape){ 256, 176, 1, 4, { HALVES(0, 4), DWORDS(4, 12), LEVELS(16, 32), LEVELS(48, 128) }, 0 };
        return true;
    case GGML_TYPE_Q6_K: /* ql[128], qh[64], int8 scales[16], d */
        *shape = (tile_shape){ 256, 210, 2, 4, { LEVELS(0, 128), LEVELS(128, 64), DWORDS(192, 16), HALVES(208, 2) }, 0 };
        return true;
    case GGML_TYPE_F32: /* float types: blocks of 16 elements, each row's 16 kept whole */
        *shape = (tile_shape){ 16, 64, 1, 1, { WHOLE(64) }, 0 };
        return true;
    case GGML_TYPE_F16:
    case GGML_TYPE_BF16:
        *shape = (tile_shape){ 16, 32, 1, 1, { WHOLE(32) }, 0 };
        return true;
    default:
        return false;
    }
}

bool cpu_tile16_supported(uint32_t type, int64_t n_rows, int64_t n_cols) {
    tile_shape shape;
    if (!shape_of(type, &shape) || n_rows <= 0 || n_rows % CPU_TILE_ROWS != 0 || n_cols <= 0) return false;
    /* whole groups only (every group, hence every tile, stays 64-byte aligned), and the
     * 32-element kernels step two blocks at a time */
    int64_t step = (int64_t)shape.block_elements * shape.group_blocks;
    return n_cols % (shape.block_elements == 32 ? 64 : step) == 0 && n_cols % step == 0;
}

bool cpu_tile16_wanted(uint32_t type) {
    cpu_features features = cpu_features_detect();
    const cpu_kernels *best = cpu_kernels_best(&features);
    return type < GGML_TYPE_ID_LIMIT && best->gemm_tile16[type] != NULL;
}

const char *cpu_tile16_kernels_name(void) {
    cpu_features features = cpu_features_detect();
    return cpu_kernels_best(&features)->name;
}

/* Bytes per block of 16 rows in `area`, and where `field` starts within it. */
static size_t area_block_bytes(const tile_shape *shape, tile_area area) {
    size_t total = 0;
    for (int f = 0; f < shape->n_fields; f++)
        if (shape->fields[f].area == area) total += (size_t)shape->fields[f].bytes * CPU_TILE_ROWS;
    return total;
}

static size_t field_start(const tile_shape *shape, int field) {
    size_t start = 0;
    for (int f = 0; f < field; f++)
        if (shape->fields[f].area == shape->fields[field].area) start += (size_t)shape->fields[f].bytes * CPU_TILE_ROWS;
    return start;
}

/* Where block b's levels (or headers) start in a tile: groups of group_blocks blocks,
 * each the blocks' levels then their headers. */
static size_t area_offset(const tile_shape *shape, int64_t b, tile_area area) {
    const size_t level_block = area_block_bytes(shape, AREA_LEVELS), header_block = area_block_bytes(shape, AREA_HEADERS);
    const size_t group = (size_t)shape->group_blocks, in_group = (size_t)b % group;
    size_t base = (size_t)b / group * group * (level_block + header_block);
    return area == AREA_LEVELS ? base + in_group * level_block : base + group * level_block + in_group * header_block;
}

/* A Q5_0/Q5_1 block's 32 fifth bits (bit e = element e, little-endian) stored bit-major:
 * element e at bit e / 4 of byte e % 4, so the four elements of level word k (4k..4k+3)
 * have theirs at bit k of bytes 0..3, where one shift and mask moves them to bit 4. */
static uint32_t fifth_bits_to_tile(uint32_t bits) {
    uint32_t moved = 0;
    for (unsigned e = 0; e < 32; e++) moved |= ((bits >> e) & 1u) << (8 * (e % 4) + e / 4);
    return moved;
}

static uint32_t fifth_bits_from_tile(uint32_t moved) {
    uint32_t bits = 0;
    for (unsigned e = 0; e < 32; e++) bits |= ((moved >> (8 * (e % 4) + e / 4)) & 1u) << e;
    return bits;
}

/* Copies one interleaving unit, XOR-ing level words with `flip` (fifth-bit words are moved
 * to or from bit-major order instead). The sizes the shapes use are spelled out so that
 * the compiler moves them inline (a memcpy call per 4 bytes made repacking a model's
 * weights take seconds). */
static inline void move_unit(uint8_t *dst, const uint8_t *src, const tile_field *field, uint32_t flip, bool to_tile) {
    const int unit = field->unit;
    if (unit == 4) {
        uint32_t word;
        memcpy(&word, src, 4);
        if (field->fifth_bits) word = to_tile ? fifth_bits_to_tile(word) : fifth_bits_from_tile(word);
        else word ^= flip;
        memcpy(dst, &word, 4);
    } else if (unit == 2) {     /* fp16 headers: never flipped */
        memcpy(dst, src, 2);
    } else {                    /* a float type's whole row block */
        memcpy(dst, src, (size_t)unit);
    }
}

/* Moves rows [row_lo, row_hi) of one tile between layouts (`rows` holds those rows only);
 * to_tile selects the direction. */
static void convert_tile(const tile_shape *shape, int64_t n_cols, uint8_t *rows, uint8_t *tile, bool to_tile,
                         int row_lo, int row_hi) {
    const int64_t n_blocks = n_cols / shape->block_elements;
    const size_t row_bytes = (size_t)n_blocks * (size_t)shape->block_bytes;
    for (int f = 0; f < shape->n_fields; f++) {
        const tile_field *field = &shape->fields[f];
        const int is_levels = field->area == AREA_LEVELS, unit = field->unit;
        const uint32_t flip = is_levels ? shape->flip * 0x01010101u : 0;
        const size_t start = field_start(shape, f);
        for (int64_t b = 0; b < n_blocks; b++) {
            uint8_t *area = tile + area_offset(shape, b, field->area);
            for (int r = row_lo; r < row_hi; r++) {
                uint8_t *bytes = rows + (size_t)(r - row_lo) * row_bytes + (size_t)b * (size_t)shape->block_bytes + field->offset;
                for (int i = 0; i < field->bytes / unit; i++) {
                    uint8_t *packed = area + start + ((size_t)i * CPU_TILE_ROWS + (size_t)r) * (size_t)unit;
                    if (to_tile) move_unit(packed, bytes + i * unit, field, flip, true);
                    else move_unit(bytes + i * unit, packed, field, flip, false);
                }
            }
        }
    }
}

void cpu_tile16_pack(uint32_t type, const uint8_t *src, int64_t n_rows, int64_t n_cols, uint8_t *dst) {
    tile_shape shape;
    if (!shape_of(type, &shape)) return;
    size_t tile_bytes = (size_t)(n_cols / shape.block_elements) * (size_t)shape.block_bytes * CPU_TILE_ROWS;
    for (int64_t t = 0; t < n_rows / CPU_TILE_ROWS; t++)
        convert_tile(&shape, n_cols, (uint8_t *)(uintptr_t)(src + (size_t)t * tile_bytes), dst + (size_t)t * tile_bytes,
                     true, 0, CPU_TILE_ROWS);
}

void cpu_tile16_unpack(uint32_t type, const uint8_t *tile, int64_t n_cols, uint8_t *rows) {
    tile_shape shape;
    if (!shape_of(type, &shape)) return;
    convert_tile(&shape, n_cols, rows, (uint8_t *)(uintptr_t)tile, false, 0, CPU_TILE_ROWS);
}

void cpu_tile16_unpack_row(uint32_t type, const uint8_t *w, int64_t n_cols, int64_t row, uint8_t *out) {
    tile_shape shape;
    if (!shape_of(type, &shape)) return;
    size_t tile_bytes = (size_t)(n_cols / shape.block_elements) * (size_t)shape.block_bytes * CPU_TILE_ROWS;
    int in_tile = (int)(row % CPU_TILE_ROWS);
    convert_tile(&shape, n_cols, out, (uint8_t *)(uintptr_t)(w + (size_t)(row / CPU_TILE_ROWS) * tile_bytes), false,
                 in_tile, in_tile + 1);
}

void cpu_tile16_gemm_via_rows(uint32_t type, cpu_gemm_fn row_gemm, const uint8_t *w, size_t w_row_bytes,
                              int64_t n_rows, const uint8_t *x, size_t x_row_bytes, int64_t n_tokens, int64_t n_cols,
                              float *y, int64_t y_stride) {
    uint8_t *rows = malloc(w_row_bytes * CPU_TILE_ROWS);
    for (int64_t r = 0; r < n_rows; r += CPU_TILE_ROWS) {
        if (rows != NULL) {
            cpu_tile16_unpack(type, w + (size_t)r * w_row_bytes, n_cols, rows);
            row_gemm(rows, w_row_bytes, CPU_TILE_ROWS, x, x_row_bytes, n_tokens, n_cols, y + r, y_stride);
        } else {
            for (int64_t t = 0; t < n_tokens; t++)
                for (int k = 0; k < CPU_TILE_ROWS; k++) y[t * y_stride + r + k] = __builtin_nanf("");
        }
    }
    free(rows);
}
