/* Tests for the byte-level BPE pre-tokenizers and the Unicode tables under them. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "support/testutil.h"
#include "tokenizer/pretokenize.h"
#include "tokenizer/unicode.h"

/* Expected pieces below are worked out by hand from llama.cpp's regexes for each
 * family (src/llama-vocab.cpp) and its custom splitters for GPT-2 and Llama 3
 * (src/unicode.cpp), not taken from this code's output. */

static void check_split_at(pretok_kind kind, const char *text, size_t len, const char *const *pieces,
                           size_t n_pieces, int line) {
    pretok_span *spans = NULL;
    size_t n_spans = 0, capacity = 0;
    sllm_status status = pretok_split(kind, text, len, &spans, &n_spans, &capacity);
    ck_assert_msg(status == SLLM_OK, "line %d: status %d (%s)", line, status, sllm_last_error());
    char got[2048];
    size_t used = 0;
    for (size_t i = 0; i < n_spans && used < sizeof got - 8; i++)
        used += (size_t)snprintf(got + used, sizeof got - used, "[%.*s]", (int)spans[i].len, text + spans[i].start);
    ck_assert_msg(n_spans == n_pieces, "line %d: %zu pieces, expected %zu: %s", line, n_spans, n_pieces, got);
    size_t pos = 0;
    for (size_t i = 0; i < n_pieces; i++) {
        size_t piece_len = strlen(pieces[i]);
        ck_assert_msg(spans[i].start == pos && spans[i].len == piece_len &&
                          memcmp(text + pos, pieces[i], piece_len) == 0,
                      "line %d: piece %zu is wrong, expected [%s]: %s", line, i, pieces[i], got);
        pos += piece_len;
    }
    ck_assert_msg(pos == len, "line %d: expected pieces do not cover the text", line);
    free(spans);
}

#define PIECES(...) ((const char *const[]){__VA_ARGS__})
#define N_PIECES(...) (sizeof PIECES(__VA_ARGS__) / sizeof(const char *))
#define CHECK_SPLIT(kind, text, ...) \
    check_split_at(kind, text, sizeof(text) - 1, PIECES(__VA_ARGS__), N_PIECES(__VA_ARGS__), __LINE__)

START_TEST(test_gpt2_splits_words_contractions_and_spaces) {
    CHECK_SPLIT(PRETOK_DEFAULT, "Hello world", "Hello", " world");
    /* Contractions are case-sensitive in GPT-2: "'M" is punctuation then a letter. */
    CHECK_SPLIT(PRETOK_DEFAULT, "I'm you're it's we've they'll he'd I'M", "I", "'m", " you", "'re", " it", "'s",
                " we", "'ve", " they", "'ll", " he", "'d", " I", "'", "M");
    /* \s+(?!\S): of a run before a word, all but the last space form one piece and
     * the last space attaches to the word. */
    CHECK_SPLIT(PRETOK_DEFAULT, "  hello", " ", " hello");
    CHECK_SPLIT(PRETOK_DEFAULT, "hello   world", "hello", "  ", " world");
    /* A run at the end of the text stays whole. */
    CHECK_SPLIT(PRETOK_DEFAULT, "end  ", "end", "  ");
    /* Only a plain space attaches; a newline or tab is left on its own. */
    CHECK_SPLIT(PRETOK_DEFAULT, "a\n\nb", "a", "\n", "\n", "b");
    CHECK_SPLIT(PRETOK_DEFAULT, "x \ty", "x", " ", "\t", "y");
    CHECK_SPLIT(PRETOK_DEFAULT, "12345 678", "12345", " 678");
    CHECK_SPLIT(PRETOK_DEFAULT, "hello!!! ...", "hello", "!!!", " ...");
    CHECK_SPLIT(PRETOK_DEFAULT, "a+b=c;", "a", "+", "b", "=", "c", ";");
    /* mpt and phi-2 use the GPT-2 regex unchanged. */
    CHECK_SPLIT(PRETOK_MPT, "it's 2024!", "it", "'s", " 2024", "!");
    CHECK_SPLIT(PRETOK_PHI2, "  x\r\n", " ", " x", "\r\n");
}
END_TEST

START_TEST(test_gpt2_classifies_non_ascii_by_category) {
    CHECK_SPLIT(PRETOK_DEFAULT, "café naïve", "café", " naïve");
    /* U+0301 COMBINING ACUTE ACCENT is a mark (Mn), not a letter: it breaks the word. */
    CHECK_SPLIT(PRETOK_DEFAULT, "cafe\xcc\x81s", "cafe", "\xcc\x81", "s");
    CHECK_SPLIT(PRETOK_DEFAULT, "你好世界 你好", "你好世界", " 你好");
    /* 👋 (So) and the skin-tone modifier 🏽 (Sk) are symbols, grouped with '!'. */
    CHECK_SPLIT(PRETOK_DEFAULT, "hi 👋🏽!", "hi", " 👋🏽!");
    /* Arabic-Indic digits are \p{N}. */
    CHECK_SPLIT(PRETOK_DEFAULT, "x ٣٤", "x", " ٣٤");
    /* NO-BREAK SPACE is whitespace but not ' ', so it does not attach. */
    CHECK_SPLIT(PRETOK_DEFAULT, "a\xc2\xa0" "b", "a", "\xc2\xa0", "b");
    /* U+2028 LINE SEPARATOR is whitespace; U+200B ZERO WIDTH SPACE (Cf) is not. */
    CHECK_SPLIT(PRETOK_DEFAULT, "a\xe2\x80\xa8" "b", "a", "\xe2\x80\xa8", "b");
    CHECK_SPLIT(PRETOK_DEFAULT, "a\xe2\x80\x8b" "b", "a", "\xe2\x80\x8b", "b");
}
END_TEST

START_TEST(test_gpt2_treats_invalid_bytes_as_replacement_symbols) {
    /* llama.cpp turns each invalid byte into U+FFFD (So): they join symbol runs. */
    CHECK_SPLIT(PRETOK_DEFAULT, "a\xff\xfe" "b", "a", "\xff\xfe", "b");
    CHECK_SPLIT(PRETOK_DEFAULT, "!\x80 x", "!\x80", " x");
    /* A truncated sequence: the lead byte alone is invalid, then the text resumes. */
    CHECK_SPLIT(PRETOK_DEFAULT, "ab\xe2\x82", "ab", "\xe2\x82");
    CHECK_SPLIT(PRETOK_DEFAULT, " \xe2\x82" "c", " \xe2\x82", "c");
}
END_TEST

START_TEST(test_gpt2_keeps_nul_as_a_control_piece) {
    const char text[] = "a\0b !\0";
    pretok_span *spans = NULL;
    size_t n_spans = 0, capacity = 0;
    ck_assert_int_eq(pretok_split(PRETOK_DEFAULT, text, sizeof text - 1, &spans, &n_spans, &capacity), SLLM_OK);
    /* NUL (Cc) is "other" like punctuation: "a" "\0" "b" " !\0". */
    size_t expected[][2] = {{0, 1}, {1, 1}, {2, 1}, {3, 3}};
    ck_assert_uint_eq(n_spans, 4);
    for (size_t i = 0; i < 4; i++) {
        ck_assert_uint_eq(spans[i].start, expected[i][0]);
        ck_assert_uint_eq(spans[i].len, expected[i][1]);
    }
    free(spans);
}
END_TEST

START_TEST(test_llama3_groups_digits_by_three_and_folds_contraction_case) {
    CHECK_SPLIT(PRETOK_LLAMA3, "Hello world", "Hello", " world");
    CHECK_SPLIT(PRETOK_LLAMA3, "I'M YOU'RE don't", "I", "'M", " YOU", "'RE", " don", "'t");
    CHECK_SPLIT(PRETOK_LLAMA3, "12345", "123", "45");
    CHECK_SPLIT(PRETOK_LLAMA3, "1234567", "123", "456", "7");
    /* The number does not take the space: " " then "123". */
    CHECK_SPLIT(PRETOK_LLAMA3, "a 123", "a", " ", "123");
}
END_TEST

START_TEST(test_llama3_attaches_one_non_letter_prefix_and_newlines) {
    /* [^\r\n\p{L}\p{N}]?\p{L}+ : any single non-letter, non-digit, non-newline
     * (a tab, '$', '(') starts a word. */
    CHECK_SPLIT(PRETOK_LLAMA3, "x \ty", "x", " ", "\ty");
    CHECK_SPLIT(PRETOK_LLAMA3, "$hello (world)", "$hello", " (", "world", ")");
    /* \s*[\r\n]+ takes a whitespace run up to its last newline. */
    CHECK_SPLIT(PRETOK_LLAMA3, "hello\n\nworld", "hello", "\n\n", "world");
    CHECK_SPLIT(PRETOK_LLAMA3, "a\r\nb", "a", "\r\n", "b");
    CHECK_SPLIT(PRETOK_LLAMA3, "  \n  x", "  \n", " ", " x");
    /* Punctuation takes the newlines after it. */
    CHECK_SPLIT(PRETOK_LLAMA3, "a.\n\nb", "a", ".\n\n", "b");
    CHECK_SPLIT(PRETOK_LLAMA3, "hi  ", "hi", "  ");
    CHECK_SPLIT(PRETOK_LLAMA3, "héllo wörld 我爱北京", "héllo", " wörld", " 我爱北京");
    CHECK_SPLIT(PRETOK_LLAMA3, "🙂🙂 ok", "🙂🙂", " ok");
    /* An invalid byte (U+FFFD, a symbol) is a valid prefix for a word, as is NUL. */
    CHECK_SPLIT(PRETOK_LLAMA3, "a\xff" "b", "a", "\xff" "b");
}
END_TEST

START_TEST(test_qwen2_and_stablelm2_split_single_digits) {
    CHECK_SPLIT(PRETOK_QWEN2, "12345", "1", "2", "3", "4", "5");
    CHECK_SPLIT(PRETOK_QWEN2, "abc 42\n\nx", "abc", " ", "4", "2", "\n\n", "x");
    CHECK_SPLIT(PRETOK_STABLELM2, "I'LL pay 10$", "I", "'LL", " pay", " ", "1", "0", "$");
}
END_TEST

START_TEST(test_smollm_family_splits_digits_then_applies_gpt2) {
    /* First \p{N} isolates every digit, then the GPT-2 regex splits what is left. */
    CHECK_SPLIT(PRETOK_SMOLLM, "abc 123def", "abc", " ", "1", "2", "3", "def");
    CHECK_SPLIT(PRETOK_STARCODER, "x1y", "x", "1", "y");
    CHECK_SPLIT(PRETOK_REFACT, "I'm  ok", "I", "'m", " ", " ok");
    CHECK_SPLIT(PRETOK_COMMAND_R, "v2.0", "v", "2", ".", "0");
}
END_TEST

START_TEST(test_falcon_splits_punctuation_then_gpt2_then_digit_triples) {
    CHECK_SPLIT(PRETOK_FALCON, "Hello, world!", "Hello", ",", " world", "!");
    /* " 1234567" from GPT-2, then [0-9]{3} leftmost: " " "123" "456" "7". */
    CHECK_SPLIT(PRETOK_FALCON, "a 1234567", "a", " ", "123", "456", "7");
    /* "<=" is split off before GPT-2 sees it, stranding the space before it. */
    CHECK_SPLIT(PRETOK_FALCON, "x <= y", "x", " ", "<=", " y");
    CHECK_SPLIT(PRETOK_FALCON, "`a`", "`", "a", "`");
}
END_TEST

START_TEST(test_llama_cpp_default_chain_differs_from_gpt2) {
    CHECK_SPLIT(PRETOK_LLAMA_CPP_DEFAULT, "a 1234567", "a", " ", "123", "456", "7");
    /* The backtick is not in the default's first class: GPT-2 groups " `". */
    CHECK_SPLIT(PRETOK_LLAMA_CPP_DEFAULT, "x `y`", "x", " `", "y", "`");
    CHECK_SPLIT(PRETOK_LLAMA_CPP_DEFAULT, "Hi, you", "Hi", ",", " you");
}
END_TEST

START_TEST(test_deepseek_coder_applies_its_regex_sequence) {
    CHECK_SPLIT(PRETOK_DEEPSEEK_CODER, "def foo():\n    return 42", "def", " foo", "():", "\n", "   ", " return", " ",
                "4", "2");
    /* Each \r and \n is a piece of its own. */
    CHECK_SPLIT(PRETOK_DEEPSEEK_CODER, "a\r\nb", "a", "\r", "\n", "b");
    /* CJK runs are split out of a gap; a space before them stays separate. */
    CHECK_SPLIT(PRETOK_DEEPSEEK_CODER, "x+ 你好", "x", "+", " ", "你好");
}
END_TEST

START_TEST(test_deepseek_llm_applies_its_regex_sequence) {
    CHECK_SPLIT(PRETOK_DEEPSEEK_LLM, "Hello, 世界! 123\n", "Hello", ",", " ", "世界", "!", " ", "123", "\n");
    /* The letter class takes "café", but the next regex's class [!-/:-~...] spans
     * ASCII letters and not "é", so it splits "caf" from "é"; \s+$ then isolates
     * the trailing spaces. */
    CHECK_SPLIT(PRETOK_DEEPSEEK_LLM, "café  ", "caf", "é", "  ");
    /* U+3000 IDEOGRAPHIC SPACE is whitespace, so \s? takes it before "。" in the
     * punctuation regex; then "。" (U+3002) is inside the CJK range U+0800..U+4E00
     * while U+3000 is not (llama.cpp replaces non-ASCII whitespace by U+000B). */
    CHECK_SPLIT(PRETOK_DEEPSEEK_LLM, "好\xe3\x80\x80\xe3\x80\x82", "好", "\xe3\x80\x80", "\xe3\x80\x82");
}
END_TEST

START_TEST(test_names_map_to_kinds) {
    struct {
        const char *name;
        pretok_kind kind;
    } cases[] = {
        {"gpt-2", PRETOK_DEFAULT},         {"llama-bpe", PRETOK_LLAMA3},   {"llama3", PRETOK_LLAMA3},
        {"llama-v3", PRETOK_LLAMA3},       {"qwen2", PRETOK_QWEN2},        {"smollm", PRETOK_SMOLLM},
        {"deepseek-llm", PRETOK_DEEPSEEK_LLM}, {"deepseek-coder", PRETOK_DEEPSEEK_CODER},
        {"falcon", PRETOK_FALCON},         {"starcoder", PRETOK_STARCODER}, {"refact", PRETOK_REFACT},
        {"mpt", PRETOK_MPT},               {"phi-2", PRETOK_PHI2},         {"stablelm2", PRETOK_STABLELM2},
        {"command-r", PRETOK_COMMAND_R},   {"olmo", PRETOK_MPT},           {"default", PRETOK_LLAMA_CPP_DEFAULT},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        pretok_kind kind = (pretok_kind)-1;
        ck_assert_int_eq(pretok_kind_from_name(cases[i].name, strlen(cases[i].name), &kind), SLLM_OK);
        ck_assert_msg(kind == cases[i].kind, "%s -> %d", cases[i].name, kind);
    }
    pretok_kind kind = PRETOK_DEFAULT;
    ck_assert_int_eq(pretok_kind_from_name(NULL, 0, &kind), SLLM_OK);
    ck_assert_int_eq(kind, PRETOK_LLAMA_CPP_DEFAULT);
    /* Not NUL-terminated: only the first len bytes count. */
    ck_assert_int_eq(pretok_kind_from_name("qwen2xyz", 5, &kind), SLLM_OK);
    ck_assert_int_eq(kind, PRETOK_QWEN2);
}
END_TEST

START_TEST(test_unknown_name_is_rejected_with_the_name) {
    pretok_kind kind;
    ck_assert_int_eq(pretok_kind_from_name("tekken-99", 9, &kind), SLLM_ERR_UNSUPPORTED_TOKENIZER);
    ck_assert_ptr_nonnull(strstr(sllm_last_error(), "'tekken-99'"));
    ck_assert_int_eq(pretok_kind_from_name("gpt-2 ", 6, &kind), SLLM_ERR_UNSUPPORTED_TOKENIZER);
}
END_TEST

START_TEST(test_empty_text_gives_no_pieces) {
    pretok_span *spans = NULL;
    size_t n_spans = 7, capacity = 0;
    ck_assert_int_eq(pretok_split(PRETOK_LLAMA3, "", 0, &spans, &n_spans, &capacity), SLLM_OK);
    ck_assert_uint_eq(n_spans, 0);
    ck_assert_int_eq(pretok_split(PRETOK_LLAMA3, NULL, 0, &spans, &n_spans, &capacity), SLLM_OK);
    ck_assert_int_eq(pretok_split(PRETOK_LLAMA3, "x", 1, NULL, &n_spans, &capacity), SLLM_ERR_INVALID_ARGUMENT);
    free(spans);
}
END_TEST

/* For every kind, random bytes (mostly ASCII, some UTF-8, some garbage) split into
 * non-empty pieces that tile the text, in one call that reuses the buffer. */
START_TEST(test_pieces_tile_random_text_for_every_kind) {
    static const char *alphabet[] = {"a", "Z", " ", " ", "\n", "\r", "\t", "1", "'", "s", "!", "$", "`",
                                     "é", "世", "\xcc\x81", "\xc2\xa0", "\xe3\x80\x80", "\xff", "\x80", "\xe2\x82", "\0"};
    unsigned seed = 12345;
    char text[512];
    pretok_span *spans = NULL;
    size_t n_spans = 0, capacity = 0;
    for (int kind = PRETOK_DEFAULT; kind <= PRETOK_LLAMA_CPP_DEFAULT; kind++) {
        for (int round = 0; round < 200; round++) {
            size_t len = 0;
            while (len < sizeof text - 4) {
                seed = seed * 1103515245u + 12345u;
                unsigned pick = (seed >> 16) % (sizeof alphabet / sizeof alphabet[0]);
                size_t piece_len = pick == 21 ? 1 : strlen(alphabet[pick]);
                memcpy(text + len, alphabet[pick], piece_len);
                len += piece_len;
                if (((seed >> 8) & 63) == 0) break;
            }
            ck_assert_int_eq(pretok_split((pretok_kind)kind, text, len, &spans, &n_spans, &capacity), SLLM_OK);
            size_t pos = 0;
            for (size_t i = 0; i < n_spans; i++) {
                ck_assert_uint_eq(spans[i].start, pos);
                ck_assert_uint_gt(spans[i].len, 0);
                pos += spans[i].len;
            }
            ck_assert_uint_eq(pos, len);
        }
    }
    free(spans);
}
END_TEST

START_TEST(test_one_megabyte_of_one_character_is_linear_and_whole) {
    size_t len = 1 << 20;
    char *text = malloc(len);
    ck_assert_ptr_nonnull(text);
    pretok_span *spans = NULL;
    size_t n_spans = 0, capacity = 0;
    memset(text, ' ', len);
    for (int kind = PRETOK_DEFAULT; kind <= PRETOK_LLAMA_CPP_DEFAULT; kind++) {
        ck_assert_int_eq(pretok_split((pretok_kind)kind, text, len, &spans, &n_spans, &capacity), SLLM_OK);
        ck_assert_uint_eq(n_spans, 1);
    }
    memset(text, 'a', len);
    ck_assert_int_eq(pretok_split(PRETOK_LLAMA3, text, len, &spans, &n_spans, &capacity), SLLM_OK);
    ck_assert_uint_eq(n_spans, 1);
    /* Spaces then one letter: DeepSeek LLM's \s+$ must not rescan the run. */
    memset(text, ' ', len);
    text[len - 1] = '#';
    ck_assert_int_eq(pretok_split(PRETOK_DEEPSEEK_LLM, text, len, &spans, &n_spans, &capacity), SLLM_OK);
    ck_assert_uint_eq(n_spans, 2);
    free(spans);
    free(text);
}
END_TEST

START_TEST(test_decode_matches_llama_cpp_leniency) {
    size_t n;
    ck_assert_uint_eq(unicode_decode_utf8((const uint8_t *)"\xe2\x82\xac", 3, &n), 0x20AC);
    ck_assert_uint_eq(n, 3);
    ck_assert_uint_eq(unicode_decode_utf8((const uint8_t *)"\xf0\x9f\x99\x82", 4, &n), 0x1F642);
    ck_assert_uint_eq(n, 4);
    /* Overlong NUL is accepted by llama.cpp's decoder. */
    ck_assert_uint_eq(unicode_decode_utf8((const uint8_t *)"\xc0\x80", 2, &n), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_uint_eq(unicode_decode_utf8((const uint8_t *)"\xe2\x82", 2, &n), UNICODE_REPLACEMENT);
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(unicode_decode_utf8((const uint8_t *)"\x80", 1, &n), UNICODE_REPLACEMENT);
    ck_assert_uint_eq(unicode_decode_utf8((const uint8_t *)"\xf8\x80\x80\x80", 4, &n), UNICODE_REPLACEMENT);
    ck_assert_uint_eq(unicode_utf8_valid_prefix((const uint8_t *)"ab\xc3\xa9\xc0\x80", 6), 4);
    ck_assert_uint_eq(unicode_utf8_valid_prefix((const uint8_t *)"\xed\xa0\x80", 3), 0);
    ck_assert_uint_eq(unicode_utf8_valid_prefix((const uint8_t *)"\xf4\x8f\xbf\xbf", 4), 4);
    ck_assert_uint_eq(unicode_utf8_valid_prefix((const uint8_t *)"\xf4\x90\x80\x80", 4), 0);
    uint8_t out[4];
    ck_assert_uint_eq(unicode_encode_utf8(0x1F642, out), 4);
    ck_assert_int_eq(memcmp(out, "\xf0\x9f\x99\x82", 4), 0);
    ck_assert_uint_eq(unicode_encode_utf8(0x110000, out), 0);
}
END_TEST

START_TEST(test_whitespace_is_the_white_space_property) {
    static const uint32_t white[] = {0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x20, 0x85, 0xA0, 0x1680, 0x2000,
                                     0x2005, 0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000};
    static const uint32_t not_white[] = {0x1C, 0x1F, 0x08, 0x200B, 0x180E, 0xFEFF, 0x2060, 'a'};
    for (size_t i = 0; i < sizeof white / sizeof white[0]; i++)
        ck_assert_msg(unicode_flags(white[i]) & UNICODE_WHITESPACE, "U+%04X", white[i]);
    for (size_t i = 0; i < sizeof not_white / sizeof not_white[0]; i++)
        ck_assert_msg(!(unicode_flags(not_white[i]) & UNICODE_WHITESPACE), "U+%04X", not_white[i]);
}
END_TEST

static uint16_t category_flag(const char *category) {
    switch (category[0]) {
    case 'L': return UNICODE_LETTER;
    case 'N': return UNICODE_NUMBER;
    case 'P': return UNICODE_PUNCTUATION;
    case 'S': return UNICODE_SYMBOL;
    case 'M': return UNICODE_MARK;
    case 'Z': return UNICODE_SEPARATOR;
    default: return UNICODE_CONTROL;
    }
}

/* Reads Debian's UnicodeData.txt itself and checks every listed code point (and
 * every code point of each First/Last range), plus that unlisted ones are Cn. */
START_TEST(test_categories_match_unicode_data_txt) {
    FILE *f = fopen("/usr/share/unicode/UnicodeData.txt", "r");
    if (!f) {
        printf("SKIP: /usr/share/unicode/UnicodeData.txt absent (Debian package unicode-data)\n");
        return;
    }
    static uint8_t listed[0x110000];
    memset(listed, 0, sizeof listed);
    char line[512];
    uint32_t range_first = 0;
    size_t n_checked = 0;
    while (fgets(line, sizeof line, f)) {
        char *name = strchr(line, ';');
        char *category = name ? strchr(name + 1, ';') : NULL;
        if (!category) continue;
        uint32_t cp = (uint32_t)strtoul(line, NULL, 16);
        uint16_t want = category_flag(category + 1);
        uint32_t first = cp;
        if (strstr(name, ", First>")) {
            range_first = cp;
            continue;
        }
        if (strstr(name, ", Last>")) first = range_first;
        for (uint32_t c = first; c <= cp; c++) {
            uint16_t got = unicode_flags(c) & 0xFF;
            ck_assert_msg(got == want, "U+%04X: flags 0x%x, UnicodeData.txt says %.2s", c, got, category + 1);
            listed[c] = 1;
            n_checked++;
        }
    }
    fclose(f);
    ck_assert_uint_gt(n_checked, 250000);
    for (uint32_t c = 0; c < 0x110000; c++)
        if (!listed[c]) ck_assert_msg((unicode_flags(c) & 0xFF) == UNICODE_UNDEFINED, "U+%04X should be Cn", c);
    ck_assert_uint_eq(unicode_flags(0x110000), UNICODE_UNDEFINED);
    ck_assert_uint_eq(unicode_flags(0x1FFFFF), UNICODE_UNDEFINED);
}
END_TEST

static Suite *pretokenize_suite(void) {
    Suite *suite = suite_create("pretokenize");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_gpt2_splits_words_contractions_and_spaces);
    tcase_add_test(tc, test_gpt2_classifies_non_ascii_by_category);
    tcase_add_test(tc, test_gpt2_treats_invalid_bytes_as_replacement_symbols);
    tcase_add_test(tc, test_gpt2_keeps_nul_as_a_control_piece);
    tcase_add_test(tc, test_llama3_groups_digits_by_three_and_folds_contraction_case);
    tcase_add_test(tc, test_llama3_attaches_one_non_letter_prefix_and_newlines);
    tcase_add_test(tc, test_qwen2_and_stablelm2_split_single_digits);
    tcase_add_test(tc, test_smollm_family_splits_digits_then_applies_gpt2);
    tcase_add_test(tc, test_falcon_splits_punctuation_then_gpt2_then_digit_triples);
    tcase_add_test(tc, test_llama_cpp_default_chain_differs_from_gpt2);
    tcase_add_test(tc, test_deepseek_coder_applies_its_regex_sequence);
    tcase_add_test(tc, test_deepseek_llm_applies_its_regex_sequence);
    tcase_add_test(tc, test_names_map_to_kinds);
    tcase_add_test(tc, test_unknown_name_is_rejected_with_the_name);
    tcase_add_test(tc, test_empty_text_gives_no_pieces);
    tcase_add_test(tc, test_pieces_tile_random_text_for_every_kind);
    tcase_add_test(tc, test_one_megabyte_of_one_character_is_linear_and_whole);
    tcase_add_test(tc, test_decode_matches_llama_cpp_leniency);
    tcase_add_test(tc, test_whitespace_is_the_white_space_property);
    tcase_add_test(tc, test_categories_match_unicode_data_txt);
    suite_add_tcase(suite, tc);
    return suite;
}

int main(void) { return testutil_run_suite(pretokenize_suite()) == 0 ? EXIT_SUCCESS : EXIT_FAILURE; }
