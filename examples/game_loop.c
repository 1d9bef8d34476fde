/* game_loop.c — a frame loop that must never block on the model. Generation runs on a
 * worker thread; its stream callback appends text to a mutex-protected buffer, and every
 * frame the loop takes whatever arrived (here it just prints it, as a game would append
 * it to an NPC's speech bubble). The loop keeps its frame rate while the model computes,
 * and could cancel the reply at any frame with sllm_cancel().
 * Usage: game_loop [MODEL.gguf] [PLAYER_LINE]   (reads the line from stdin when piped) */
#define _POSIX_C_SOURCE 200809L
#include <statelessllm.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define FRAME_NS 16666667L      /* 60 frames per second */
#define MAX_FRAMES (60 * 120)   /* give up (cancel) after two minutes */

/* Shared between the worker and the frame loop; every field under `lock`. */
typedef struct npc_speech {
    pthread_mutex_t lock;
    char *text;                 /* everything streamed so far */
    size_t len, capacity;
    size_t shown;               /* how much of it the frame loop has displayed */
    int done;                   /* the worker has returned */
    sllm_status status;
    char error[256];
} npc_speech;

typedef struct job {
    sllm_cache *cache;
    sllm_request *request;
    npc_speech *speech;
    sllm_result result;
} job;

/* Runs on the worker thread, inside sllm_generate(): only appends, never blocks long. */
static int on_text(void *user, const char *text, size_t len, const int32_t *tokens,
                   size_t n_tokens) {
    (void)tokens, (void)n_tokens;
    npc_speech *speech = user;
    int keep_going = 1;
    pthread_mutex_lock(&speech->lock);
    if (speech->len + len + 1 > speech->capacity) {
        size_t capacity = 2 * (speech->len + len + 1);
        char *grown = realloc(speech->text, capacity);
        if (grown) {
            speech->text = grown;
            speech->capacity = capacity;
        } else {
            keep_going = 0;
        }
    }
    if (keep_going) {
        memcpy(speech->text + speech->len, text, len);
        speech->len += len;
        speech->text[speech->len] = '\0';
    }
    pthread_mutex_unlock(&speech->lock);
    return keep_going ? 0 : 1;
}

static void *generate_reply(void *arg) {
    job *j = arg;
    sllm_generate_params params;
    sllm_generate_params_init(&params);
    params.max_tokens = 48;
    params.temperature = 0;
    sllm_status status = sllm_generate(j->cache, j->request, &params, on_text, j->speech, &j->result);
    pthread_mutex_lock(&j->speech->lock);
    j->speech->status = status;
    if (status != SLLM_OK)  /* the message is thread-local: copy it here, on this thread */
        snprintf(j->speech->error, sizeof j->speech->error, "%s", sllm_last_error());
    j->speech->done = 1;
    pthread_mutex_unlock(&j->speech->lock);
    return NULL;
}

/* One frame's look at the speech: prints new text; returns 1 once the reply is complete. */
static int poll_speech(npc_speech *speech) {
    pthread_mutex_lock(&speech->lock);
    if (speech->len > speech->shown) {
        printf("%.*s", (int)(speech->len - speech->shown), speech->text + speech->shown);
        fflush(stdout);
        speech->shown = speech->len;
    }
    int finished = speech->done;
    pthread_mutex_unlock(&speech->lock);
    return finished;
}

static void read_player_line(int argc, char **argv, char *line, size_t size) {
    snprintf(line, size, "%s", argc > 2 ? argv[2] : "Greetings, innkeeper! Any rumours today?");
    if (argc <= 2 && !isatty(STDIN_FILENO) && fgets(line, (int)size, stdin)) {
        line[strcspn(line, "\r\n")] = '\0';
    }
}

int main(int argc, char **argv) {
    const char *model_path = argc > 1 ? argv[1] : "models/SmolLM2-135M-Instruct.Q4_1.gguf";
    static const char system[] = "You are Mira, the friendly innkeeper of a fantasy village. "
                                 "Answer in two sentences.";
    char player[512];
    read_player_line(argc, argv, player, sizeof player);
    sllm_model *model = NULL;
    sllm_cache *cache = NULL;
    npc_speech speech = {.lock = PTHREAD_MUTEX_INITIALIZER};
    job j = {.speech = &speech};
    sllm_result_init(&j.result);
    int exit_code = 1, worker_started = 0;

    if (sllm_model_load(model_path, NULL, &model) != SLLM_OK) goto fail;
    if (sllm_cache_create(model, NULL, &cache) != SLLM_OK) goto fail;
    if (sllm_request_create(&j.request) != SLLM_OK) goto fail;
    if (sllm_request_add_message(j.request, "system", system, strlen(system)) != SLLM_OK) goto fail;
    if (sllm_request_add_message(j.request, "user", player, strlen(player)) != SLLM_OK) goto fail;
    j.cache = cache;

    printf("Player: %s\nMira: ", player);
    pthread_t worker;
    if (pthread_create(&worker, NULL, generate_reply, &j) != 0) goto fail;
    worker_started = 1;

    long frame = 0;
    int finished = 0;
    while (!finished) {
        /* ... update the world, draw the frame ... */
        finished = poll_speech(&speech);
        if (frame == MAX_FRAMES) sllm_cancel(j.request);  /* never wait on the model */
        nanosleep(&(struct timespec){0, FRAME_NS}, NULL);
        frame++;
    }
    pthread_join(worker, NULL);
    printf("\n[%ld frames rendered while the reply streamed in; %llu tokens]\n", frame,
           (unsigned long long)j.result.generated_tokens);
    if (speech.status != SLLM_OK) {
        fprintf(stderr, "error: %s\n", speech.error);
        goto fail;
    }
    exit_code = 0;
fail:
    if (exit_code != 0 && !worker_started) fprintf(stderr, "error: %s\n", sllm_last_error());
    sllm_result_free(&j.result);
    sllm_request_free(j.request);
    sllm_cache_free(cache);
    sllm_model_free(model);
    free(speech.text);
    return exit_code;
}
