/* Code point class lookup over the generated range table, and strict UTF-8 helpers. */
#include "tokenizer/unicode.h"

enum { UNICODE_FLAG_BITS = 9, UNICODE_MAX_CODE_POINT = 0x10FFFF };

uint16_t unicode_flags_slow(uint32_t cp) {
    if (cp > UNICODE_MAX_CODE_POINT) return UNICODE_UNDEFINED;
    /* Last range whose first code point is <= cp; the table starts at U+0000. In the
     * BMP the block index narrows the search to the few ranges of one block. */
    uint32_t key = (cp << UNICODE_FLAG_BITS) | ((1u << UNICODE_FLAG_BITS) - 1);
    size_t lo = 0, hi = unicode_ranges_count;
    if (cp < 0x10000) {
        lo = unicode_bmp_block_first[cp >> 8];
        hi = (size_t)unicode_bmp_block_first[(cp >> 8) + 1] + 1;
    }
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (unicode_ranges[mid] <= key)
            lo = mid;
        else
            hi = mid;
    }
    return (uint16_t)(unicode_ranges[lo] & ((1u << UNICODE_FLAG_BITS) - 1));
}

size_t unicode_utf8_valid_prefix(const uint8_t *s, size_t len) {
    size_t pos = 0;
    while (pos < len) {
        uint8_t b0 = s[pos];
        if (b0 < 0x80) {
            pos++;
            continue;
        }
        size_t need;
        uint8_t lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
        if (b0 >= 0xC2 && b0 <= 0xDF) {
            need = 1;
        } else if (b0 >= 0xE0 && b0 <= 0xEF) {
            need = 2;
            if (b0 == 0xE0) lo = 0xA0;
            if (b0 == 0xED) hi = 0x9F;
        } else if (b0 >= 0xF0 && b0 <= 0xF4) {
            need = 3;
            if (b0 == 0xF0) lo = 0x90;
            if (b0 == 0xF4) hi = 0x8F;
        } else {
            return pos;
        }
        if (len - pos <= need) return pos;
        if (s[pos + 1] < lo || s[pos + 1] > hi) return pos;
        for (size_t i = 2; i <= need; i++)
            if ((s[pos + i] & 0xC0) != 0x80) return pos;
        pos += need + 1;
    }
    return pos;
}

size_t unicode_encode_utf8(uint32_t cp, uint8_t out[4]) {
    if (cp < 0x80) {
        out[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (uint8_t)(0xC0 | (cp >> 6));
        out[1] = (uint8_t)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (uint8_t)(0xE0 | (cp >> 12));
        out[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (uint8_t)(0x80 | (cp & 0x3F));
        return 3;
    }
    if (cp <= UNICODE_MAX_CODE_POINT) {
        out[0] = (uint8_t)(0xF0 | (cp >> 18));
        out[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
        out[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        out[3] = (uint8_t)(0x80 | (cp & 0x3F));
        return 4;
    }
    return 0;
}
