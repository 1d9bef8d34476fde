/* `sllm chat`: an interactive or replayed chat in which the CLI is the host: it keeps the
 * message list and re-sends all of it every turn, and the cache makes that cheap. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chat_host.h"
#include "chat_json.h"
#include "commands.h"
#include "sampling_options.h"

typedef struct chat_options {
    const char *model_path, *system, *template_name, *replay_path;
    int64_t n_threads, max_tokens, budget_mb;
    cli_sampling sampling;
    int max_tokens_set;
    int no_cache, as_json, help;
    int load_flags;
} chat_options;

static const char *const chat_usage =
    "usage: sllm chat -m MODEL [-t THREADS] [-n MAX_TOKENS] [--system TEXT] [sampling options]\n"
    "                 [--template NAME] [--budget-mb N] [--no-cache] [--json]\n"
    "                 [--replay FILE.json] [--logprobs] [--top-logprobs N] [--mmap]\n"
    "\n"
    "Chats with MODEL. The CLI keeps the conversation and re-sends all of it every turn\n"
    "(replies with the token ids they were generated as); the library keeps no session,\n"
    "its prefix cache serves the history. After each reply a status line on stderr shows\n"
    "prompt, cached and generated tokens, time to first token and decode speed.\n"
    "\n"
    "Interactive: one user message per line on stdin (a terminal or a pipe). /reset clears\n"
    "the history (keeps the system prompt), /stats prints the cache statistics (fields and\n"
    "Prometheus text), /quit or end of input ends.\n"
    "\n"
    "  -t THREADS        compute threads (default: one per online core)\n"
    "  -n MAX_TOKENS     reply length limit (default 256)\n"
    "  --system TEXT     system prompt\n"
    "  --template NAME   chat template family (default: detected from the GGUF)\n"
    "  --budget-mb N     K/V cache size in MiB (default 256)\n"
    "  --no-cache        recompute every prompt (prefix caching off), for comparison\n"
    "  --json            one JSON object per turn (JSON Lines) instead of text\n"
    "  --temp T          temperature, 0 is greedy (default 0)\n"
    CLI_SAMPLING_HELP
    CLI_LOAD_OPTIONS_HELP
    "\n"
    "--replay FILE.json runs a scripted conversation without a terminal:\n"
    "  {\"system\": \"You are ...\", \"turns\": [\"user message 1\", \"user message 2\"],\n"
    "   \"temperature\": 0, \"seed\": 0, \"max_tokens\": 64}\n"
    "Only \"turns\" is required; options given on the command line override the file's.\n"
    "With --json each line holds: turn, user, text, tokens, finish_reason, prompt_tokens,\n"
    "cached_tokens, generated_tokens, ttft_ms, prefill_ms, decode_ms, total_ms, and\n"
    "logprobs / top_logprobs when asked.\n";

/* Options without a value. */
static int parse_flag(const char *arg, chat_options *opt) {
    if (strcmp(arg, "--no-cache") == 0) opt->no_cache = 1;
    else if (strcmp(arg, "--json") == 0) opt->as_json = 1;
    else if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) opt->help = 1;
    else return cli_parse_load_option(arg, &opt->load_flags);
    return 1;
}

static int parse_option(const char *arg, const char *value, chat_options *opt) {
    if (strcmp(arg, "-m") == 0) opt->model_path = value;
    else if (strcmp(arg, "-t") == 0) return cli_parse_int64(value, &opt->n_threads) && opt->n_threads >= 0;
    else if (strcmp(arg, "-n") == 0)
        return opt->max_tokens_set = cli_parse_int64(value, &opt->max_tokens) && opt->max_tokens >= INT32_MIN &&
                                     opt->max_tokens <= INT32_MAX;
    else if (strcmp(arg, "--system") == 0) opt->system = value;
    else if (strcmp(arg, "--template") == 0) opt->template_name = value;
    else if (strcmp(arg, "--budget-mb") == 0) return cli_parse_int64(value, &opt->budget_mb) && opt->budget_mb >= 0;
    else if (strcmp(arg, "--replay") == 0) opt->replay_path = value;
    else return 0;
    return 1;
}

static int parse_chat_args(int argc, char **argv, chat_options *opt) {
    *opt = (chat_options){ .max_tokens = 256 };
    cli_sampling_init(&opt->sampling, 0.0);
    for (int i = 1; i < argc; i++) {
        if (parse_flag(argv[i], opt)) continue;
        cli_parse_outcome outcome = cli_sampling_parse("chat", argv[i], i + 1 < argc ? argv[i + 1] : NULL, &opt->sampling);
        if (outcome == CLI_PARSE_BAD) return 0;
        if (outcome == CLI_PARSE_FLAG) continue;
        if (outcome == CLI_PARSE_NOT_MINE && (i + 1 >= argc || !parse_option(argv[i], argv[i + 1], opt))) {
            fprintf(stderr, "sllm chat: unknown option, or a missing or bad value: %s%s%s\n", argv[i],
                    i + 1 < argc ? " " : "", i + 1 < argc ? argv[i + 1] : "");
            return 0;
        }
        i++;
    }
    if (opt->help) return 1;
    if (opt->model_path == NULL) fprintf(stderr, "sllm chat: -m MODEL is required\n");
    else return 1;
    return 0;
}

/* The script's settings where the command line did not give one. */
static void apply_script(const chat_script *script, chat_options *opt) {
    if (script->has_temperature && !opt->sampling.temperature_set) opt->sampling.temperature = script->temperature;
    if (script->has_seed && !opt->sampling.seed_set) opt->sampling.seed = script->seed;
    if (script->has_max_tokens && !opt->max_tokens_set) opt->max_tokens = script->max_tokens;
    if (script->system != NULL && opt->system == NULL) opt->system = script->system;
}

typedef struct chat_session {
    const chat_options *opt;
    sllm_model *model;
    sllm_cache *cache;
    sllm_generate_params params;
    chat_history history;
    size_t n_fixed;         /* messages /reset keeps: the system prompt */
    int turn;
} chat_session;

static int open_session(chat_session *session, const chat_options *opt) {
    memset(session, 0, sizeof *session);
    session->opt = opt;
    if ((session->model = cli_load_model(opt->model_path, opt->load_flags)) == NULL) return 1;
    sllm_cache_params cache_params;
    sllm_cache_params_init(&cache_params);
    cache_params.n_threads = opt->n_threads > INT32_MAX ? INT32_MAX : (int)opt->n_threads;
    cache_params.prefix_caching = !opt->no_cache;
    if (opt->budget_mb > 0) cache_params.budget_bytes = (uint64_t)opt->budget_mb << 20;
    sllm_status status = sllm_cache_create(session->model, &cache_params, &session->cache);
    if (status != SLLM_OK) return cli_fail("cannot create the cache", status);
    sllm_generate_params *params = &session->params;
    sllm_generate_params_init(params);
    cli_sampling_apply(&opt->sampling, params);
    params->max_tokens = (int32_t)opt->max_tokens;
    params->chat_template = opt->template_name;
    if (opt->system != NULL) {
        if (chat_history_add(&session->history, "system", opt->system, strlen(opt->system), NULL, 0) != SLLM_OK)
            return cli_fail("cannot store the system prompt", SLLM_ERR_OUT_OF_MEMORY);
        session->n_fixed = 1;
    }
    return 0;
}

static void close_session(chat_session *session) {
    chat_history_free(&session->history);
    sllm_cache_free(session->cache);
    sllm_model_free(session->model);
}

static int stream_to_stdout(void *user, const char *text, size_t text_len, const int32_t *tokens, size_t n_tokens) {
    fwrite(text, 1, text_len, stdout);
    fflush(stdout);
    return 0;
}

static void print_status(const sllm_result *result) {
    double tokens_per_s = result->decode_ms > 0 ? 1e3 * (double)result->generated_tokens / result->decode_ms : 0.0;
    fprintf(stderr, "[prompt %llu tokens, cached %llu, computed %llu | generated %llu | ttft %.1f ms | %.1f tokens/s]\n",
            (unsigned long long)result->prompt_tokens, (unsigned long long)result->cached_tokens,
            (unsigned long long)(result->prompt_tokens - result->cached_tokens),
            (unsigned long long)result->generated_tokens, result->ttft_ms, tokens_per_s);
}

/* Sends the history plus `user_text`. On failure the user message is dropped again, so
 * an interactive user can go on (e.g. after /reset when the context is full). */
static int chat_turn(chat_session *session, const char *user_text, int show_user) {
    const chat_options *opt = session->opt;
    size_t n_before = session->history.n_messages;
    if (chat_history_add(&session->history, "user", user_text, strlen(user_text), NULL, 0) != SLLM_OK)
        return cli_fail("cannot store the message", SLLM_ERR_OUT_OF_MEMORY);
    session->turn++;
    if (show_user && !opt->as_json) printf("user: %s\nassistant: ", user_text);
    fflush(stdout);
    sllm_result result;
    sllm_result_init(&result);
    sllm_status status = chat_history_generate(&session->history, session->cache, &session->params,
                                               opt->as_json ? NULL : stream_to_stdout, NULL, &result);
    int rc = 0;
    if (status != SLLM_OK) {
        if (!opt->as_json) printf("\n");
        fflush(stdout);
        chat_history_truncate(&session->history, n_before);
        session->turn--;
        rc = cli_fail("generation failed", status);
    } else if (opt->as_json) {
        rc = chat_result_write_json(stdout, session->turn, user_text, &result);
        if (rc != 0) fprintf(stderr, "sllm chat: cannot write turn %d as JSON\n", session->turn);
    } else {
        printf("\n");
        fflush(stdout);
        print_status(&result);
    }
    sllm_result_free(&result);
    return rc;
}

static void print_stats(const chat_session *session) {
    sllm_cache_stats stats = { .struct_size = sizeof stats };
    if (sllm_cache_get_stats(session->cache, &stats) != SLLM_OK) return;
    printf("requests %llu | prompt tokens %llu, served from the cache %llu (%.1f%%) | blocks %llu: "
           "%llu used, %llu cached, %llu free | evictions %llu | %.1f MiB, %llu bytes per block\n",
           (unsigned long long)stats.requests, (unsigned long long)stats.query_tokens,
           (unsigned long long)stats.hit_tokens,
           stats.query_tokens ? 100.0 * (double)stats.hit_tokens / (double)stats.query_tokens : 0.0,
           (unsigned long long)stats.blocks_total, (unsigned long long)stats.blocks_used,
           (unsigned long long)stats.blocks_cached, (unsigned long long)stats.blocks_free,
           (unsigned long long)stats.evictions, (double)stats.bytes_total / 1048576.0,
           (unsigned long long)stats.bytes_per_block);
    size_t len = 0;
    char text[4096];
    if (sllm_cache_stats_prometheus(session->cache, text, sizeof text, &len) == SLLM_OK) fputs(text, stdout);
    fflush(stdout);
}

static void strip_line_end(char *line) {
    size_t len = strlen(line);
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = '\0';
}

/* Generation errors end a piped chat (exit 1) but not a terminal one. */
static int run_interactive(chat_session *session) {
    int tty = isatty(STDIN_FILENO), rc = 0;
    char *line = NULL;
    size_t capacity = 0;
    for (;;) {
        if (tty) {
            fputs("> ", stdout);
            fflush(stdout);
        }
        if (getline(&line, &capacity, stdin) < 0) break;
        strip_line_end(line);
        if (line[0] == '\0') continue;
        if (strcmp(line, "/quit") == 0) break;
        if (strcmp(line, "/reset") == 0) {
            chat_history_truncate(&session->history, session->n_fixed);
            fputs("[history cleared]\n", stderr);
        } else if (strcmp(line, "/stats") == 0) {
            print_stats(session);
        } else if (chat_turn(session, line, 0) != 0 && !tty) {
            rc = 1;
            break;
        }
    }
    free(line);
    return rc;
}

static int run_replay(chat_session *session, const chat_script *script) {
    for (size_t i = 0; i < script->n_turns; i++)
        if (chat_turn(session, script->turns[i], 1) != 0) return 1;
    return 0;
}

int cmd_chat(int argc, char **argv) {
    chat_options opt;
    if (!parse_chat_args(argc, argv, &opt)) {
        fputs(chat_usage, stderr);
        return 2;
    }
    if (opt.help) {
        fputs(chat_usage, stdout);
        return 0;
    }
    chat_script script;
    memset(&script, 0, sizeof script);
    if (opt.replay_path != NULL) {
        if (chat_script_load(opt.replay_path, &script) != 0) return 1;
        apply_script(&script, &opt);
    }
    chat_session session;
    int rc = open_session(&session, &opt);
    if (rc == 0) rc = opt.replay_path != NULL ? run_replay(&session, &script) : run_interactive(&session);
    close_session(&session);
    chat_script_free(&script);
    return rc;
}
