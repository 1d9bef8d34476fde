/* Quantizes raw float32 to a ggml type, or dequantizes raw blocks to float32, for the
 * Python reference tests: dump_quant quantize TYPE IN.f32 OUT.bin
 *                          dump_quant dequantize TYPE IN.bin N_ELEMENTS OUT.f32 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/cpu/cpu_quant.h"
#include "format/ggml_types.h"
#include "testutil.h"

static int type_by_name(const char *name) {
    for (uint32_t id = 0; id < GGML_TYPE_ID_LIMIT; id++) {
        const ggml_type_traits *traits = ggml_type_get(id);
        if (traits != NULL && strcmp(traits->name, name) == 0) return (int)id;
    }
    return -1;
}

static int write_file(const char *path, const void *data, size_t size) {
    FILE *f = fopen(path, "wb");
    if (f == NULL) return -1;
    size_t written = fwrite(data, 1, size, f);
    return fclose(f) == 0 && written == size ? 0 : -1;
}

int main(int argc, char **argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: %s quantize TYPE IN.f32 OUT.bin | dequantize TYPE IN.bin N OUT.f32\n", argv[0]);
        return 2;
    }
    int type = type_by_name(argv[2]);
    if (type < 0) {
        fprintf(stderr, "unknown type %s\n", argv[2]);
        return 2;
    }
    size_t in_size = 0;
    uint8_t *in = testutil_read_file(argv[3], &in_size);
    if (in == NULL) {
        fprintf(stderr, "cannot read %s\n", argv[3]);
        return 1;
    }
    int rc = 1;
    void *out = NULL;
    uint64_t bytes = 0;
    if (strcmp(argv[1], "quantize") == 0) {
        int64_t n = (int64_t)(in_size / sizeof(float));
        if (!ggml_row_size((uint32_t)type, n, &bytes) || (out = malloc(bytes + 1)) == NULL ||
            !cpu_quantize((uint32_t)type, (const float *)in, out, n)) {
            fprintf(stderr, "cannot quantize %lld values to %s\n", (long long)n, argv[2]);
            goto done;
        }
        rc = write_file(argv[4], out, bytes) == 0 ? 0 : 1;
    } else if (strcmp(argv[1], "dequantize") == 0 && argc == 6) {
        int64_t n = strtoll(argv[4], NULL, 10);
        if (!ggml_row_size((uint32_t)type, n, &bytes) || bytes > in_size ||
            (out = malloc((size_t)n * sizeof(float) + 1)) == NULL ||
            !cpu_dequantize((uint32_t)type, in, out, n)) {
            fprintf(stderr, "cannot dequantize %lld values of %s\n", (long long)n, argv[2]);
            goto done;
        }
        rc = write_file(argv[5], out, (size_t)n * sizeof(float)) == 0 ? 0 : 1;
    } else {
        fprintf(stderr, "unknown command %s\n", argv[1]);
    }
done:
    free(out);
    free(in);
    return rc;
}
