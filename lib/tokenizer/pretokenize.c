/* Pre-tokenizers for byte-level BPE: llama.cpp's splitting regexes as hand-written matchers. */
#include "tokenizer/pretokenize.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "tokenizer/unicode.h"

/* Every family is a sequence of stages, as llama.cpp's regex_exprs lists are: each
 * stage splits every piece the previous one produced into its matches and the gaps
 * between them (a gap is kept as a piece of its own, as unicode_regex_split_stl
 * does). Matching follows ECMAScript std::regex semantics: leftmost match, first
 * alternative that succeeds, greedy quantifiers with backtracking. Positions are
 * byte offsets that always sit on code point boundaries of the whole text, so a
 * piece never cuts a sequence and decoding within [pos, end) agrees with decoding
 * the whole text. */

#define PT_OUT_OF_RANGE 0xFFFFFFFFu

typedef struct pt_char {
    uint32_t cp;
    uint32_t flags; /* 0 past the end of the piece, like llama.cpp's _get_flags */
    size_t n_bytes;
} pt_char;

static inline pt_char pt_at(const uint8_t *text, size_t pos, size_t end) {
    pt_char c;
    if (pos >= end) {
        c.cp = PT_OUT_OF_RANGE;
        c.flags = 0;
        c.n_bytes = 0;
        return c;
    }
    uint8_t b = text[pos];
    if (b < 0x80) {
        c.cp = b;
        c.flags = unicode_ascii_flags[b];
        c.n_bytes = 1;
        return c;
    }
    c.cp = unicode_decode_utf8(text + pos, end - pos, &c.n_bytes);
    c.flags = unicode_flags_slow(c.cp);
    return c;
}

static inline size_t pt_skip(const uint8_t *text, size_t pos, size_t end, uint32_t flags) {
    for (;;) {
        pt_char c = pt_at(text, pos, end);
        if (!(c.flags & flags)) return pos;
        pos += c.n_bytes;
    }
}

static inline size_t pt_skip_other(const uint8_t *text, size_t pos, size_t end) {
    for (;;) {
        pt_char c = pt_at(text, pos, end);
        if (c.flags == 0 || (c.flags & (UNICODE_WHITESPACE | UNICODE_LETTER | UNICODE_NUMBER)))
            return pos;
        pos += c.n_bytes;
    }
}

static inline int pt_is_rn(uint32_t cp) { return cp == '\r' || cp == '\n'; }

static inline uint32_t pt_ascii_lower(uint32_t cp) {
    return (cp >= 'A' && cp <= 'Z') ? cp + ('a' - 'A') : cp;
}

/* 's|'t|'re|'ve|'m|'ll|'d at pos (whose code point is '\''); returns the match end or
 * pos. With fold_case, the letters match either case (llama.cpp lowercases them;
 * only ASCII capitals lowercase to these letters). */
static size_t pt_contraction(const uint8_t *text, size_t pos, size_t end, int fold_case) {
    uint32_t next = pt_at(text, pos + 1, end).cp;
    if (next == PT_OUT_OF_RANGE) return pos;
    if (fold_case) next = pt_ascii_lower(next);
    if (next == 's' || next == 't' || next == 'm' || next == 'd') return pos + 2;
    if (next != 'r' && next != 'v' && next != 'l') return pos;
    uint32_t next2 = pt_at(text, pos + 2, end).cp;
    if (fold_case) next2 = pt_ascii_lower(next2);
    if ((next == 'r' && next2 == 'e') || (next == 'v' && next2 == 'e') || (next == 'l' && next2 == 'l'))
        return pos + 3;
    return pos;
}

/* The end of the whitespace-run alternatives at pos, as llama.cpp's custom splitters
 * compute them: \s*[\r\n]+ (when newlines_first) | \s+(?!\S) | \s+ . A run followed
 * by a non-space loses its last character to the next piece. Returns pos when pos is
 * not whitespace. */
static size_t pt_whitespace(const uint8_t *text, size_t pos, size_t end, int newlines_first) {
    size_t p = pos, last_start = pos, after_last_rn = 0, n_spaces = 0;
    for (;;) {
        pt_char c = pt_at(text, p, end);
        if (!(c.flags & UNICODE_WHITESPACE)) break;
        last_start = p;
        p += c.n_bytes;
        n_spaces++;
        if (pt_is_rn(c.cp)) after_last_rn = p;
    }
    if (newlines_first && after_last_rn) return after_last_rn;
    if (n_spaces > 1 && p < end) return last_start;
    return p;
}

/* GPT-2: 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 * (unicode_regex_split_custom_gpt2). Always matches at pos. */
static size_t pt_match_gpt2(const uint8_t *text, size_t pos, size_t end) {
    pt_char c = pt_at(text, pos, end);
    if (c.cp == '\'') {
        size_t m = pt_contraction(text, pos, end, 0);
        if (m > pos) return m;
    }
    size_t after_space = pos + (c.cp == ' ');
    uint32_t flags2 = c.cp == ' ' ? pt_at(text, after_space, end).flags : c.flags;
    if (flags2 & UNICODE_LETTER) return pt_skip(text, after_space, end, UNICODE_LETTER);
    if (flags2 & UNICODE_NUMBER) return pt_skip(text, after_space, end, UNICODE_NUMBER);
    if (flags2 && !(flags2 & (UNICODE_WHITESPACE | UNICODE_LETTER | UNICODE_NUMBER)))
        return pt_skip_other(text, after_space, end);
    size_t m = pt_whitespace(text, pos, end, 0);
    return m > pos ? m : pos + c.n_bytes;
}

/* Llama 3 and Qwen2 (which differ only in the digit group, 3 or 1):
 * (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,G}|
 *  ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
 * (unicode_regex_split_custom_llama3; Qwen2's std::regex gives the same pieces). */
static inline size_t pt_match_llama3_family(const uint8_t *text, size_t pos, size_t end,
                                            size_t digit_group) {
    pt_char c = pt_at(text, pos, end);
    if (c.cp == '\'') {
        size_t m = pt_contraction(text, pos, end, 1);
        if (m > pos) return m;
    }
    if (!pt_is_rn(c.cp) && !(c.flags & UNICODE_NUMBER)) {
        if ((c.flags & UNICODE_LETTER) || (pt_at(text, pos + c.n_bytes, end).flags & UNICODE_LETTER))
            return pt_skip(text, pos + c.n_bytes, end, UNICODE_LETTER);
    }
    if (c.flags & UNICODE_NUMBER) {
        size_t p = pos;
        for (size_t n_digits = 0; n_digits < digit_group; n_digits++) {
            pt_char d = pt_at(text, p, end);
            if (!(d.flags & UNICODE_NUMBER)) break;
            p += d.n_bytes;
        }
        return p;
    }
    size_t after_space = pos + (c.cp == ' ');
    uint32_t flags2 = c.cp == ' ' ? pt_at(text, after_space, end).flags : c.flags;
    /* llama.cpp tests the current code point's flags here, not flags2, so a lone
     * trailing space enters this branch; it yields the same " " piece as \s+ would. */
    if (!(flags2 & (UNICODE_WHITESPACE | UNICODE_LETTER | UNICODE_NUMBER))) {
        size_t p = pt_skip_other(text, after_space, end);
        while (p < end && (text[p] == '\r' || text[p] == '\n')) p++;
        return p;
    }
    size_t m = pt_whitespace(text, pos, end, 1);
    return m > pos ? m : pos + c.n_bytes;
}

static size_t pt_match_llama3(const uint8_t *text, size_t pos, size_t end) {
    return pt_match_llama3_family(text, pos, end, 3);
}

static size_t pt_match_qwen2(const uint8_t *text, size_t pos, size_t end) {
    return pt_match_llama3_family(text, pos, end, 1);
}

/* Start of the first code point at or after `from` whose flags meet `flags` or
 * that is one of the ASCII characters in `ascii_extra`; end when there is none.
 * The byte loop keeps ASCII text off the decoder. */
static inline size_t pt_find_first(const uint8_t *text, size_t from, size_t end, uint32_t flags,
                                   const char *ascii_extra) {
    size_t pos = from;
    while (pos < end) {
        uint8_t b = text[pos];
        if (b < 0x80) {
            if ((unicode_ascii_flags[b] & flags) || (b && ascii_extra && strchr(ascii_extra, b))) return pos;
            pos++;
            continue;
        }
        pt_char c = pt_at(text, pos, end);
        if (c.flags & flags) return pos;
        pos += c.n_bytes;
    }
    return end;
}

/* \p{N} */
static size_t pt_find_number(const uint8_t *text, size_t from, size_t end, size_t *match_end) {
    size_t pos = pt_find_first(text, from, end, UNICODE_NUMBER, NULL);
    *match_end = pos < end ? pos + pt_at(text, pos, end).n_bytes : end;
    return pos;
}

/* \p{N}+ */
static size_t pt_find_numbers(const uint8_t *text, size_t from, size_t end, size_t *match_end) {
    size_t pos = pt_find_first(text, from, end, UNICODE_NUMBER, NULL);
    *match_end = pt_skip(text, pos, end, UNICODE_NUMBER);
    return pos;
}

/* [0-9][0-9][0-9] */
static size_t pt_find_three_digits(const uint8_t *text, size_t from, size_t end, size_t *match_end) {
    size_t run = 0;
    for (size_t pos = from; pos < end; pos++) {
        run = (text[pos] >= '0' && text[pos] <= '9') ? run + 1 : 0;
        if (run == 3) {
            *match_end = pos + 1;
            return pos - 2;
        }
    }
    *match_end = end;
    return end;
}

/* [\p{P}\$\+<=>\^~\|`]+ (Falcon) and [\p{P}\$\+<=>\^~\|]+ (llama.cpp's default). */
static inline size_t pt_find_punct_run(const uint8_t *text, size_t from, size_t end, const char *extra,
                                       size_t *match_end) {
    size_t start = pt_find_first(text, from, end, UNICODE_PUNCTUATION, extra);
    size_t pos = start;
    while (pos < end) {
        pt_char c = pt_at(text, pos, end);
        if (!(c.flags & UNICODE_PUNCTUATION) && !(c.cp != 0 && c.cp < 0x80 && strchr(extra, (int)c.cp))) break;
        pos += c.n_bytes;
    }
    *match_end = pos;
    return start;
}

static size_t pt_find_falcon_punct(const uint8_t *text, size_t from, size_t end, size_t *match_end) {
    return pt_find_punct_run(text, from, end, "$+<=>^~|`", match_end);
}

static size_t pt_find_default_punct(const uint8_t *text, size_t from, size_t end, size_t *match_end) {
    return pt_find_punct_run(text, from, end, "$+<=>^~|", match_end);
}

/* [\r\n] */
static size_t pt_find_newline(const uint8_t *text, size_t from, size_t end, size_t *match_end) {
    size_t pos = from;
    while (pos < end && text[pos] != '\r' && text[pos] != '\n') pos++;
    *match_end = pos < end ? pos + 1 : end;
    return pos;
}

/* \s?X+ for a class X given by flags. */
static inline size_t pt_space_then_run(const uint8_t *text, size_t pos, size_t end, uint32_t flags) {
    pt_char c = pt_at(text, pos, end);
    if (c.flags & flags) return pt_skip(text, pos + c.n_bytes, end, flags);
    if (!(c.flags & UNICODE_WHITESPACE)) return pos;
    size_t m = pt_skip(text, pos + c.n_bytes, end, flags);
    return m > pos + c.n_bytes ? m : pos;
}

/* \s?\p{L}+ (DeepSeek Coder) */
static size_t pt_match_space_letters(const uint8_t *text, size_t pos, size_t end) {
    return pt_space_then_run(text, pos, end, UNICODE_LETTER);
}

/* \s?\p{P}+ (DeepSeek Coder) */
static size_t pt_match_space_punct(const uint8_t *text, size_t pos, size_t end) {
    return pt_space_then_run(text, pos, end, UNICODE_PUNCTUATION);
}

typedef struct pt_range {
    uint32_t first, last;
} pt_range;

/* Literal character classes of DeepSeek's regexes (sorted by first code point). llama.cpp runs these through
 * std::wregex after replacing non-ASCII whitespace by U+000B, so a whitespace code
 * point inside a range (U+3000, U+2028, ...) is never a member. */
static int pt_in_ranges(uint32_t cp, uint32_t flags, const pt_range *ranges, size_t n_ranges) {
    if (flags & UNICODE_WHITESPACE) return 0;
    /* Ranges are sorted and disjoint: binary search for the last first <= cp. */
    size_t lo = 0, hi = n_ranges;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ranges[mid].first <= cp)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo > 0 && cp <= ranges[lo - 1].last;
}

static size_t pt_class_run(const uint8_t *text, size_t pos, size_t end, const pt_range *ranges,
                           size_t n_ranges) {
    for (;;) {
        pt_char c = pt_at(text, pos, end);
        if (c.flags == 0 || !pt_in_ranges(c.cp, c.flags, ranges, n_ranges)) return pos;
        pos += c.n_bytes;
    }
}

/* \s?[class]+ */
static size_t pt_space_then_class(const uint8_t *text, size_t pos, size_t end, const pt_range *ranges,
                                  size_t n_ranges) {
    pt_char c = pt_at(text, pos, end);
    if (pt_in_ranges(c.cp, c.flags, ranges, n_ranges))
        return pt_class_run(text, pos + c.n_bytes, end, ranges, n_ranges);
    if (!(c.flags & UNICODE_WHITESPACE)) return pos;
    size_t m = pt_class_run(text, pos + c.n_bytes, end, ranges, n_ranges);
    return m > pos + c.n_bytes ? m : pos;
}

/* [一-龥ࠀ-一가-퟿]+ (both DeepSeek families) */
static const pt_range pt_cjk_ranges[] = {{0x0800, 0x9FA5}, {0xAC00, 0xD7FF}};

static size_t pt_match_cjk(const uint8_t *text, size_t pos, size_t end) {
    return pt_class_run(text, pos, end, pt_cjk_ranges, sizeof pt_cjk_ranges / sizeof pt_cjk_ranges[0]);
}

/* The letter class of DeepSeek LLM's second regex, \s?[A-Za-zµÀ-ÖØ-öø-ƺ...𞤀-𞥃]+,
 * code point by code point as in llama.cpp's source (cased letters). */
static const pt_range pt_deepseek_letter_ranges[] = {
    {0x0041, 0x005A},   {0x0061, 0x007A},   {0x00B5, 0x00B5},   {0x00C0, 0x00D6},   {0x00D8, 0x00F6},
    {0x00F8, 0x01BA},   {0x01BC, 0x01BF},   {0x01C4, 0x0293},   {0x0295, 0x02AF},   {0x0370, 0x0373},
    {0x0376, 0x0377},   {0x037B, 0x037D},   {0x037F, 0x037F},   {0x0386, 0x0386},   {0x0388, 0x038A},
    {0x038C, 0x038C},   {0x038E, 0x03A1},   {0x03A3, 0x03F5},   {0x03F7, 0x0481},   {0x048A, 0x052F},
    {0x0531, 0x0556},   {0x10A0, 0x10C5},   {0x13A0, 0x13F5},   {0x13F8, 0x13FD},   {0x1C90, 0x1CBA},
    {0x1CBD, 0x1CBF},   {0x1D00, 0x1D2B},   {0x1D6B, 0x1D77},   {0x1D79, 0x1D9A},   {0x1E00, 0x1F15},
    {0x1F18, 0x1F1D},   {0x1F20, 0x1F45},   {0x1F48, 0x1F4D},   {0x1F50, 0x1F57},   {0x1F59, 0x1F59},
    {0x1F5B, 0x1F5B},   {0x1F5D, 0x1F5D},   {0x1F5F, 0x1F7D},   {0x1F80, 0x1FB4},   {0x1FB6, 0x1FBC},
    {0x1FBE, 0x1FBE},   {0x1FC2, 0x1FC4},   {0x1FC6, 0x1FCC},   {0x1FD0, 0x1FD3},   {0x1FD6, 0x1FDB},
    {0x1FE0, 0x1FEC},   {0x1FF2, 0x1FF4},   {0x1FF6, 0x1FFC},   {0x2102, 0x2102},   {0x2107, 0x2107},
    {0x210A, 0x2113},   {0x2115, 0x2115},   {0x2119, 0x211D},   {0x2124, 0x2124},   {0x2126, 0x2126},
    {0x2128, 0x2128},   {0x212A, 0x212D},   {0x212F, 0x2134},   {0x2139, 0x2139},   {0x213C, 0x213F},
    {0x2145, 0x2149},   {0x214E, 0x214E},   {0x2183, 0x2184},   {0x2C00, 0x2C7B},   {0x2C7E, 0x2CE4},
    {0x2CEB, 0x2CEE},   {0x2CF2, 0x2CF3},   {0xA640, 0xA66D},   {0xA680, 0xA69B},   {0xA722, 0xA76F},
    {0xA771, 0xA787},   {0xA78B, 0xA78E},   {0xAB70, 0xABBF},   {0xFB00, 0xFB06},   {0xFB13, 0xFB17},
    {0xFF21, 0xFF3A},   {0xFF41, 0xFF5A},   {0x10400, 0x1044F}, {0x104B0, 0x104D3}, {0x104D8, 0x104FB},
    {0x10C80, 0x10CB2}, {0x10CC0, 0x10CF2}, {0x118A0, 0x118DF}, {0x1E900, 0x1E943},
};

static size_t pt_match_deepseek_letters(const uint8_t *text, size_t pos, size_t end) {
    return pt_space_then_class(text, pos, end, pt_deepseek_letter_ranges,
                               sizeof pt_deepseek_letter_ranges / sizeof pt_deepseek_letter_ranges[0]);
}

/* \s?[!-/:-~！-／：-～‘-‟　-。]+ (DeepSeek LLM; note :-~ spans the ASCII letters too) */
static const pt_range pt_deepseek_punct_ranges[] = {{0x21, 0x2F},     {0x3A, 0x7E},     {0x2018, 0x201F},
                                                    {0x3000, 0x3002}, {0xFF01, 0xFF0F}, {0xFF1A, 0xFF5E}};

static size_t pt_match_deepseek_punct(const uint8_t *text, size_t pos, size_t end) {
    return pt_space_then_class(text, pos, end, pt_deepseek_punct_ranges,
                               sizeof pt_deepseek_punct_ranges / sizeof pt_deepseek_punct_ranges[0]);
}

/* \s+$ : the whitespace run that reaches the end of the piece, found in one pass
 * (trying it at every position would be quadratic in long runs). */
static size_t pt_find_trailing_space(const uint8_t *text, size_t from, size_t end, size_t *match_end) {
    size_t run_start = end;
    for (size_t pos = from; pos < end;) {
        pt_char c = pt_at(text, pos, end);
        if (c.flags & UNICODE_WHITESPACE) {
            if (run_start == end) run_start = pos;
        } else {
            run_start = end;
        }
        pos += c.n_bytes;
    }
    *match_end = end;
    return run_start;
}

typedef size_t (*pt_match_fn)(const uint8_t *text, size_t pos, size_t end);
typedef size_t (*pt_find_fn)(const uint8_t *text, size_t from, size_t end, size_t *match_end);

/* A stage either matches at a given position (tried leftmost-first) or finds its
 * own leftmost match. */
typedef struct pt_stage {
    pt_match_fn match;
    pt_find_fn find;
} pt_stage;

#define PT_MATCH(fn) {fn, NULL}
#define PT_FIND(fn) {NULL, fn}

static const pt_stage pt_gpt2_stages[] = {PT_MATCH(pt_match_gpt2)};
static const pt_stage pt_llama3_stages[] = {PT_MATCH(pt_match_llama3)};
static const pt_stage pt_qwen2_stages[] = {PT_MATCH(pt_match_qwen2)};
static const pt_stage pt_starcoder_stages[] = {PT_FIND(pt_find_number), PT_MATCH(pt_match_gpt2)};
static const pt_stage pt_falcon_stages[] = {PT_FIND(pt_find_falcon_punct), PT_MATCH(pt_match_gpt2),
                                            PT_FIND(pt_find_three_digits)};
static const pt_stage pt_deepseek_llm_stages[] = {
    PT_FIND(pt_find_newline),         PT_MATCH(pt_match_deepseek_letters), PT_MATCH(pt_match_deepseek_punct),
    PT_FIND(pt_find_trailing_space),    PT_MATCH(pt_match_cjk),              PT_FIND(pt_find_numbers)};
static const pt_stage pt_deepseek_coder_stages[] = {PT_FIND(pt_find_newline), PT_MATCH(pt_match_space_letters),
                                                    PT_MATCH(pt_match_space_punct), PT_MATCH(pt_match_cjk),
                                                    PT_FIND(pt_find_number)};
static const pt_stage pt_default_stages[] = {PT_FIND(pt_find_default_punct), PT_MATCH(pt_match_gpt2),
                                             PT_FIND(pt_find_numbers), PT_FIND(pt_find_three_digits)};

typedef struct pt_family {
    const pt_stage *stages;
    size_t n_stages;
} pt_family;

#define PT_FAMILY(stages) {stages, sizeof stages / sizeof stages[0]}

/* Indexed by pretok_kind. */
static const pt_family pt_families[] = {
    [PRETOK_DEFAULT] = PT_FAMILY(pt_gpt2_stages),
    [PRETOK_LLAMA3] = PT_FAMILY(pt_llama3_stages),
    [PRETOK_QWEN2] = PT_FAMILY(pt_qwen2_stages),
    [PRETOK_SMOLLM] = PT_FAMILY(pt_starcoder_stages),
    [PRETOK_DEEPSEEK_LLM] = PT_FAMILY(pt_deepseek_llm_stages),
    [PRETOK_DEEPSEEK_CODER] = PT_FAMILY(pt_deepseek_coder_stages),
    [PRETOK_FALCON] = PT_FAMILY(pt_falcon_stages),
    [PRETOK_STARCODER] = PT_FAMILY(pt_starcoder_stages),
    [PRETOK_REFACT] = PT_FAMILY(pt_starcoder_stages),
    [PRETOK_MPT] = PT_FAMILY(pt_gpt2_stages),
    [PRETOK_PHI2] = PT_FAMILY(pt_gpt2_stages),
    [PRETOK_STABLELM2] = PT_FAMILY(pt_qwen2_stages),
    [PRETOK_COMMAND_R] = PT_FAMILY(pt_starcoder_stages),
    [PRETOK_LLAMA_CPP_DEFAULT] = PT_FAMILY(pt_default_stages),
};

typedef struct pt_name {
    const char *name;
    pretok_kind kind;
} pt_name;

/* llama.cpp's tokenizer_pre strings. Aliases are listed only where llama.cpp gives
 * them the very same pre-type (so the same regexes and the same vocab flags such as
 * ignore_merges and clean_spaces). */
static const pt_name pt_names[] = {
    {"default", PRETOK_LLAMA_CPP_DEFAULT},
    {"gpt-2", PRETOK_DEFAULT},
    {"jina-es", PRETOK_DEFAULT},
    {"jina-de", PRETOK_DEFAULT},
    {"gigachat", PRETOK_DEFAULT},
    {"jina-v2-es", PRETOK_DEFAULT},
    {"jina-v2-de", PRETOK_DEFAULT},
    {"a.x-4.0", PRETOK_DEFAULT},
    {"mellum", PRETOK_DEFAULT},
    {"exaone4", PRETOK_DEFAULT},
    {"phi-2", PRETOK_PHI2},
    {"mpt", PRETOK_MPT},
    {"olmo", PRETOK_MPT},
    {"jais", PRETOK_MPT},
    {"llama3", PRETOK_LLAMA3},
    {"llama-v3", PRETOK_LLAMA3},
    {"llama-bpe", PRETOK_LLAMA3},
    {"falcon3", PRETOK_LLAMA3},
    {"falcon-h1", PRETOK_LLAMA3},
    {"pixtral", PRETOK_LLAMA3},
    {"midm-2.0", PRETOK_LLAMA3},
    {"lfm2", PRETOK_LLAMA3},
    {"qwen2", PRETOK_QWEN2},
    {"deepseek-r1-qwen", PRETOK_QWEN2},
    {"kormo", PRETOK_QWEN2},
    {"stablelm2", PRETOK_STABLELM2},
    {"smollm", PRETOK_SMOLLM},
    {"starcoder", PRETOK_STARCODER},
    {"codeshell", PRETOK_STARCODER},
    {"exaone", PRETOK_STARCODER},
    {"minerva-7b", PRETOK_STARCODER},
    {"refact", PRETOK_REFACT},
    {"command-r", PRETOK_COMMAND_R},
    {"falcon", PRETOK_FALCON},
    {"deepseek-llm", PRETOK_DEEPSEEK_LLM},
    {"deepseek-coder", PRETOK_DEEPSEEK_CODER},
};

sllm_status pretok_kind_from_name(const char *name, size_t len, pretok_kind *out) {
    if (!out) return core_fail(SLLM_ERR_INVALID_ARGUMENT, "pretok_kind_from_name: out is NULL");
    if (!name || len == 0) {
        *out = PRETOK_LLAMA_CPP_DEFAULT;
        return SLLM_OK;
    }
    for (size_t i = 0; i < sizeof pt_names / sizeof pt_names[0]; i++) {
        if (strlen(pt_names[i].name) == len && memcmp(pt_names[i].name, name, len) == 0) {
            *out = pt_names[i].kind;
            return SLLM_OK;
        }
    }
    return core_fail(SLLM_ERR_UNSUPPORTED_TOKENIZER, "unsupported pre-tokenizer tokenizer.ggml.pre = '%.*s'",
                     (int)(len > 200 ? 200 : len), name);
}

typedef struct pt_ctx {
    const uint8_t *text;
    const pt_family *family;
    pretok_span *spans;
    size_t n_spans;
    size_t capacity;
} pt_ctx;

static sllm_status pt_grow(pt_ctx *ctx) {
    size_t capacity = ctx->capacity ? ctx->capacity * 2 : 64;
    if (capacity > SIZE_MAX / sizeof *ctx->spans)
        return core_fail(SLLM_ERR_OUT_OF_MEMORY, "pretok_split: span array of %zu entries", capacity);
    pretok_span *grown = realloc(ctx->spans, capacity * sizeof *grown);
    if (!grown) return core_fail(SLLM_ERR_OUT_OF_MEMORY, "pretok_split: span array of %zu entries", capacity);
    ctx->spans = grown;
    ctx->capacity = capacity;
    return SLLM_OK;
}

static inline sllm_status pt_emit(pt_ctx *ctx, size_t start, size_t end) {
    if (ctx->n_spans == ctx->capacity) {
        sllm_status status = pt_grow(ctx);
        if (status != SLLM_OK) return status;
    }
    ctx->spans[ctx->n_spans].start = start;
    ctx->spans[ctx->n_spans].len = end - start;
    ctx->n_spans++;
    return SLLM_OK;
}

static sllm_status pt_split_stage(pt_ctx *ctx, size_t stage_index, size_t start, size_t end);

static inline sllm_status pt_piece(pt_ctx *ctx, size_t next_stage, size_t start, size_t end) {
    if (next_stage == ctx->family->n_stages) return pt_emit(ctx, start, end);
    return pt_split_stage(ctx, next_stage, start, end);
}

/* Leftmost match at or after `from` (its start; end when there is none). */
static size_t pt_find(const pt_stage *stage, const uint8_t *text, size_t from, size_t end, size_t *match_end) {
    if (stage->find) return stage->find(text, from, end, match_end);
    for (size_t pos = from; pos < end;) {
        size_t m = stage->match(text, pos, end);
        if (m > pos) {
            *match_end = m;
            return pos;
        }
        pos += pt_at(text, pos, end).n_bytes;
    }
    *match_end = end;
    return end;
}

static sllm_status pt_split_stage(pt_ctx *ctx, size_t stage_index, size_t start, size_t end) {
    const pt_stage *stage = &ctx->family->stages[stage_index];
    size_t next = stage_index + 1;
    size_t gap_start = start;
    sllm_status status = SLLM_OK;
    while (gap_start < end) {
        size_t match_end;
        size_t match_start = pt_find(stage, ctx->text, gap_start, end, &match_end);
        if (match_start == end) break;
        if (match_start > gap_start) {
            status = pt_piece(ctx, next, gap_start, match_start);
            if (status != SLLM_OK) return status;
        }
        status = pt_piece(ctx, next, match_start, match_end);
        if (status != SLLM_OK) return status;
        gap_start = match_end;
    }
    if (gap_start < end) status = pt_piece(ctx, next, gap_start, end);
    return status;
}

sllm_status pretok_split(pretok_kind kind, const char *text, size_t len, pretok_span **spans,
                         size_t *n_spans, size_t *capacity) {
    if (!spans || !n_spans || !capacity || (!text && len))
        return core_fail(SLLM_ERR_INVALID_ARGUMENT, "pretok_split: NULL argument");
    if ((unsigned)kind >= sizeof pt_families / sizeof pt_families[0])
        return core_fail(SLLM_ERR_INVALID_ARGUMENT, "pretok_split: unknown pre-tokenizer kind %d", (int)kind);
    pt_ctx ctx = {(const uint8_t *)text, &pt_families[kind], *spans, 0, *capacity};
    sllm_status status = len ? pt_split_stage(&ctx, 0, 0, len) : SLLM_OK;
    /* The (possibly grown) buffer goes back to the caller even on failure. */
    *spans = ctx.spans;
    *capacity = ctx.capacity;
    *n_spans = status == SLLM_OK ? ctx.n_spans : 0;
    return status;
}
