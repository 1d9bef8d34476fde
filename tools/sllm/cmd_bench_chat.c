/* `sllm bench chat`: N conversations x T turns, each turn re-sending the whole history,
 * with the prefix cache on and then off: per-turn time to first token, prompt tokens
 * computed vs total, and the share of the history served from the cache. */
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat_host.h"
#include "commands.h"

typedef struct bench_chat_options {
    const char *model_path;
    int n_conversations, n_turns, user_tokens, reply_tokens, n_threads;
    int64_t budget_mb;              /* 0: sized to hold every conversation */
    int interleave, as_json, no_baseline;
    int load_flags;
    int parallel;                   /* every conversation on its own thread, all at once */
    sllm_kv_dtype kv_dtype;
    const char *kv_type_name;
} bench_chat_options;

static const char *const bench_chat_usage =
    "usage: sllm bench chat -m MODEL [-c CONVERSATIONS] [-T TURNS] [-u USER_TOKENS] [-r REPLY_TOKENS]\n"
    "                       [-t THREADS] [--interleave | --parallel] [--budget-mb N] [--no-baseline] [--mmap]\n"
    "                       [--kv-type f16|bf16|f32|q8_0] [--json]\n"
    "\n"
    "Runs CONVERSATIONS (default 1) conversations of TURNS (default 20) turns. Every turn\n"
    "re-sends the whole history plus a new user message of about USER_TOKENS (default 60)\n"
    "tokens (slices of $SLLM_TESTDATA/text/war-and-peace.txt when present, else seeded\n"
    "pseudo-random words); replies are forced to exactly REPLY_TOKENS (default 64) greedy\n"
    "tokens. Conversations run one after the other, or with --interleave round-robin (turn 1\n"
    "of every conversation, then turn 2 of every, ...), or with --parallel each on its own\n"
    "thread, all at once (their steps share forward passes). Then the same again with prefix\n"
    "caching off (skip it with --no-baseline). Reported per turn: time to first token p50/p95\n"
    "across conversations, prompt tokens total and computed, and the hit ratio of the\n"
    "history: cached tokens / the tokens the previous turn held (its prompt and reply).\n"
    "--budget-mb defaults to a K/V budget that holds every conversation. -t defaults to 2.\n"
    "--kv-type picks the K/V element type (default f16; bf16 and q8_0 attend with bf16\n"
    "products, see docs/caching.md).\n"
    CLI_LOAD_OPTIONS_HELP;

static int parse_bench_chat_args(int argc, char **argv, bench_chat_options *opt) {
    *opt = (bench_chat_options){ NULL, 1, 20, 60, 64, 2, 0, 0, 0, 0, 0, 0, SLLM_KV_F16, "f16" };
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(arg, "--interleave") == 0) { opt->interleave = 1; continue; }
        if (strcmp(arg, "--parallel") == 0) { opt->parallel = 1; continue; }
        if (strcmp(arg, "--json") == 0) { opt->as_json = 1; continue; }
        if (strcmp(arg, "--no-baseline") == 0) { opt->no_baseline = 1; continue; }
        if (cli_parse_load_option(arg, &opt->load_flags)) continue;
        if (value == NULL) return 0;
        i++;
        if (strcmp(arg, "-m") == 0) opt->model_path = value;
        else if (strcmp(arg, "-c") == 0) opt->n_conversations = atoi(value);
        else if (strcmp(arg, "-T") == 0) opt->n_turns = atoi(value);
        else if (strcmp(arg, "-u") == 0) opt->user_tokens = atoi(value);
        else if (strcmp(arg, "-r") == 0) opt->reply_tokens = atoi(value);
        else if (strcmp(arg, "-t") == 0) opt->n_threads = atoi(value);
        else if (strcmp(arg, "--budget-mb") == 0) opt->budget_mb = atoll(value);
        else if (strcmp(arg, "--kv-type") == 0) {
            static const struct { const char *name; sllm_kv_dtype dtype; } kv_types[] = {
                { "f16", SLLM_KV_F16 }, { "bf16", SLLM_KV_BF16 }, { "f32", SLLM_KV_F32 }, { "q8_0", SLLM_KV_Q8_0 } };
            size_t k = 0;
            while (k < sizeof kv_types / sizeof kv_types[0] && strcmp(value, kv_types[k].name) != 0) k++;
            if (k == sizeof kv_types / sizeof kv_types[0]) return 0;
            opt->kv_dtype = kv_types[k].dtype;
            opt->kv_type_name = kv_types[k].name;
        } else return 0;
    }
    return opt->model_path && !(opt->interleave && opt->parallel) && opt->n_conversations >= 1 && opt->n_turns >= 1 && opt->user_tokens >= 1 &&
           opt->reply_tokens >= 1 && opt->n_threads >= 1 && opt->budget_mb >= 0;
}

/* ---- user messages ----------------------------------------------------------------- */

static const char *const bench_words[] = {
    "the", "river", "winter", "house", "garden", "letter", "morning", "soldier", "village", "window",
    "quiet", "bright", "old", "small", "green", "heavy", "gentle", "distant", "early", "warm",
    "walked", "spoke", "remembered", "carried", "opened", "watched", "asked", "found", "wrote", "heard",
    "and", "but", "because", "while", "after", "before", "under", "across", "toward", "with",
    "bread", "horse", "table", "mother", "friend", "road", "candle", "music", "storm", "field",
    "slowly", "never", "always", "again", "perhaps", "almost", "together", "suddenly", "still", "here",
    "question", "answer", "story", "number", "evening", "forest", "bridge", "doctor", "teacher", "market",
};

static uint64_t splitmix64(uint64_t *state) {
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

typedef struct word_source {
    char *text;                     /* the book, whitespace runs folded to one space; or NULL */
    size_t len;
} word_source;

static void word_source_open(word_source *source) {
    memset(source, 0, sizeof *source);
    const char *dir = getenv("SLLM_TESTDATA");
    if (dir == NULL) return;
    char path[4096];
    snprintf(path, sizeof path, "%s/text/war-and-peace.txt", dir);
    FILE *file = fopen(path, "rb");
    if (file == NULL) return;
    size_t capacity = 1 << 20, len = 0;
    char *text = malloc(capacity);
    int c, space = 1;
    while (text != NULL && (c = fgetc(file)) != EOF) {
        int is_space = c == ' ' || c == '\n' || c == '\r' || c == '\t';
        if (is_space && space) continue;
        space = is_space;
        if (len + 1 >= capacity) {
            char *grown = realloc(text, capacity *= 2);
            if (grown == NULL) { free(text); text = NULL; break; }
            text = grown;
        }
        text[len++] = is_space ? ' ' : (char)c;
    }
    fclose(file);
    if (text == NULL || len < 100000) { free(text); return; }
    text[len] = '\0';
    source->text = text;
    source->len = len;
}

static size_t count_tokens(const sllm_model *model, const char *text, size_t len) {
    size_t n_tokens = 0;
    sllm_tokenize(model, text, len, 0, NULL, 0, &n_tokens);
    return n_tokens;
}

/* Appends words (from the book at a seeded offset, or seeded random words) until the
 * text tokenizes to at least `target` tokens. */
static char *make_user_message(const sllm_model *model, const word_source *source, uint64_t seed, int target) {
    size_t capacity = 64 * (size_t)target + 256, len = 0;
    char *text = malloc(capacity);
    uint64_t state = seed;
    size_t cursor = 0;
    if (text == NULL) return NULL;
    if (source->text != NULL) {
        cursor = (size_t)(splitmix64(&state) % (source->len - 50000));
        while (source->text[cursor] != ' ') cursor++;
        cursor++;
    }
    text[0] = '\0';
    while (count_tokens(model, text, len) < (size_t)target) {
        const char *word = NULL;
        size_t word_len;
        if (source->text != NULL) {
            word = source->text + cursor;
            const char *end = strchr(word, ' ');
            word_len = end ? (size_t)(end - word) : strlen(word);
            cursor += word_len + 1;
        } else {
            word = bench_words[splitmix64(&state) % (sizeof bench_words / sizeof bench_words[0])];
            word_len = strlen(word);
        }
        if (len + word_len + 2 >= capacity) break;
        if (len > 0) text[len++] = ' ';
        memcpy(text + len, word, word_len);
        len += word_len;
        text[len] = '\0';
    }
    return text;
}

/* ---- one pass ---------------------------------------------------------------------- */

typedef struct turn_record {
    uint64_t prompt_tokens, cached_tokens, generated_tokens, history_tokens;
    double ttft_ms;
} turn_record;

typedef struct bench_pass {
    int prefix_caching;
    turn_record *records;           /* [conversation * n_turns + turn] */
    double wall_ms;
    uint64_t evictions, budget_bytes;
    uint64_t generated_tokens, forward_passes, batched_steps;
} bench_pass;

typedef struct bench_chat {
    const bench_chat_options *opt;
    sllm_model *model;
    char **messages;                /* [conversation * n_turns + turn] */
    int from_book;                  /* messages are slices of War and Peace */
    uint64_t budget_bytes;
} bench_chat;

static const char bench_system_prompt[] = "You are a helpful assistant. Continue the story the user tells.";

static sllm_status run_turn(bench_chat *bench, sllm_cache *cache, chat_history *history, const sllm_generate_params *params,
                            int conversation, int turn, turn_record *records) {
    int n_turns = bench->opt->n_turns;
    const char *message = bench->messages[conversation * n_turns + turn];
    sllm_status status = chat_history_add(history, "user", message, strlen(message), NULL, 0);
    sllm_result result;
    sllm_result_init(&result);
    if (status == SLLM_OK) status = chat_history_generate(history, cache, params, NULL, NULL, &result);
    if (status == SLLM_OK) {
        turn_record *record = &records[conversation * n_turns + turn];
        const turn_record *previous = turn > 0 ? record - 1 : NULL;
        *record = (turn_record){ result.prompt_tokens, result.cached_tokens, result.generated_tokens,
                                 previous ? previous->prompt_tokens + previous->generated_tokens : 0, result.ttft_ms };
    } else {
        fprintf(stderr, "sllm bench chat: conversation %d, turn %d: %s: %s\n", conversation + 1, turn + 1,
                sllm_status_string(status), sllm_last_error());
    }
    sllm_result_free(&result);
    return status;
}

/* --parallel: one conversation's turns on its own thread. */
typedef struct conversation_thread {
    bench_chat *bench;
    sllm_cache *cache;
    chat_history *history;
    const sllm_generate_params *params;
    int conversation;
    turn_record *records;
    sllm_status status;
} conversation_thread;

static void *run_conversation(void *arg) {
    conversation_thread *ct = arg;
    ct->status = SLLM_OK;
    for (int t = 0; t < ct->bench->opt->n_turns && ct->status == SLLM_OK; t++)
        ct->status = run_turn(ct->bench, ct->cache, ct->history, ct->params, ct->conversation, t, ct->records);
    return NULL;
}

static sllm_status run_parallel(bench_chat *bench, sllm_cache *cache, chat_history *histories,
                                const sllm_generate_params *params, turn_record *records) {
    const int n_conv = bench->opt->n_conversations;
    conversation_thread *threads = calloc((size_t)n_conv, sizeof *threads);
    pthread_t *ids = calloc((size_t)n_conv, sizeof *ids);
    int started = 0;
    sllm_status status = threads && ids ? SLLM_OK : SLLM_ERR_OUT_OF_MEMORY;
    for (; status == SLLM_OK && started < n_conv; started++) {
        threads[started] = (conversation_thread){ bench, cache, &histories[started], params, started, records, SLLM_OK };
        if (pthread_create(&ids[started], NULL, run_conversation, &threads[started]) != 0) status = SLLM_ERR_INTERNAL;
    }
    if (status != SLLM_OK) started--;   /* the failed pthread_create started nothing */
    for (int c = 0; c < started; c++) {
        pthread_join(ids[c], NULL);
        if (status == SLLM_OK) status = threads[c].status;
    }
    free(threads);
    free(ids);
    return status;
}

static int run_pass(bench_chat *bench, bench_pass *pass) {
    const bench_chat_options *opt = bench->opt;
    int n_conv = opt->n_conversations, n_turns = opt->n_turns, rc = 1;
    sllm_cache *cache = NULL;
    chat_history *histories = calloc((size_t)n_conv, sizeof *histories);
    pass->records = calloc((size_t)n_conv * (size_t)n_turns, sizeof *pass->records);
    if (histories == NULL || pass->records == NULL) goto done;
    sllm_cache_params cache_params;
    sllm_cache_params_init(&cache_params);
    cache_params.n_threads = opt->n_threads;
    cache_params.budget_bytes = bench->budget_bytes;
    cache_params.prefix_caching = pass->prefix_caching;
    cache_params.kv_dtype = opt->kv_dtype;
    sllm_status status = sllm_cache_create(bench->model, &cache_params, &cache);
    if (status != SLLM_OK) { cli_fail("cannot create the cache", status); goto done; }
    sllm_generate_params params;
    sllm_generate_params_init(&params);
    params.temperature = 0.0f;
    params.max_tokens = opt->reply_tokens;
    params.ignore_eos = 1;
    for (int c = 0; c < n_conv && status == SLLM_OK; c++)
        status = chat_history_add(&histories[c], "system", bench_system_prompt, strlen(bench_system_prompt), NULL, 0);
    double start = chat_now_ms();
    int n_steps = n_conv * n_turns;
    if (opt->parallel && status == SLLM_OK) status = run_parallel(bench, cache, histories, &params, pass->records);
    for (int step = 0; !opt->parallel && step < n_steps && status == SLLM_OK; step++) {
        int c = opt->interleave ? step % n_conv : step / n_turns;
        int t = opt->interleave ? step / n_conv : step % n_turns;
        status = run_turn(bench, cache, &histories[c], &params, c, t, pass->records);
    }
    pass->wall_ms = chat_now_ms() - start;
    if (status != SLLM_OK) goto done;
    sllm_cache_stats stats = { .struct_size = sizeof stats };
    sllm_cache_get_stats(cache, &stats);
    pass->evictions = stats.evictions;
    pass->budget_bytes = stats.bytes_total;
    pass->forward_passes = stats.forward_passes;
    pass->batched_steps = stats.batched_steps;
    for (int i = 0; i < n_steps; i++) pass->generated_tokens += pass->records[i].generated_tokens;
    rc = 0;
done:
    for (int c = 0; histories != NULL && c < n_conv; c++) chat_history_free(&histories[c]);
    free(histories);
    sllm_cache_free(cache);
    return rc;
}

/* ---- figures ----------------------------------------------------------------------- */

typedef struct turn_summary {
    double ttft_p50_ms, ttft_p95_ms;
    uint64_t prompt_tokens, cached_tokens, history_tokens;
} turn_summary;

static int compare_doubles(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted values. */
static double percentile(const double *sorted, int count, double p) {
    int rank = (int)ceil(p / 100.0 * count);
    return sorted[rank < 1 ? 0 : rank - 1];
}

static void summarize_turn(const bench_pass *pass, int n_conv, int n_turns, int turn, double *scratch,
                           turn_summary *out) {
    memset(out, 0, sizeof *out);
    for (int c = 0; c < n_conv; c++) {
        const turn_record *record = &pass->records[c * n_turns + turn];
        scratch[c] = record->ttft_ms;
        out->prompt_tokens += record->prompt_tokens;
        out->cached_tokens += record->cached_tokens;
        out->history_tokens += record->history_tokens;
    }
    qsort(scratch, (size_t)n_conv, sizeof *scratch, compare_doubles);
    out->ttft_p50_ms = percentile(scratch, n_conv, 50);
    out->ttft_p95_ms = percentile(scratch, n_conv, 95);
}

typedef struct pass_summary {
    turn_summary *turns;
    double history_hit_ratio;       /* turns 2..T: cached / history tokens */
    double ttft_ratio;              /* p50 TTFT of the last turn over the first's */
    uint64_t prompt_tokens, cached_tokens;
} pass_summary;

static int summarize_pass(const bench_pass *pass, int n_conv, int n_turns, pass_summary *out) {
    memset(out, 0, sizeof *out);
    double *scratch = malloc((size_t)n_conv * sizeof *scratch);
    out->turns = calloc((size_t)n_turns, sizeof *out->turns);
    if (scratch == NULL || out->turns == NULL) {
        free(scratch);
        return 1;
    }
    uint64_t history = 0, history_cached = 0;
    for (int t = 0; t < n_turns; t++) {
        turn_summary *s = &out->turns[t];
        summarize_turn(pass, n_conv, n_turns, t, scratch, s);
        out->prompt_tokens += s->prompt_tokens;
        out->cached_tokens += s->cached_tokens;
        if (t > 0) history += s->history_tokens, history_cached += s->cached_tokens;
    }
    out->history_hit_ratio = history ? (double)history_cached / (double)history : 0.0;
    out->ttft_ratio = out->turns[0].ttft_p50_ms > 0 ? out->turns[n_turns - 1].ttft_p50_ms / out->turns[0].ttft_p50_ms : 0.0;
    free(scratch);
    return 0;
}

static double ratio(uint64_t part, uint64_t whole) { return whole ? (double)part / (double)whole : 0.0; }

static void print_pass_text(const char *title, const bench_pass *pass, const pass_summary *summary, int n_turns) {
    printf("\n%s (%.1f s, %llu evictions)\n", title, pass->wall_ms / 1e3, (unsigned long long)pass->evictions);
    printf("turn  ttft p50 ms  ttft p95 ms  prompt tokens  computed  history  hit%%\n");
    for (int t = 0; t < n_turns; t++) {
        const turn_summary *s = &summary->turns[t];
        printf("%4d  %11.1f  %11.1f  %13llu  %8llu  %7llu  ", t + 1, s->ttft_p50_ms, s->ttft_p95_ms,
               (unsigned long long)s->prompt_tokens, (unsigned long long)(s->prompt_tokens - s->cached_tokens),
               (unsigned long long)s->history_tokens);
        if (t == 0) printf("   -\n");
        else printf("%5.1f\n", 100.0 * ratio(s->cached_tokens, s->history_tokens));
    }
    printf("history served from the cache, turns 2..%d: %.1f%% | prompt tokens computed %llu of %llu | "
           "ttft turn %d / turn 1: %.2fx\n", n_turns, 100.0 * summary->history_hit_ratio,
           (unsigned long long)(summary->prompt_tokens - summary->cached_tokens),
           (unsigned long long)summary->prompt_tokens, n_turns, summary->ttft_ratio);
    printf("generated %llu tokens in %.1f s (%.1f tokens/s over the run) | %llu forward passes, %llu steps in "
           "shared passes\n", (unsigned long long)pass->generated_tokens, pass->wall_ms / 1e3,
           pass->wall_ms > 0 ? 1e3 * (double)pass->generated_tokens / pass->wall_ms : 0.0,
           (unsigned long long)pass->forward_passes, (unsigned long long)pass->batched_steps);
}

static json_t *pass_json(const bench_pass *pass, const pass_summary *summary, int n_turns) {
    json_t *turns = json_array();
    for (int t = 0; turns && t < n_turns; t++) {
        const turn_summary *s = &summary->turns[t];
        json_array_append_new(turns, json_pack("{s:i, s:f, s:f, s:I, s:I, s:I, s:I, s:f}", "turn", t + 1,
                                               "ttft_p50_ms", s->ttft_p50_ms, "ttft_p95_ms", s->ttft_p95_ms,
                                               "prompt_tokens", (json_int_t)s->prompt_tokens,
                                               "cached_tokens", (json_int_t)s->cached_tokens,
                                               "computed_tokens", (json_int_t)(s->prompt_tokens - s->cached_tokens),
                                               "history_tokens", (json_int_t)s->history_tokens,
                                               "history_hit_ratio", ratio(s->cached_tokens, s->history_tokens)));
    }
    return json_pack("{s:b, s:f, s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:f, s:o}", "prefix_caching", pass->prefix_caching,
                     "wall_ms", pass->wall_ms, "evictions", (json_int_t)pass->evictions,
                     "generated_tokens", (json_int_t)pass->generated_tokens,
                     "forward_passes", (json_int_t)pass->forward_passes,
                     "batched_steps", (json_int_t)pass->batched_steps,
                     "prompt_tokens", (json_int_t)summary->prompt_tokens,
                     "cached_tokens", (json_int_t)summary->cached_tokens,
                     "history_hit_ratio_from_turn_2", summary->history_hit_ratio,
                     "ttft_last_over_first", summary->ttft_ratio, "turns", turns);
}

static void print_header_text(const bench_chat *bench) {
    const bench_chat_options *opt = bench->opt;
    printf("sllm bench chat: %s\n%d conversation(s) x %d turns (%s), user messages ~%d tokens (%s), replies %d "
           "tokens, %d threads, %s K/V budget %.1f MiB\n", opt->model_path, opt->n_conversations, opt->n_turns,
           opt->parallel ? "all at once, a thread each" : opt->interleave ? "interleaved" : "one after the other",
           opt->user_tokens,
           bench->from_book ? "War and Peace" : "pseudo-random words", opt->reply_tokens,
           opt->n_threads, opt->kv_type_name, (double)bench->budget_bytes / 1048576.0);
}

static int report(const bench_chat *bench, const bench_pass *passes, int n_passes) {
    const bench_chat_options *opt = bench->opt;
    pass_summary summaries[2];
    memset(summaries, 0, sizeof summaries);
    int rc = 0;
    for (int i = 0; i < n_passes; i++)
        rc |= summarize_pass(&passes[i], opt->n_conversations, opt->n_turns, &summaries[i]);
    if (rc == 0 && opt->as_json) {
        json_t *root = json_pack("{s:s, s:i, s:i, s:i, s:s, s:i, s:i, s:b, s:b, s:s, s:I, s:o, s:o?}", "model", opt->model_path,
                                 "conversations", opt->n_conversations, "turns", opt->n_turns,
                                 "user_tokens", opt->user_tokens,
                                 "user_text", bench->from_book ? "war-and-peace" : "random-words",
                                 "reply_tokens", opt->reply_tokens,
                                 "threads", opt->n_threads, "interleave", opt->interleave, "parallel", opt->parallel, "kv_type", opt->kv_type_name,
                                 "budget_bytes", (json_int_t)bench->budget_bytes,
                                 "cache", pass_json(&passes[0], &summaries[0], opt->n_turns),
                                 "no_cache", n_passes > 1 ? pass_json(&passes[1], &summaries[1], opt->n_turns) : NULL);
        rc = root == NULL || json_dumpf(root, stdout, JSON_INDENT(2)) != 0;
        printf("\n");
        json_decref(root);
    } else if (rc == 0) {
        print_header_text(bench);
        print_pass_text("prefix cache on", &passes[0], &summaries[0], opt->n_turns);
        if (n_passes > 1) print_pass_text("prefix cache off", &passes[1], &summaries[1], opt->n_turns);
    }
    for (int i = 0; i < n_passes; i++) free(summaries[i].turns);
    return rc;
}

/* ---- setup ------------------------------------------------------------------------- */

/* A budget that holds every conversation's final sequence with room to spare, so the
 * interleaved run measures sharing, not eviction. */
static int size_budget(bench_chat *bench) {
    const bench_chat_options *opt = bench->opt;
    if (opt->budget_mb > 0) {
        bench->budget_bytes = (uint64_t)opt->budget_mb << 20;
        return 0;
    }
    sllm_cache_params cache_params;
    sllm_cache_params_init(&cache_params);
    cache_params.n_threads = 1;
    cache_params.kv_dtype = opt->kv_dtype;     /* bytes per block */
    sllm_cache *probe = NULL;
    sllm_status status = sllm_cache_create(bench->model, &cache_params, &probe);
    if (status != SLLM_OK) return cli_fail("cannot create the cache", status);
    sllm_cache_stats stats = { .struct_size = sizeof stats };
    sllm_cache_get_stats(probe, &stats);
    sllm_cache_free(probe);
    uint64_t tokens_per_conversation = (uint64_t)opt->n_turns * (uint64_t)(opt->user_tokens + opt->reply_tokens + 32) + 64;
    uint64_t blocks = (uint64_t)opt->n_conversations * (tokens_per_conversation / cache_params.block_size + 2);
    bench->budget_bytes = (blocks + blocks / 4 + 16) * stats.bytes_per_block;
    return 0;
}

static int make_messages(bench_chat *bench) {
    const bench_chat_options *opt = bench->opt;
    size_t n_messages = (size_t)opt->n_conversations * (size_t)opt->n_turns;
    word_source source;
    word_source_open(&source);
    bench->from_book = source.text != NULL;
    bench->messages = calloc(n_messages, sizeof *bench->messages);
    int rc = bench->messages == NULL;
    for (size_t i = 0; rc == 0 && i < n_messages; i++)
        rc = (bench->messages[i] = make_user_message(bench->model, &source, 0x5eed0000 + i, opt->user_tokens)) == NULL;
    free(source.text);
    if (rc) fprintf(stderr, "sllm bench chat: out of memory for the user messages\n");
    return rc;
}

int cmd_bench_chat(int argc, char **argv) {
    bench_chat_options opt;
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        fputs(bench_chat_usage, stdout);
        return 0;
    }
    if (!parse_bench_chat_args(argc, argv, &opt)) {
        fputs(bench_chat_usage, stderr);
        return 2;
    }
    bench_chat bench = { &opt, NULL, NULL, 0, 0 };
    bench_pass passes[2] = { { .prefix_caching = 1 }, { .prefix_caching = 0 } };
    int n_passes = opt.no_baseline ? 1 : 2, rc = 1;
    if ((bench.model = cli_load_model(opt.model_path, opt.load_flags)) == NULL) return 1;
    int64_t needed = (int64_t)opt.n_turns * (opt.user_tokens + opt.reply_tokens + 16);
    if (needed > sllm_model_n_ctx(bench.model))
        fprintf(stderr, "sllm bench chat: warning: %d turns of ~%d + %d tokens need about %lld tokens; the "
                        "model's context is %lld\n", opt.n_turns, opt.user_tokens, opt.reply_tokens,
                (long long)needed, (long long)sllm_model_n_ctx(bench.model));
    if (size_budget(&bench) == 0 && make_messages(&bench) == 0) {
        rc = 0;
        for (int i = 0; i < n_passes && rc == 0; i++) rc = run_pass(&bench, &passes[i]);
        if (rc == 0) rc = report(&bench, passes, n_passes);
    }
    for (size_t i = 0; bench.messages != NULL && i < (size_t)opt.n_conversations * (size_t)opt.n_turns; i++)
        free(bench.messages[i]);
    free(bench.messages);
    for (int i = 0; i < 2; i++) free(passes[i].records);
    sllm_model_free(bench.model);
    return rc;
}
