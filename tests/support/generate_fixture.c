/* generate() test fixture: chat models from tests/tools/make_model and scripted conversations. */
#include "generate_fixture.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/generate.h"
#include "format/quantize.h"

static const char *const model_names[] = { "F32", "Q8_0", "Q4_K", "tiny" };
enum { N_MODELS = sizeof model_names / sizeof model_names[0] };

/* Written once by fixture_make_models() in main(), before any test runs; read-only after. */
static char model_dir[256];

static void model_path(const char *name, char *out, size_t cap) {
    snprintf(out, cap, "%s/%s.gguf", model_dir, name);
}

/* make_model is built next to the test binaries (tests/run_c_tests.sh exports BUILD). */
static int run_make_model(const char *args, const char *out_path) {
    const char *root = getenv("SLLM_ROOT");
    const char *build = getenv("BUILD");
    char tool[512], command[1536];
    snprintf(tool, sizeof tool, "%s/%s/tests/tools/make_model", root ? root : ".", build ? build : "build");
    if (access(tool, X_OK) != 0) {
        fprintf(stderr, "generate fixture: %s not found (build it with `make test-tools`)\n", tool);
        return 1;
    }
    snprintf(command, sizeof command, "'%s' %s '%s'", tool, args, out_path);
    if (system(command) != 0) {
        fprintf(stderr, "generate fixture: `%s` failed\n", command);
        return 1;
    }
    return 0;
}

int fixture_make_models(void) {
    const char *tmp = getenv("TMPDIR");
    snprintf(model_dir, sizeof model_dir, "%s/sllm-generate-XXXXXX", tmp ? tmp : "/tmp");
    if (mkdtemp(model_dir) == NULL) {
        perror("generate fixture: mkdtemp");
        return 1;
    }
    char f32[512], tiny[512], path[512];
    model_path("F32", f32, sizeof f32);
    model_path("tiny", tiny, sizeof tiny);
    /* Width 256 so that Q4_K (256-value blocks) and Q6_K really quantize every matrix. */
    if (run_make_model("--arch llama --embd 256 --ff 256 --heads 4 --kv-heads 2 --vocab 512 --ctx 1024 --seed 11",
                       f32) != 0 ||
        run_make_model("--arch qwen2 --embd 64 --ff 128 --heads 4 --kv-heads 2 --vocab 512 --ctx 512 --seed 12",
                       tiny) != 0)
        return 1;
    for (int i = 1; i <= 2; i++) {
        model_path(model_names[i], path, sizeof path);
        if (quantize_file(f32, path, model_names[i]) != SLLM_OK) {
            fprintf(stderr, "generate fixture: quantize %s: %s\n", model_names[i], sllm_last_error());
            return 1;
        }
    }
    return 0;
}

void fixture_remove_models(void) {
    char path[512];
    for (int i = 0; i < N_MODELS; i++) {
        model_path(model_names[i], path, sizeof path);
        unlink(path);
    }
    rmdir(model_dir);
}

sllm_model *fixture_load_model(const char *name) {
    char path[512];
    model_path(name, path, sizeof path);
    sllm_model *model = NULL;
    ck_assert_msg(sllm_model_load(path, NULL, &model) == SLLM_OK, "load %s: %s", path, sllm_last_error());
    return model;
}

static const char *const words[] = {
    "the", "cache", "keeps", "blocks", "of", "tokens", "and", "every", "turn", "sends", "whole",
    "history", "again", "so", "that", "nothing", "is", "lost", "when", "a", "reply", "ends",
    "quiet", "river", "stone", "light", "under", "green", "hills", "far", "away",
};

void fixture_user_message(unsigned topic, int turn, char *out, size_t cap) {
    uint64_t state = (uint64_t)topic * 1000003u + (uint64_t)turn * 7919u + 1;
    size_t len = (size_t)snprintf(out, cap, "T%d.%u:", turn, topic);
    int n_words = 2 + (int)(state % 4);
    for (int i = 0; i < n_words && len + 16 < cap; i++) {
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        len += (size_t)snprintf(out + len, cap - len, " %s", words[(state >> 33) % (sizeof words / sizeof words[0])]);
    }
}

void fixture_recording_init(fixture_recording *rec, const sllm_model *model) {
    memset(rec, 0, sizeof *rec);
    rec->n_vocab = sllm_model_n_vocab(model);
}

void fixture_recording_free(fixture_recording *rec) {
    free(rec->logits);
    rec->logits = NULL;
}

/* No ck_assert here: it runs on worker threads too. A failure is kept for the comparison. */
void fixture_record_logits(void *user, const float *logits, int64_t n_vocab) {
    fixture_recording *rec = user;
    if (rec->failed) return;
    if (n_vocab != rec->n_vocab) {
        rec->failed = 1;
        return;
    }
    if (rec->n_logits == rec->cap_logits) {
        size_t cap = rec->cap_logits ? 2 * rec->cap_logits : 64;
        float *grown = realloc(rec->logits, cap * (size_t)n_vocab * sizeof *grown);
        if (grown == NULL) {
            rec->failed = 1;
            return;
        }
        rec->logits = grown;
        rec->cap_logits = cap;
    }
    memcpy(rec->logits + rec->n_logits++ * (size_t)n_vocab, logits, (size_t)n_vocab * sizeof *logits);
}

void fixture_assert_recordings_equal(const fixture_recording *a, const fixture_recording *b, const char *what) {
    ck_assert_msg(!a->failed && !b->failed, "%s: recording the logits failed", what);
    ck_assert_msg(a->n_tokens == b->n_tokens, "%s: %zu tokens vs %zu", what, a->n_tokens, b->n_tokens);
    ck_assert_msg(memcmp(a->tokens, b->tokens, a->n_tokens * sizeof a->tokens[0]) == 0, "%s: tokens differ", what);
    ck_assert_msg(memcmp(a->turn_tokens, b->turn_tokens, sizeof a->turn_tokens) == 0, "%s: turn lengths differ", what);
    ck_assert_msg(memcmp(a->prompt, b->prompt, sizeof a->prompt) == 0, "%s: prompt lengths differ", what);
    ck_assert_msg(memcmp(a->finish, b->finish, sizeof a->finish) == 0, "%s: finish reasons differ", what);
    ck_assert_msg(a->n_logits == b->n_logits, "%s: %zu logits vectors vs %zu", what, a->n_logits, b->n_logits);
    for (size_t i = 0; i < a->n_logits; i++)
        ck_assert_msg(memcmp(a->logits + i * (size_t)a->n_vocab, b->logits + i * (size_t)b->n_vocab,
                             (size_t)a->n_vocab * sizeof(float)) == 0,
                      "%s: logits vector %zu differs", what, i);
}

fixture_conversation *fixture_conversation_create(unsigned topic, fixture_recording *rec) {
    fixture_conversation *conversation = calloc(1, sizeof *conversation);
    ck_assert_ptr_nonnull(conversation);
    conversation->topic = topic;
    conversation->rec = rec;
    return conversation;
}

static sllm_status conversation_request(const fixture_conversation *c, sllm_request **out) {
    static const char system_prompt[] = "Answer in few words.";
    char user[512];
    sllm_request *req = NULL;
    sllm_status status = sllm_request_create(&req);
    if (status == SLLM_OK) status = sllm_request_add_message(req, "system", system_prompt, strlen(system_prompt));
    for (int t = 0; t <= c->n_turns && status == SLLM_OK; t++) {
        fixture_user_message(c->topic, t, user, sizeof user);
        status = sllm_request_add_message(req, "user", user, strlen(user));
        if (status == SLLM_OK && t < c->n_turns)
            status = sllm_request_add_message_tokens(req, "assistant", c->reply_text[t], c->reply_len[t],
                                                     c->reply_tokens[t], c->reply_n_tokens[t]);
    }
    if (status != SLLM_OK) sllm_request_free(req);
    else *out = req;
    return status;
}

static void keep_result(fixture_conversation *c, const sllm_result *result) {
    int turn = c->n_turns;
    fixture_recording *rec = c->rec;
    memcpy(c->reply_text[turn], result->text, result->text_len);
    c->reply_len[turn] = result->text_len;
    memcpy(c->reply_tokens[turn], result->tokens, result->n_tokens * sizeof *result->tokens);
    c->reply_n_tokens[turn] = result->n_tokens;
    memcpy(rec->tokens + rec->n_tokens, result->tokens, result->n_tokens * sizeof *result->tokens);
    rec->n_tokens += result->n_tokens;
    rec->turn_tokens[turn] = result->n_tokens;
    rec->prompt[turn] = result->prompt_tokens;
    rec->cached[turn] = result->cached_tokens;
    rec->finish[turn] = result->finish_reason;
    c->n_turns++;
}

sllm_status fixture_try_turn(sllm_cache *cache, fixture_conversation *c, const sllm_generate_params *params,
                             char *error, size_t error_cap) {
    sllm_request *req = NULL;
    sllm_result result;
    sllm_result_init(&result);
    generate_hooks hooks = { fixture_record_logits, c->rec };
    sllm_status status = c->n_turns < FIXTURE_MAX_TURNS ? SLLM_OK : SLLM_ERR_INVALID_ARGUMENT;
    if (status == SLLM_OK) status = conversation_request(c, &req);
    if (status == SLLM_OK) status = engine_generate(cache, req, params, NULL, NULL, &result, &hooks);
    if (status != SLLM_OK) {
        snprintf(error, error_cap, "topic %u turn %d: %s", c->topic, c->n_turns, sllm_last_error());
    } else if (result.n_tokens > FIXTURE_MAX_REPLY || result.text_len >= sizeof c->reply_text[0]) {
        snprintf(error, error_cap, "topic %u turn %d: reply of %zu tokens, %zu bytes is too long", c->topic,
                 c->n_turns, result.n_tokens, result.text_len);
        status = SLLM_ERR_INTERNAL;
    } else {
        keep_result(c, &result);
    }
    sllm_result_free(&result);
    sllm_request_free(req);
    return status;
}

void fixture_play_turn(sllm_cache *cache, fixture_conversation *c, const sllm_generate_params *params) {
    char error[512];
    sllm_status status = fixture_try_turn(cache, c, params, error, sizeof error);
    ck_assert_msg(status == SLLM_OK, "%s", error);
}
