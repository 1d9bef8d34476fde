/* tile16 packing and unpacking (layout in cpu_tile.h). */
#include "backend/cpu/cpu_tile.h"

#include <string.h>

#include "backend/cpu/cpu_kernels.h"
#include "format/ggml_types.h"

typedef struct tile_shape {
    int block_bytes;    /* bytes of one block in row layout */
    int header_bytes;   /* fp16 fields before the quants: d (and m) */
    int quant_bytes;    /* 16 (nibbles) or 32 (Q8_0) */
    uint8_t flip;       /* XOR applied to quant bytes (Q8_0: 0x80 makes them unsigned) */
} tile_shape;

static bool shape_of(uint32_t type, tile_shape *shape) {
    switch (type) {
    case GGML_TYPE_Q4_0: *shape = (tile_shape){ 18, 2, 16, 0 }; return true;
    case GGML_TYPE_Q4_1: *shape = (tile_shape){ 20, 4, 16, 0 }; return true;
    case GGML_TYPE_Q8_0: *shape = (tile_shape){ 34, 2, 32, 0x80 }; return true;
    default: return false;
    }
}

bool cpu_tile16_supported(uint32_t type, int64_t n_rows, int64_t n_cols) {
    tile_shape shape;
    /* an even block count keeps every tile (and so every level load) 64-byte aligned */
    return shape_of(type, &shape) && n_rows > 0 && n_rows % CPU_TILE_ROWS == 0 && n_cols > 0 && n_cols % 64 == 0;
}

bool cpu_tile16_wanted(void) {
    cpu_features features = cpu_features_detect();
    const cpu_kernels *best = cpu_kernels_best(&features);
    return best->gemm_tile16[GGML_TYPE_Q4_0] != NULL;
}

/* Where bytes `byte`.. (a multiple of 4) of block b's quants of tile row r live, and where its fp16 header
 * field `field` (0: d, 1: m) lives, as offsets into the tile. */
static size_t level_offset(const tile_shape *shape, int64_t b, int r, int byte) {
    int words = shape->quant_bytes / 4;
    return (((size_t)b * (size_t)words + (size_t)(byte / 4)) * CPU_TILE_ROWS + (size_t)r) * 4;
}

static size_t header_offset(const tile_shape *shape, int64_t n_blocks, int64_t b, int r, int field) {
    size_t levels = (size_t)n_blocks * CPU_TILE_ROWS * (size_t)shape->quant_bytes;
    int fields = shape->header_bytes / 2;
    return levels + (((size_t)b * (size_t)fields + (size_t)field) * CPU_TILE_ROWS + (size_t)r) * 2;
}

/* Moves one tile between layouts; to_tile selects the direction. */
static void convert_tile(const tile_shape *shape, int64_t n_cols, uint8_t *rows, uint8_t *tile, bool to_tile) {
    int64_t n_blocks = n_cols / 32;
    size_t row_bytes = (size_t)n_blocks * (size_t)shape->block_bytes;
    for (int r = 0; r < CPU_TILE_ROWS; r++) {
        for (int64_t b = 0; b < n_blocks; b++) {
            uint8_t *block = rows + (size_t)r * row_bytes + (size_t)b * (size_t)shape->block_bytes;
            for (int field = 0; field < shape->header_bytes / 2; field++) {
                uint8_t *packed = tile + header_offset(shape, n_blocks, b, r, field);
                if (to_tile) memcpy(packed, block + 2 * field, 2);
                else memcpy(block + 2 * field, packed, 2);
            }
            uint8_t *quants = block + shape->header_bytes;
            uint32_t flip = shape->flip * 0x01010101u;
            for (int i = 0; i < shape->quant_bytes; i += 4) {
                uint8_t *packed = tile + level_offset(shape, b, r, i);
                uint32_t word;
                memcpy(&word, to_tile ? quants + i : packed, 4);
                word ^= flip;
                memcpy(to_tile ? packed : quants + i, &word, 4);
            }
        }
    }
}

void cpu_tile16_pack(uint32_t type, const uint8_t *src, int64_t n_rows, int64_t n_cols, uint8_t *dst) {
    tile_shape shape;
    if (!shape_of(type, &shape)) return;
    size_t tile_bytes = (size_t)(n_cols / 32) * (size_t)shape.block_bytes * CPU_TILE_ROWS;
    for (int64_t t = 0; t < n_rows / CPU_TILE_ROWS; t++)
        convert_tile(&shape, n_cols, (uint8_t *)(uintptr_t)(src + (size_t)t * tile_bytes), dst + (size_t)t * tile_bytes,
                     true);
}

void cpu_tile16_unpack(uint32_t type, const uint8_t *tile, int64_t n_cols, uint8_t *rows) {
    tile_shape shape;
    if (!shape_of(type, &shape)) return;
    convert_tile(&shape, n_cols, rows, (uint8_t *)(uintptr_t)tile, false);
}
