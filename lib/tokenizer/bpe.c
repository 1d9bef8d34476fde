/* Byte-level BPE vocabularies (tokenizer.ggml.model = "gpt2"): GPT-2's byte-to-unicode mapping,
 * merge ranks from tokenizer.ggml.merges, merging per pre-token piece as llama.cpp's
 * llm_tokenizer_bpe does.
 *
 * Everything works on raw bytes: token texts and merge parts are decoded from the
 * byte-to-unicode form once at load, and merges become a (left id, right id) -> (rank, merged id)
 * table. Merge parts that are not tokens get ids past the vocabulary. */
#include <string.h>

#include "tokenizer/tokenizer.h"

/* GPT-2's bytes_to_unicode keeps printable Latin-1 bytes as themselves and moves the other 68
 * bytes, in ascending order, to U+0100.. . */
static bool byte_maps_to_itself(uint32_t b) {
    return (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
}

static int code_point_to_byte(uint32_t cp) {
    if (cp < 256) return byte_maps_to_itself(cp) ? (int)cp : -1;
    if (cp < 256 + 33) return (int)(cp - 256);              /* bytes 0..32 */
    if (cp < 256 + 67) return (int)(cp - 256 - 33 + 127);   /* bytes 127..160 */
    if (cp == 256 + 67) return 173;
    return -1;
}

bool bpe_decode_text(const char *text, size_t len, tok_bytes *out) {
    out->len = 0;
    /* Decoded text is never longer than its UTF-8 form: reserve once, then write directly. */
    if (tok_bytes_append(out, text, len) != SLLM_OK) return false;
    size_t n_out = 0;
    for (size_t pos = 0; pos < len;) {
        uint32_t cp;
        size_t n = tok_utf8_decode((const uint8_t *)text + pos, len - pos, &cp);
        int b = n ? code_point_to_byte(cp) : -1;
        if (b < 0) return false;
        out->data[n_out++] = (char)b;
        pos += n;
    }
    out->len = n_out;
    out->data[n_out] = 0;
    return true;
}

/* Id of a decoded string, giving it the next id past the vocabulary when it is new. */
static sllm_status intern_bytes(struct tokenizer *tok, const char *data, size_t len, int32_t *next_id,
                                int32_t *id) {
    sllm_status status = tok_dict_intern(&tok->dict, data ? data : "", len, *next_id, id);
    if (status == SLLM_OK && *id == *next_id) {
        if (*next_id == INT32_MAX) return core_fail(SLLM_ERR_INVALID_MODEL, "tokenizer: too many merges");
        (*next_id)++;
    }
    return status;
}

static sllm_status read_merges(struct tokenizer *tok, const gguf_array *merges, int32_t *next_id) {
    tok_bytes left_bytes = { 0 }, right_bytes = { 0 }, joined = { 0 };
    sllm_status status = tok_pair_map_init(&tok->merges, (size_t)merges->count);
    for (uint64_t rank = 0; rank < merges->count && rank <= INT32_MAX && status == SLLM_OK; rank++) {
        const gguf_string *merge = &merges->strings[rank];
        const char *space = merge->len > 1 ? memchr(merge->data + 1, ' ', (size_t)merge->len - 1) : NULL;
        if (space == NULL) continue; /* malformed lines never match, as in llama.cpp */
        size_t left_len = (size_t)(space - merge->data);
        /* Parts outside the byte-to-unicode form can never occur in encoded text. */
        if (!bpe_decode_text(merge->data, left_len, &left_bytes) ||
            !bpe_decode_text(space + 1, (size_t)merge->len - left_len - 1, &right_bytes))
            continue;
        int32_t left, right, result;
        joined.len = 0;
        status = tok_bytes_append(&joined, left_bytes.data, left_bytes.len);
        if (status == SLLM_OK) status = tok_bytes_append(&joined, right_bytes.data, right_bytes.len);
        if (status == SLLM_OK) status = intern_bytes(tok, left_bytes.data, left_bytes.len, next_id, &left);
        if (status == SLLM_OK) status = intern_bytes(tok, right_bytes.data, right_bytes.len, next_id, &right);
        if (status == SLLM_OK) status = intern_bytes(tok, joined.data, joined.len, next_id, &result);
        if (status == SLLM_OK)
            status = tok_pair_map_put(&tok->merges, (uint32_t)left, (uint32_t)right, (int32_t)rank, result);
    }
    tok_bytes_free(&left_bytes);
    tok_bytes_free(&right_bytes);
    tok_bytes_free(&joined);
    return status;
}

sllm_status bpe_prepare(struct tokenizer *tok, const gguf_file *gguf) {
    tok_bytes scratch = { 0 };
    sllm_status status = tok_dict_reserve(&tok->dict, (size_t)tok->n_vocab * 2);
    for (int32_t id = 0; id < tok->n_vocab && status == SLLM_OK; id++) {
        /* Tokens whose text is not in byte-to-unicode form can never come out of merging. */
        if (bpe_decode_text(tok->texts[id].data, (size_t)tok->texts[id].len, &scratch))
            status = tok_dict_put(&tok->dict, scratch.data ? scratch.data : "", scratch.len, id);
    }
    tok_bytes_free(&scratch);
    if (status != SLLM_OK) return status;
    int32_t next_id = tok->n_vocab;
    for (int b = 0; b < 256 && status == SLLM_OK; b++) {
        char c = (char)b;
        status = tok_dict_intern(&tok->dict, &c, 1, next_id, &tok->byte_symbols[b]);
        if (tok->byte_symbols[b] == next_id) next_id++;
    }
    if (status != SLLM_OK) return status;
    const gguf_array *merges;
    status = gguf_get_array(gguf, "tokenizer.ggml.merges", &merges);
    if (status != SLLM_OK) return core_fail_context(status, "tokenizer (gpt2 vocabularies need merges)");
    if (merges->elem_type != GGUF_TYPE_STRING)
        return core_fail(SLLM_ERR_INVALID_MODEL, "tokenizer.ggml.merges is an array of %s, not of strings",
                         gguf_type_name(merges->elem_type));
    return read_merges(tok, merges, &next_id);
}

static bool bpe_pair(const tok_session *session, const char *word, const tok_symbol *left,
                     const tok_symbol *right, uint32_t *key, int32_t *value) {
    const tok_pair_map *merges = &session->tok->merges;
    int64_t slot = tok_pair_map_find(merges, (uint32_t)left->value, (uint32_t)right->value);
    if (slot < 0) return false;
    *key = UINT32_MAX - (uint32_t)merges->ranks[slot];
    *value = merges->results[slot];
    return true;
}

/* A final symbol that is not a token falls back to its printable-ASCII bytes that are tokens
 * (llama.cpp looks up each byte of the symbol's byte-to-unicode text on its own). */
static sllm_status emit_symbol(const struct tokenizer *tok, const char *text, const tok_symbol *sym,
                               tok_ids *out) {
    if (sym->value < tok->n_vocab) return tok_ids_push(out, sym->value);
    for (uint32_t j = 0; j < sym->len; j++) {
        uint8_t b = (uint8_t)text[sym->start + j];
        if (b >= 33 && b <= 126 && tok->byte_symbols[b] < tok->n_vocab) {
            sllm_status status = tok_ids_push(out, tok->byte_symbols[b]);
            if (status != SLLM_OK) return status;
        }
    }
    return SLLM_OK;
}

static sllm_status encode_piece(tok_session *session, const char *word, size_t len, tok_ids *out) {
    const struct tokenizer *tok = session->tok;
    if (tok->ignore_merges) {
        int32_t id = tok_dict_get(&tok->dict, word, len);
        if (id >= 0 && id < tok->n_vocab) return tok_ids_push(out, id);
    }
    if (len == 1) {
        tok_symbol sym = { 0, 1, -1, -1, tok->byte_symbols[(uint8_t)word[0]] };
        return emit_symbol(tok, word, &sym, out);
    }
    uint32_t hash = tok_hash_bytes(word, len);
    sllm_status status;
    if (tok_cache_lookup(&session->cache, word, len, hash, out, &status)) return status;
    status = tok_session_reserve_symbols(session, len);
    if (status != SLLM_OK) return status;
    for (size_t i = 0; i < len; i++)
        session->symbols[i] = (tok_symbol){ (uint32_t)i, 1, (int32_t)i - 1, (int32_t)i + 1,
                                            tok->byte_symbols[(uint8_t)word[i]] };
    session->symbols[len - 1].next = -1;
    status = tok_merge(session, word, len, bpe_pair);
    size_t first = out->len;
    for (int32_t i = 0; i >= 0 && status == SLLM_OK; i = session->symbols[i].next)
        status = emit_symbol(tok, word, &session->symbols[i], out);
    if (status != SLLM_OK) return status;
    return tok_cache_store(&session->cache, word, len, hash, out->data + first, out->len - first);
}

sllm_status bpe_encode(tok_session *session, const char *text, size_t len, tok_ids *out) {
    sllm_status status = pretok_split(session->tok->pre, text, len, &session->spans, &session->n_spans,
                                      &session->cap_spans);
    for (size_t i = 0; i < session->n_spans && status == SLLM_OK; i++) {
        const pretok_span *span = &session->spans[i];
        if (span->len > 0) status = encode_piece(session, text + span->start, span->len, out);
    }
    return status;
}
