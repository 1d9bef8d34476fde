/* `sllm quantize IN.gguf OUT.gguf TYPE`: re-quantize a model file. */
#include <string.h>

#include "commands.h"
#include "format/quantize.h"

int cmd_quantize(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: sllm quantize IN.gguf OUT.gguf TYPE\n"
                        "  TYPE: F32 F16 BF16 Q8_0 Q4_0 Q4_1 Q5_0 Q5_1 Q4_K Q5_K Q6_K, or llama.cpp's\n"
                        "        mixes Q4_K_S Q4_K_M Q5_K_S Q5_K_M (see docs/formats.md)\n");
        return 2;
    }
    sllm_status status = quantize_file(argv[1], argv[2], argv[3]);
    if (status != SLLM_OK) return cli_fail("quantize", status);
    printf("wrote %s (%s)\n", argv[2], argv[3]);
    return 0;
}
