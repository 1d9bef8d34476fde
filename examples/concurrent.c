/* concurrent.c — several threads share one model and one cache, each holding its own
 * conversations and re-sending them every turn. sllm_generate() is thread-safe on a cache;
 * conversations share their system prompt and each re-sent history hits the cache.
 * Usage: concurrent [MODEL.gguf] [THREADS] */
#include <statelessllm.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TURNS 3
#define CONVERSATIONS_PER_THREAD 2
#define MAX_THREADS 16

static const char *const SYSTEM = "You are a helpful assistant. Answer in one short sentence.";
static const char *const TOPICS[] = {"France", "Japan", "Brazil", "Canada", "Egypt", "India",
                                     "Italy", "Kenya"};
static const char *const FOLLOW_UPS[TURNS] = {"What is the capital of %s?",
                                              "What language is spoken in %s?",
                                              "Name a famous food from %s."};

typedef struct worker {
    int index;
    sllm_cache *cache;
    uint64_t prompt_tokens, cached_tokens;  /* this thread's totals */
    int failed;
    char error[256];
} worker;

/* One conversation, kept by this thread: a request that grows by each question and each
 * reply (with the reply's token ids, so the re-sent history is exactly what was computed). */
static int converse(worker *w, const char *topic) {
    sllm_request *request = NULL;
    sllm_result result;
    sllm_result_init(&result);
    sllm_generate_params params;
    sllm_generate_params_init(&params);
    params.max_tokens = 24;
    params.temperature = 0;
    int ok = 0;
    char question[128];

    if (sllm_request_create(&request) != SLLM_OK) goto fail;
    if (sllm_request_add_message(request, "system", SYSTEM, strlen(SYSTEM)) != SLLM_OK) goto fail;
    for (int turn = 0; turn < TURNS; turn++) {
        snprintf(question, sizeof question, FOLLOW_UPS[turn], topic);
        if (sllm_request_add_message(request, "user", question, strlen(question)) != SLLM_OK) goto fail;
        if (sllm_generate(w->cache, request, &params, NULL, NULL, &result) != SLLM_OK) goto fail;
        printf("thread %d %s turn %d: prompt %llu, cached %llu: %s\n", w->index, topic, turn + 1,
               (unsigned long long)result.prompt_tokens, (unsigned long long)result.cached_tokens,
               result.text);
        w->prompt_tokens += result.prompt_tokens;
        w->cached_tokens += result.cached_tokens;
        if (sllm_request_add_message_tokens(request, "assistant", result.text, result.text_len,
                                            result.tokens, result.n_tokens) != SLLM_OK) goto fail;
    }
    ok = 1;
fail:
    if (!ok) snprintf(w->error, sizeof w->error, "%s", sllm_last_error());  /* thread-local */
    sllm_result_free(&result);
    sllm_request_free(request);
    return ok;
}

static void *run_worker(void *arg) {
    worker *w = arg;
    for (int c = 0; c < CONVERSATIONS_PER_THREAD && !w->failed; c++) {
        const char *topic = TOPICS[(w->index * CONVERSATIONS_PER_THREAD + c) %
                                   (sizeof TOPICS / sizeof TOPICS[0])];
        if (!converse(w, topic)) w->failed = 1;
    }
    return NULL;
}

int main(int argc, char **argv) {
    const char *model_path = argc > 1 ? argv[1] : "models/SmolLM2-135M-Instruct.Q4_1.gguf";
    int n_threads = argc > 2 ? atoi(argv[2]) : 4;
    if (n_threads < 1 || n_threads > MAX_THREADS) n_threads = 4;
    sllm_model *model = NULL;
    sllm_cache *cache = NULL;
    worker workers[MAX_THREADS];
    pthread_t threads[MAX_THREADS];
    int started = 0, exit_code = 1;

    if (sllm_model_load(model_path, NULL, &model) != SLLM_OK) goto fail;
    sllm_cache_params cache_params;
    sllm_cache_params_init(&cache_params);
    cache_params.n_threads = 1;  /* parallelism comes from the requests here */
    if (sllm_cache_create(model, &cache_params, &cache) != SLLM_OK) goto fail;

    for (; started < n_threads; started++) {
        workers[started] = (worker){.index = started, .cache = cache};
        if (pthread_create(&threads[started], NULL, run_worker, &workers[started]) != 0) break;
    }
    exit_code = started == n_threads ? 0 : 1;
    for (int i = 0; i < started; i++) pthread_join(threads[i], NULL);

    for (int i = 0; i < started; i++) {
        const worker *w = &workers[i];
        if (w->failed) {
            fprintf(stderr, "thread %d failed: %s\n", i, w->error);
            exit_code = 1;
            continue;
        }
        printf("thread %d hit ratio %.3f (%llu of %llu prompt tokens from the cache)\n", i,
               w->prompt_tokens ? (double)w->cached_tokens / (double)w->prompt_tokens : 0.0,
               (unsigned long long)w->cached_tokens, (unsigned long long)w->prompt_tokens);
    }

    sllm_cache_stats stats = {.struct_size = sizeof stats};
    if (sllm_cache_get_stats(cache, &stats) != SLLM_OK) goto fail;
    printf("cache hit ratio %.3f: %llu requests, %llu of %llu prompt tokens hit; blocks: "
           "%llu cached, %llu free of %llu, %llu evictions\n",
           stats.query_tokens ? (double)stats.hit_tokens / (double)stats.query_tokens : 0.0,
           (unsigned long long)stats.requests, (unsigned long long)stats.hit_tokens,
           (unsigned long long)stats.query_tokens, (unsigned long long)stats.blocks_cached,
           (unsigned long long)stats.blocks_free, (unsigned long long)stats.blocks_total,
           (unsigned long long)stats.evictions);
fail:
    if (exit_code != 0 && !cache) fprintf(stderr, "error: %s\n", sllm_last_error());
    sllm_cache_free(cache);
    sllm_model_free(model);
    return exit_code;
}
