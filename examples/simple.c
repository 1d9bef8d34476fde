/* simple.c — the shortest correct program: load a model, ask one question, print the reply.
 * Usage: simple [MODEL.gguf] [QUESTION] */
#include <statelessllm.h>

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv) {
    const char *model_path = argc > 1 ? argv[1] : "models/SmolLM2-135M-Instruct.Q4_1.gguf";
    const char *question = argc > 2 ? argv[2] : "What is the capital of France?";
    sllm_model *model = NULL;
    sllm_cache *cache = NULL;
    sllm_request *request = NULL;
    sllm_result result;
    sllm_result_init(&result);
    int exit_code = 1;

    /* Every call returns a status; sllm_last_error() says what went wrong. */
    if (sllm_model_load(model_path, NULL, &model) != SLLM_OK) goto fail;
    if (sllm_cache_create(model, NULL, &cache) != SLLM_OK) goto fail;
    if (sllm_request_create(&request) != SLLM_OK) goto fail;
    if (sllm_request_add_message(request, "user", question, strlen(question)) != SLLM_OK) goto fail;

    sllm_generate_params params;
    sllm_generate_params_init(&params);
    params.max_tokens = 64;
    params.temperature = 0;  /* greedy: the same answer every run */
    if (sllm_generate(cache, request, &params, NULL, NULL, &result) != SLLM_OK) goto fail;

    printf("%s\n", result.text);
    exit_code = 0;
fail:
    if (exit_code != 0) fprintf(stderr, "error: %s\n", sllm_last_error());
    sllm_result_free(&result);
    sllm_request_free(request);
    sllm_cache_free(cache);
    sllm_model_free(model);
    return exit_code;
}
