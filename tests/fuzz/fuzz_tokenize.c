/* libFuzzer target for the tokenizer: tokenize arbitrary bytes (special parsing on or off) with
 * the gpt-2 and llama-spm vocabularies, detokenize the result and arbitrary ids, and stream.
 * Vocabularies come from $SLLM_TESTDATA/vocab (default ../shared/testdata/vocab). Checks:
 * no crash or leak; byte-level BPE round-trips every input exactly; the streaming decoder's
 * output equals sllm_detokenize's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/model_internal.h"
#include "statelessllm.h"
#include "tokenizer/tokenizer.h"

static sllm_model *fuzz_models[2]; /* gpt-2, llama-spm; loaded once, read-only afterwards */

static sllm_model *load(const char *name) {
    const char *dir = getenv("SLLM_TESTDATA");
    char path[1024];
    snprintf(path, sizeof path, "%s/vocab/%s", dir ? dir : "../shared/testdata", name);
    sllm_model_params params;
    sllm_model_params_init(&params);
    params.metadata_only = 1;
    sllm_model *model = NULL;
    if (sllm_model_load(path, &params, &model) != SLLM_OK) {
        fprintf(stderr, "fuzz_tokenize: cannot load %s: %s\n", path, sllm_last_error());
        abort();
    }
    return model;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    fuzz_models[0] = load("ggml-vocab-gpt-2.gguf");
    fuzz_models[1] = load("ggml-vocab-llama-spm.gguf");
    return 0;
}

static void check_stream(const sllm_model *model, const int32_t *ids, size_t n_ids, const char *text,
                         size_t len) {
    tok_stream stream;
    tok_bytes out = { 0 };
    tok_stream_init(&stream, model->tokenizer, true);
    for (size_t i = 0; i < n_ids; i++)
        if (tok_stream_push(&stream, ids[i], &out) != SLLM_OK) abort();
    if (tok_stream_flush(&stream, &out) != SLLM_OK) abort();
    if (out.len != len || (len && memcmp(out.data, text, len) != 0)) abort();
    tok_bytes_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    const sllm_model *model = fuzz_models[data[0] & 1];
    uint32_t flags = (data[0] >> 1) & 3;
    const char *text = (const char *)data + 1;
    size_t len = size - 1, n_ids = 0, n_bytes = 0;

    sllm_status status = sllm_tokenize(model, text, len, flags, NULL, 0, &n_ids);
    if (status != SLLM_OK && status != SLLM_ERR_BUFFER_TOO_SMALL) abort();
    int32_t *ids = malloc((n_ids + 1) * sizeof *ids);
    if (sllm_tokenize(model, text, len, flags, ids, n_ids, &n_ids) != SLLM_OK) abort();

    status = sllm_detokenize(model, ids, n_ids, SLLM_DETOKENIZE_RENDER_SPECIAL, NULL, 0, &n_bytes);
    if (status != SLLM_OK && status != SLLM_ERR_BUFFER_TOO_SMALL) abort();
    char *back = malloc(n_bytes + 1);
    if (sllm_detokenize(model, ids, n_ids, SLLM_DETOKENIZE_RENDER_SPECIAL, back, n_bytes, &n_bytes) != SLLM_OK)
        abort();
    /* Byte-level BPE maps every byte, and rendered specials give their text back. */
    if ((data[0] & 1) == 0 && (n_bytes != len || memcmp(back, text, len) != 0)) abort();
    free(back);

    size_t n_keep = 0;
    sllm_detokenize(model, ids, n_ids, SLLM_DETOKENIZE_RENDER_SPECIAL | SLLM_DETOKENIZE_KEEP_LEADING_SPACE,
                    NULL, 0, &n_keep);
    char *kept = malloc(n_keep + 1);
    if (sllm_detokenize(model, ids, n_ids, SLLM_DETOKENIZE_RENDER_SPECIAL | SLLM_DETOKENIZE_KEEP_LEADING_SPACE,
                        kept, n_keep, &n_keep) != SLLM_OK)
        abort();
    check_stream(model, ids, n_ids, kept, n_keep);
    free(kept);
    free(ids);

    /* Arbitrary ids: valid ones detokenize, invalid ones are rejected. */
    size_t n_raw = len / 4;
    int32_t *raw = malloc((n_raw + 1) * sizeof *raw);
    memcpy(raw, text, n_raw * 4);
    status = sllm_detokenize(model, raw, n_raw, 0, NULL, 0, &n_bytes);
    if (status != SLLM_OK && status != SLLM_ERR_BUFFER_TOO_SMALL && status != SLLM_ERR_INVALID_TOKEN) abort();
    free(raw);
    return 0;
}
