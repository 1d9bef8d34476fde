/* Unicode code point classes (general category, White_Space) and lenient UTF-8 decoding for the tokenizers. */
#ifndef SLLM_TOKENIZER_UNICODE_H
#define SLLM_TOKENIZER_UNICODE_H

#include <stddef.h>
#include <stdint.h>

/* Flag bits, laid out like llama.cpp's unicode_cpt_flags so the pre-tokenizers read
 * the same as the code whose behaviour they reproduce. Exactly one of the category
 * bits is set for every code point; UNICODE_WHITESPACE is added on top. */
enum {
    UNICODE_UNDEFINED = 0x001,   /* Cn: unassigned (and anything past U+10FFFF) */
    UNICODE_NUMBER = 0x002,      /* \p{N} */
    UNICODE_LETTER = 0x004,      /* \p{L} */
    UNICODE_SEPARATOR = 0x008,   /* \p{Z} */
    UNICODE_MARK = 0x010,        /* \p{M} */
    UNICODE_PUNCTUATION = 0x020, /* \p{P} */
    UNICODE_SYMBOL = 0x040,      /* \p{S} */
    UNICODE_CONTROL = 0x080,     /* Cc, Cf, Co, Cs */
    UNICODE_WHITESPACE = 0x100   /* the White_Space property: what the regexes' \s matches */
};

/* Code point decode returns for a byte that does not start a well-formed sequence
 * (as llama.cpp does before splitting), with *n_bytes = 1. */
#define UNICODE_REPLACEMENT 0xFFFDu

/* Generated tables (unicode_tables.c). */
extern const char unicode_tables_version[];
extern const uint32_t unicode_ranges[];
extern const size_t unicode_ranges_count;
extern const uint16_t unicode_ascii_flags[128];
extern const uint16_t unicode_bmp_block_first[257];

/* Flags of a code point; values past U+10FFFF are UNICODE_UNDEFINED. */
uint16_t unicode_flags_slow(uint32_t cp);
static inline uint16_t unicode_flags(uint32_t cp) {
    return cp < 0x80 ? unicode_ascii_flags[cp] : unicode_flags_slow(cp);
}

/* Decodes the code point starting at s[0] (len >= 1 bytes available), with
 * llama.cpp's leniency so splits match it: the lead byte and the number of
 * continuation bytes are checked, overlong forms and surrogates are accepted, and
 * F5..F7 leads decode to values past U+10FFFF. Anything else (a stray continuation
 * byte, F8..FF, a truncated sequence) yields UNICODE_REPLACEMENT with *n_bytes = 1. */
static inline uint32_t unicode_decode_utf8(const uint8_t *s, size_t len, size_t *n_bytes) {
    uint8_t b0 = s[0];
    if (b0 < 0x80) {
        *n_bytes = 1;
        return b0;
    }
    *n_bytes = 1;
    if (b0 < 0xC0 || b0 >= 0xF8) return UNICODE_REPLACEMENT;
    if (b0 < 0xE0) {
        if (len < 2 || (s[1] & 0xC0) != 0x80) return UNICODE_REPLACEMENT;
        *n_bytes = 2;
        return ((uint32_t)(b0 & 0x1F) << 6) | (s[1] & 0x3F);
    }
    if (b0 < 0xF0) {
        if (len < 3 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80) return UNICODE_REPLACEMENT;
        *n_bytes = 3;
        return ((uint32_t)(b0 & 0x0F) << 12) | ((uint32_t)(s[1] & 0x3F) << 6) | (s[2] & 0x3F);
    }
    if (len < 4 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80)
        return UNICODE_REPLACEMENT;
    *n_bytes = 4;
    return ((uint32_t)(b0 & 0x07) << 18) | ((uint32_t)(s[1] & 0x3F) << 12) |
           ((uint32_t)(s[2] & 0x3F) << 6) | (s[3] & 0x3F);
}

/* Length of the longest prefix of s that is strictly valid UTF-8 (no overlongs, no
 * surrogates, nothing past U+10FFFF); equals len when all of s is valid. */
size_t unicode_utf8_valid_prefix(const uint8_t *s, size_t len);

/* Writes cp (<= U+10FFFF) as UTF-8 into out (4 bytes room); returns the byte count,
 * or 0 for a value that has no encoding. Surrogates are encoded as three bytes. */
size_t unicode_encode_utf8(uint32_t cp, uint8_t out[4]);

#endif
