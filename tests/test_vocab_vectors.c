/* llama.cpp's tokenizer reference vectors: every ggml-vocab-*.gguf with its .inp/.out pair in
 * $SLLM_TESTDATA/vocab (and $SLLM_VOCAB_DIR) must tokenize exactly as the .out file says. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "statelessllm.h"
#include "testutil.h"

#define SEPARATOR "\n__ggml_vocab_test__\n"

/* Splits the .inp text as llama.cpp's test-tokenizer-0 does: at every separator; a text after
 * the last separator counts only when non-empty. */
static size_t split_inputs(char *inp, size_t size, char ***out_starts, size_t **out_lens) {
    size_t cap = 64, n = 0, pos = 0, sep_len = strlen(SEPARATOR);
    char **starts = malloc(cap * sizeof *starts);
    size_t *lens = malloc(cap * sizeof *lens);
    while (pos < size) {
        if (n == cap) {
            cap *= 2;
            starts = realloc(starts, cap * sizeof *starts);
            lens = realloc(lens, cap * sizeof *lens);
        }
        char *next = memmem(inp + pos, size - pos, SEPARATOR, sep_len);
        starts[n] = inp + pos;
        lens[n] = next ? (size_t)(next - (inp + pos)) : size - pos;
        n++;
        if (next == NULL) break;
        pos = (size_t)(next - inp) + sep_len;
    }
    *out_starts = starts;
    *out_lens = lens;
    return n;
}

/* Parses one line of space-separated ids. */
static size_t parse_ids(const char *line, size_t len, int32_t *ids, size_t cap) {
    size_t n = 0, i = 0;
    while (i < len) {
        while (i < len && (line[i] == ' ' || line[i] == '\r' || line[i] == '\t')) i++;
        if (i >= len) break;
        long value = strtol(line + i, NULL, 10);
        if (n < cap) ids[n] = (int32_t)value;
        n++;
        while (i < len && line[i] != ' ') i++;
    }
    return n;
}

/* Checks one vocabulary; returns the number of failing cases (and prints them). */
static int check_vocab(const char *gguf_path, int *n_cases) {
    char inp_path[1200], out_path[1200];
    snprintf(inp_path, sizeof inp_path, "%s.inp", gguf_path);
    snprintf(out_path, sizeof out_path, "%s.out", gguf_path);
    size_t inp_size = 0, out_size = 0;
    char *inp = (char *)testutil_read_file(inp_path, &inp_size);
    char *outp = (char *)testutil_read_file(out_path, &out_size);
    ck_assert_msg(inp && outp, "cannot read %s / %s", inp_path, out_path);

    sllm_model_params params;
    sllm_model_params_init(&params);
    params.metadata_only = 1;
    sllm_model *model = NULL;
    sllm_status status = sllm_model_load(gguf_path, &params, &model);
    ck_assert_msg(status == SLLM_OK, "%s: %s", gguf_path, sllm_last_error());
    ck_assert_msg(sllm_vocab_size(model) > 0, "%s: no tokenizer", gguf_path);

    char **starts;
    size_t *lens;
    size_t n_inputs = split_inputs(inp, inp_size, &starts, &lens);
    size_t n_lines = 0;
    for (size_t i = 0; i < out_size; i++) n_lines += outp[i] == '\n';
    if (out_size && outp[out_size - 1] != '\n') n_lines++;
    ck_assert_msg(n_inputs == n_lines, "%s: %zu inputs but %zu output lines", gguf_path, n_inputs, n_lines);

    int failures = 0;
    const char *line = outp;
    size_t cap = 1 << 16;
    int32_t *expected = malloc(cap * sizeof *expected), *got = malloc(cap * sizeof *got);
    for (size_t c = 0; c < n_inputs; c++) {
        const char *eol = memchr(line, '\n', (size_t)(outp + out_size - line));
        size_t line_len = eol ? (size_t)(eol - line) : (size_t)(outp + out_size - line);
        size_t n_expected = parse_ids(line, line_len, expected, cap);
        size_t n_got = 0;
        status = sllm_tokenize(model, starts[c], lens[c], 0, got, cap, &n_got);
        ck_assert_msg(status == SLLM_OK, "%s case %zu: %s", gguf_path, c, sllm_last_error());
        int same = n_got == n_expected && memcmp(got, expected, n_got * sizeof *got) == 0;
        if (!same) {
            failures++;
            printf("FAIL %s case %zu '%.*s'\n  expected:", gguf_path, c, (int)lens[c], starts[c]);
            for (size_t k = 0; k < n_expected; k++) printf(" %d", expected[k]);
            printf("\n  got:     ");
            for (size_t k = 0; k < n_got; k++) printf(" %d", got[k]);
            printf("\n");
        }
        line = eol ? eol + 1 : outp + out_size;
    }
    *n_cases = (int)n_inputs;
    free(expected);
    free(got);
    free(starts);
    free(lens);
    sllm_model_free(model);
    free(inp);
    free(outp);
    return failures;
}

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Runs check_vocab on every ggml-vocab-*.gguf in dir that has both companion files. */
static int check_dir(const char *dir, int *n_vocabs) {
    DIR *d = opendir(dir);
    if (d == NULL) return 0;
    int failures = 0;
    struct dirent *entry;
    while ((entry = readdir(d)) != NULL) {
        if (strncmp(entry->d_name, "ggml-vocab-", 11) != 0 || !ends_with(entry->d_name, ".gguf")) continue;
        char path[1024], inp[1200], out[1200];
        snprintf(path, sizeof path, "%s/%s", dir, entry->d_name);
        snprintf(inp, sizeof inp, "%s.inp", path);
        snprintf(out, sizeof out, "%s.out", path);
        FILE *fi = fopen(inp, "rb"), *fo = fopen(out, "rb");
        if (fi) fclose(fi);
        if (fo) fclose(fo);
        if (!fi || !fo) continue;
        int n_cases = 0;
        int failed = check_vocab(path, &n_cases);
        printf("%s: %d/%d cases match\n", entry->d_name, n_cases - failed, n_cases);
        failures += failed;
        (*n_vocabs)++;
    }
    closedir(d);
    return failures;
}

START_TEST(test_every_vocab_pair_matches_llama_cpp_reference_ids) {
    char buf[1024];
    const char *dir = testutil_data_path("vocab", buf, sizeof buf);
    int n_vocabs = 0, failures = 0;
    if (dir) failures += check_dir(dir, &n_vocabs);
    const char *extra = getenv("SLLM_VOCAB_DIR");
    if (extra && *extra) failures += check_dir(extra, &n_vocabs);
    if (dir == NULL && n_vocabs == 0) return; /* SKIP printed */
    ck_assert_msg(n_vocabs > 0, "no ggml-vocab-*.gguf with .inp/.out found");
    ck_assert_msg(failures == 0, "%d reference cases differ", failures);
}
END_TEST

START_TEST(test_both_shipped_vocab_pairs_are_present) {
    char buf[1024];
    if (testutil_data_path("vocab", buf, sizeof buf) == NULL) return;
    ck_assert_ptr_nonnull(testutil_data_path("vocab/ggml-vocab-llama-spm.gguf.inp", buf, sizeof buf));
    ck_assert_ptr_nonnull(testutil_data_path("vocab/ggml-vocab-gpt-2.gguf.out", buf, sizeof buf));
}
END_TEST

int main(void) {
    Suite *suite = suite_create("vocab_vectors");
    TCase *tc = tcase_create("reference");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_every_vocab_pair_matches_llama_cpp_reference_ids);
    tcase_add_test(tc, test_both_shipped_vocab_pairs_are_present);
    suite_add_tcase(suite, tc);
    return testutil_run_suite(suite) == 0 ? 0 : 1;
}
