/* generate() test fixture: chat models from tests/tools/make_model and scripted conversations. */
#include "generate_fixture.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
        run_make_model("--arch qwen2 --embd 64 --ff 128 --heads 4 --kv-heads 2 --vocab 512 --ctx 1024 --seed 12",
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
    int n_words = 3 + (int)(state % 6);
    for (int i = 0; i < n_words && len + 16 < cap; i++) {
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        len += (size_t)snprintf(out + len, cap - len, " %s", words[(state >> 33) % (sizeof words / sizeof words[0])]);
    }
}

sllm_request *fixture_conversation_request(unsigned topic, int turn, const char (*reply_text)[512],
                                           const size_t *reply_len, const int32_t (*reply_tokens)[64],
                                           const size_t *reply_n_tokens) {
    static const char system_prompt[] = "You are a helpful assistant who answers in few words.";
    sllm_request *req = NULL;
    char user[512];
    ck_assert_int_eq(sllm_request_create(&req), SLLM_OK);
    ck_assert_int_eq(sllm_request_add_message(req, "system", system_prompt, strlen(system_prompt)), SLLM_OK);
    for (int t = 0; t <= turn; t++) {
        fixture_user_message(topic, t, user, sizeof user);
        ck_assert_int_eq(sllm_request_add_message(req, "user", user, strlen(user)), SLLM_OK);
        if (t == turn) break;
        ck_assert_msg(sllm_request_add_message_tokens(req, "assistant", reply_text[t], reply_len[t], reply_tokens[t],
                                                      reply_n_tokens[t]) == SLLM_OK,
                      "turn %d reply: %s", t, sllm_last_error());
    }
    return req;
}
