/* SentencePiece vocabularies (tokenizer.ggml.model = "llama"): score-driven merging of UTF-8
 * characters as llama.cpp's llm_tokenizer_spm does, with <0xNN> byte fallback.
 *
 * Speed: the fragment is cut into independent words wherever two adjacent characters never
 * occur next to each other inside any token. No merge can cross such a cut (every merged symbol
 * is a token), so merging word by word gives exactly the whole-fragment result, and words
 * repeat, so they are cached per call. */
#include <string.h>

#include "tokenizer/tokenizer.h"

#define SPACE_MARK "\xe2\x96\x81" /* U+2581, SentencePiece's visible space */

enum { VALUE_UNRESOLVED = INT32_MIN };

/* Maps a float to a uint32 with the same order, so the merge queue compares integers. */
static uint32_t score_key(float score) {
    uint32_t bits;
    memcpy(&bits, &score, sizeof bits);
    return (bits & 0x80000000u) ? ~bits : (bits | 0x80000000u);
}

static sllm_status add_joinable_pairs(struct tokenizer *tok, const gguf_string *text) {
    const uint8_t *s = (const uint8_t *)text->data;
    size_t len = (size_t)text->len, pos = 0;
    uint32_t prev = 0;
    while (pos < len) {
        uint32_t cp;
        size_t n = tok_utf8_decode(s + pos, len - pos, &cp);
        if (n == 0) {
            tok->spm_split_ok = false; /* cannot reason about cuts inside malformed tokens */
            return SLLM_OK;
        }
        if (pos > 0) {
            sllm_status status = tok_pair_map_put(&tok->spm_joinable, prev, cp, 0, 0);
            if (status != SLLM_OK) return status;
        }
        prev = cp;
        pos += n;
    }
    return SLLM_OK;
}

sllm_status spm_prepare(struct tokenizer *tok) {
    sllm_status status = tok_dict_reserve(&tok->dict, (size_t)tok->n_vocab);
    if (status != SLLM_OK) return status;
    for (int32_t id = 0; id < tok->n_vocab; id++) {
        /* A later duplicate wins, as in llama.cpp's token_to_id. */
        status = tok_dict_put(&tok->dict, tok->texts[id].data, (size_t)tok->texts[id].len, id);
        if (status != SLLM_OK) return status;
    }
    static const char hex[] = "0123456789ABCDEF";
    for (int b = 0; b < 256; b++) {
        char name[6] = { '<', '0', 'x', hex[b >> 4], hex[b & 15], '>' };
        char raw = (char)b;
        int32_t id = tok_dict_get(&tok->dict, name, sizeof name);
        if (id < 0) id = tok_dict_get(&tok->dict, &raw, 1);
        if (id < 0) id = tok->unk;
        tok->byte_symbols[b] = id;
    }
    status = tok_pair_map_init(&tok->spm_joinable, (size_t)tok->n_vocab * 4);
    if (status != SLLM_OK) return status;
    tok->spm_split_ok = true;
    for (int32_t id = 0; id < tok->n_vocab && tok->spm_split_ok; id++) {
        status = add_joinable_pairs(tok, &tok->texts[id]);
        if (status != SLLM_OK) return status;
    }
    return SLLM_OK;
}

static bool spm_pair(const tok_session *session, const char *word, const tok_symbol *left,
                     const tok_symbol *right, uint32_t *key, int32_t *value) {
    const struct tokenizer *tok = session->tok;
    int32_t id = tok_dict_get(&tok->dict, word + left->start, (size_t)left->len + right->len);
    if (id < 0) return false;
    *key = score_key(tok->scores[id]);
    *value = id;
    return true;
}

static sllm_status emit_symbols(tok_session *session, const char *word, tok_ids *out) {
    const struct tokenizer *tok = session->tok;
    sllm_status status = SLLM_OK;
    for (int32_t i = 0; i >= 0 && status == SLLM_OK; i = session->symbols[i].next) {
        const tok_symbol *sym = &session->symbols[i];
        int32_t id = sym->value;
        if (id == VALUE_UNRESOLVED) id = tok_dict_get(&tok->dict, word + sym->start, sym->len);
        if (id >= 0) {
            status = tok_ids_push(out, id);
            continue;
        }
        for (uint32_t j = 0; j < sym->len && status == SLLM_OK; j++) {
            int32_t byte_id = tok->byte_symbols[(uint8_t)word[sym->start + j]];
            if (byte_id >= 0) status = tok_ids_push(out, byte_id);
        }
    }
    return status;
}

static sllm_status encode_word(tok_session *session, const char *word, size_t len, tok_ids *out) {
    uint32_t hash = tok_hash_bytes(word, len);
    sllm_status status;
    if (tok_cache_lookup(&session->cache, word, len, hash, out, &status)) return status;
    status = tok_session_reserve_symbols(session, len);
    if (status != SLLM_OK) return status;
    size_t n_symbols = 0;
    for (size_t pos = 0; pos < len;) {
        size_t n = tok_utf8_len((uint8_t)word[pos]);
        if (n > len - pos) n = len - pos;
        session->symbols[n_symbols] = (tok_symbol){ (uint32_t)pos, (uint32_t)n, (int32_t)n_symbols - 1,
                                                    (int32_t)n_symbols + 1, VALUE_UNRESOLVED };
        n_symbols++;
        pos += n;
    }
    session->symbols[n_symbols - 1].next = -1;
    status = tok_merge(session, word, n_symbols, spm_pair);
    if (status != SLLM_OK) return status;
    size_t first = out->len;
    status = emit_symbols(session, word, out);
    if (status != SLLM_OK) return status;
    return tok_cache_store(&session->cache, word, len, hash, out->data + first, out->len - first);
}

static sllm_status escape_spaces(tok_bytes *escaped, const char *text, size_t len, bool space_prefix) {
    escaped->len = 0;
    sllm_status status = tok_bytes_append(escaped, "", 0);
    if (status == SLLM_OK && space_prefix) status = tok_bytes_append(escaped, SPACE_MARK, 3);
    size_t run = 0;
    for (size_t i = 0; i < len && status == SLLM_OK; i++) {
        if (text[i] != ' ') continue;
        status = tok_bytes_append(escaped, text + run, i - run);
        if (status == SLLM_OK) status = tok_bytes_append(escaped, SPACE_MARK, 3);
        run = i + 1;
    }
    if (status == SLLM_OK) status = tok_bytes_append(escaped, text + run, len - run);
    return status;
}

sllm_status spm_encode(tok_session *session, const char *text, size_t len, bool space_prefix,
                       tok_ids *out) {
    const struct tokenizer *tok = session->tok;
    sllm_status status = escape_spaces(&session->escaped, text, len, space_prefix);
    if (status != SLLM_OK) return status;
    const char *s = session->escaped.data;
    size_t n = session->escaped.len, word_start = 0;
    bool prev_valid = false;
    uint32_t prev_cp = 0;
    for (size_t pos = 0; pos < n;) {
        size_t sym_len = tok_utf8_len((uint8_t)s[pos]);
        if (sym_len > n - pos) sym_len = n - pos;
        uint32_t cp = 0;
        bool valid = tok_utf8_decode((const uint8_t *)s + pos, sym_len, &cp) == sym_len;
        if (valid && prev_valid && tok->spm_split_ok && pos > word_start &&
            tok_pair_map_find(&tok->spm_joinable, prev_cp, cp) < 0) {
            status = encode_word(session, s + word_start, pos - word_start, out);
            if (status != SLLM_OK) return status;
            word_start = pos;
        }
        prev_valid = valid;
        prev_cp = cp;
        pos += sym_len;
    }
    if (n > word_start) status = encode_word(session, s + word_start, n - word_start, out);
    return status;
}
