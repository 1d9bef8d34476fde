/* chat.c — a terminal chat. The conversation lives here, in the program: every turn builds
 * a fresh request from the whole history and re-sends it; the library's prefix cache makes
 * that cheap. Reads one user message per stdin line, so it also works piped:
 *     printf 'Hi!\nWhat did I just say?\n' | chat models/SmolLM2-135M-Instruct.Q4_1.gguf
 * Usage: chat [MODEL.gguf] [SYSTEM_PROMPT]; "/reset" starts over. */
#define _POSIX_C_SOURCE 200809L
#include <statelessllm.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct message {
    const char *role;       /* "system", "user" or "assistant" */
    char *content;
    int32_t *tokens;        /* assistant replies: the ids the library generated */
    size_t n_tokens;
} message;

typedef struct history {
    message *messages;
    size_t count, capacity;
} history;

static int history_add(history *h, const char *role, const char *content, size_t len,
                       const int32_t *tokens, size_t n_tokens) {
    if (h->count == h->capacity) {
        size_t capacity = h->capacity ? 2 * h->capacity : 16;
        message *grown = realloc(h->messages, capacity * sizeof *grown);
        if (!grown) return -1;
        h->messages = grown;
        h->capacity = capacity;
    }
    message *m = &h->messages[h->count];
    m->role = role;
    m->content = malloc(len + 1);
    m->tokens = n_tokens ? malloc(n_tokens * sizeof *tokens) : NULL;
    if (!m->content || (n_tokens && !m->tokens)) {
        free(m->content);
        free(m->tokens);
        return -1;
    }
    memcpy(m->content, content, len);
    m->content[len] = '\0';
    if (n_tokens) memcpy(m->tokens, tokens, n_tokens * sizeof *tokens);
    m->n_tokens = n_tokens;
    h->count++;
    return 0;
}

static void history_truncate(history *h, size_t count) {
    while (h->count > count) {
        message *m = &h->messages[--h->count];
        free(m->content);
        free(m->tokens);
    }
}

/* A fresh request holding the whole conversation. */
static sllm_status build_request(const history *h, sllm_request **out) {
    sllm_status status = sllm_request_create(out);
    for (size_t i = 0; i < h->count && status == SLLM_OK; i++) {
        const message *m = &h->messages[i];
        status = m->tokens
            ? sllm_request_add_message_tokens(*out, m->role, m->content, strlen(m->content),
                                              m->tokens, m->n_tokens)
            : sllm_request_add_message(*out, m->role, m->content, strlen(m->content));
    }
    return status;
}

static int print_chunk(void *user, const char *text, size_t len, const int32_t *tokens,
                       size_t n_tokens) {
    (void)user, (void)tokens, (void)n_tokens;
    fwrite(text, 1, len, stdout);
    fflush(stdout);
    return 0;  /* non-zero would stop the reply */
}

/* One turn: send the history plus `line`, stream the reply, keep both on success. */
static int chat_turn(sllm_cache *cache, history *h, const char *line, int interactive) {
    size_t before = h->count;
    sllm_request *request = NULL;
    sllm_result result;
    sllm_result_init(&result);
    sllm_generate_params params;
    sllm_generate_params_init(&params);
    params.max_tokens = 200;
    params.temperature = 0;  /* greedy and repeatable; try 0.7 with a seed for variety */
    int ok = 0;

    if (history_add(h, "user", line, strlen(line), NULL, 0) != 0) goto fail;
    if (build_request(h, &request) != SLLM_OK) goto fail;
    if (!interactive) printf("> %s\n", line);
    if (sllm_generate(cache, request, &params, print_chunk, NULL, &result) != SLLM_OK) goto fail;
    printf("\n[%llu prompt tokens, %llu from the cache, %llu generated, first token after %.0f ms]\n",
           (unsigned long long)result.prompt_tokens, (unsigned long long)result.cached_tokens,
           (unsigned long long)result.generated_tokens, result.ttft_ms);
    if (history_add(h, "assistant", result.text, result.text_len, result.tokens,
                    result.n_tokens) != 0) goto fail;
    ok = 1;
fail:
    if (!ok) {
        fprintf(stderr, "error: %s\n", sllm_last_error());
        history_truncate(h, before);  /* the failed turn never happened */
    }
    sllm_result_free(&result);
    sllm_request_free(request);
    return ok;
}

int main(int argc, char **argv) {
    const char *model_path = argc > 1 ? argv[1] : "models/SmolLM2-135M-Instruct.Q4_1.gguf";
    const char *system = argc > 2 ? argv[2] : "You are a helpful assistant.";
    int interactive = isatty(STDIN_FILENO);
    sllm_model *model = NULL;
    sllm_cache *cache = NULL;
    history h = {0};
    char *line = NULL;
    size_t line_capacity = 0;
    int exit_code = 1;

    if (sllm_model_load(model_path, NULL, &model) != SLLM_OK) goto fail;
    if (sllm_cache_create(model, NULL, &cache) != SLLM_OK) goto fail;
    if (history_add(&h, "system", system, strlen(system), NULL, 0) != 0) goto fail;
    if (interactive) printf("Chatting with %s. Ctrl-D quits, /reset starts over.\n", model_path);

    exit_code = 0;
    for (;;) {
        if (interactive) printf("> ");
        fflush(stdout);
        ssize_t len = getline(&line, &line_capacity, stdin);
        if (len < 0) break;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = '\0';
        if (len == 0) continue;
        if (strcmp(line, "/reset") == 0) {
            history_truncate(&h, 1);
            printf("[history cleared]\n");
            continue;
        }
        if (!chat_turn(cache, &h, line, interactive)) exit_code = 1;
    }
fail:
    if (exit_code != 0 && !cache) fprintf(stderr, "error: %s\n", sllm_last_error());
    free(line);
    history_truncate(&h, 0);
    free(h.messages);
    sllm_cache_free(cache);
    sllm_model_free(model);
    return exit_code;
}
