/* Detokenizing: each token's piece (bytes), text from token arrays, and the streaming decoder
 * that only ever emits whole UTF-8 sequences. */
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tokenizer.h"

static int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

/* "<0xNN>" -> the byte, or -1. */
static int byte_token_value(const gguf_string *text) {
    if (text->len != 6 || memcmp(text->data, "<0x", 3) != 0 || text->data[5] != '>') return -1;
    int hi = hex_value(text->data[3]), lo = hex_value(text->data[4]);
    return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

/* SentencePiece text with U+2581 turned back into spaces. */
static sllm_status append_unescaped(tok_bytes *out, const gguf_string *text) {
    const char *s = text->data;
    size_t len = (size_t)text->len, run = 0;
    sllm_status status = SLLM_OK;
    for (size_t i = 0; i + 3 <= len && status == SLLM_OK; i++) {
        if (memcmp(s + i, "\xe2\x96\x81", 3) != 0) continue;
        status = tok_bytes_append(out, s + run, i - run);
        if (status == SLLM_OK) status = tok_bytes_append(out, " ", 1);
        run = i + 3;
        i += 2;
    }
    if (status == SLLM_OK) status = tok_bytes_append(out, s + run, len - run);
    return status;
}

static sllm_status append_piece(const struct tokenizer *tok, int32_t id, tok_bytes *all, tok_bytes *scratch) {
    const gguf_string *text = &tok->texts[id];
    switch (tok->types[id]) {
    case TOK_TYPE_CONTROL:
    case TOK_TYPE_UNKNOWN:
    case TOK_TYPE_USER_DEFINED:
        return tok_bytes_append(all, text->data, (size_t)text->len);
    case TOK_TYPE_NORMAL:
        if (tok->model == TOK_MODEL_SPM) return append_unescaped(all, text);
        break;
    case TOK_TYPE_BYTE:
        if (tok->model == TOK_MODEL_SPM) {
            int b = byte_token_value(text);
            if (b < 0) return tok_bytes_append(all, text->data, (size_t)text->len);
            char c = (char)b;
            return tok_bytes_append(all, &c, 1);
        }
        break;
    default:
        return SLLM_OK; /* unused and undefined tokens render as nothing, as in llama.cpp */
    }
    /* BPE normal and byte tokens: byte-to-unicode decoded; raw text when it is not in that form. */
    if (bpe_decode_text(text->data, (size_t)text->len, scratch))
        return tok_bytes_append(all, scratch->data, scratch->len);
    return tok_bytes_append(all, text->data, (size_t)text->len);
}

sllm_status tok_build_pieces(struct tokenizer *tok) {
    tok_bytes all = { 0 }, scratch = { 0 };
    sllm_status status = SLLM_OK;
    tok->piece_offsets = malloc(((size_t)tok->n_vocab + 1) * sizeof *tok->piece_offsets);
    if (tok->piece_offsets == NULL) return core_fail(SLLM_ERR_OUT_OF_MEMORY, "tokenizer: out of memory");
    for (int32_t id = 0; id < tok->n_vocab && status == SLLM_OK; id++) {
        tok->piece_offsets[id] = (uint32_t)all.len;
        status = append_piece(tok, id, &all, &scratch);
        if (status == SLLM_OK && all.len > UINT32_MAX)
            status = core_fail(SLLM_ERR_INVALID_MODEL, "tokenizer: vocabulary text too large");
    }
    tok_bytes_free(&scratch);
    if (status != SLLM_OK) {
        tok_bytes_free(&all);
        return status;
    }
    tok->piece_offsets[tok->n_vocab] = (uint32_t)all.len;
    tok->pieces = all.data ? all.data : calloc(1, 1);
    if (tok->pieces == NULL) return core_fail(SLLM_ERR_OUT_OF_MEMORY, "tokenizer: out of memory");
    return SLLM_OK;
}

void tok_piece(const struct tokenizer *tok, int32_t id, bool render_special, const char **data,
               size_t *len) {
    uint8_t type = tok->types[id];
    *data = tok->pieces + tok->piece_offsets[id];
    *len = tok->piece_offsets[id + 1] - tok->piece_offsets[id];
    if (!render_special && (type == TOK_TYPE_CONTROL || type == TOK_TYPE_UNKNOWN)) *len = 0;
}

sllm_status tok_detokenize(const struct tokenizer *tok, const int32_t *ids, size_t n_ids,
                           bool render_special, bool keep_leading_space, tok_bytes *out) {
    for (size_t i = 0; i < n_ids; i++)
        if (ids[i] < 0 || ids[i] >= tok->n_vocab)
            return core_fail(SLLM_ERR_INVALID_TOKEN, "token %d at position %zu is outside the vocabulary [0, %d)",
                             (int)ids[i], i, (int)tok->n_vocab);
    /* The space prefix SentencePiece added in front of the text is not part of it. */
    size_t strip_at = SIZE_MAX;
    if (tok->model == TOK_MODEL_SPM && tok->add_space_prefix && !keep_leading_space && n_ids > 0)
        strip_at = (tok->bos >= 0 && ids[0] == tok->bos) ? 1 : 0;
    sllm_status status = tok_bytes_append(out, "", 0);
    for (size_t i = 0; i < n_ids && status == SLLM_OK; i++) {
        const char *piece;
        size_t len;
        tok_piece(tok, ids[i], render_special, &piece, &len);
        if (i == strip_at && len > 0 && piece[0] == ' ') {
            piece++;
            len--;
        }
        status = tok_bytes_append(out, piece, len);
    }
    return status;
}

/* ---- streaming ---------------------------------------------------------------------------- */

void tok_stream_init(tok_stream *stream, const struct tokenizer *tok, bool render_special) {
    memset(stream, 0, sizeof *stream);
    stream->tok = tok;
    stream->render_special = render_special;
}

/* Length of the trailing bytes of s[0..len) that are a valid but unfinished UTF-8 sequence. */
static size_t incomplete_tail(const uint8_t *s, size_t len) {
    for (size_t back = 1; back <= 3 && back <= len; back++) {
        uint8_t b = s[len - back];
        if ((b & 0xC0) == 0x80) continue; /* continuation: keep looking for the lead byte */
        size_t need = tok_utf8_len(b);
        if (need <= back || b < 0xC2 || b > 0xF4) return 0;
        /* Reject prefixes that can never become valid (overlong, surrogates, > U+10FFFF). */
        if (back >= 2) {
            uint8_t b1 = s[len - back + 1];
            if ((b == 0xE0 && b1 < 0xA0) || (b == 0xED && b1 > 0x9F) || (b == 0xF0 && b1 < 0x90) ||
                (b == 0xF4 && b1 > 0x8F))
                return 0;
        }
        return back;
    }
    return 0;
}

sllm_status tok_stream_push(tok_stream *stream, int32_t token, tok_bytes *out) {
    const struct tokenizer *tok = stream->tok;
    if (token < 0 || token >= tok->n_vocab)
        return core_fail(SLLM_ERR_INVALID_TOKEN, "token %d is outside the vocabulary [0, %d)", (int)token,
                         (int)tok->n_vocab);
    const char *piece;
    size_t len;
    tok_piece(tok, token, stream->render_special, &piece, &len);
    if (len == 0) return SLLM_OK;
    size_t start = out->len;
    sllm_status status = tok_bytes_append(out, (const char *)stream->pending, stream->n_pending);
    if (status == SLLM_OK) status = tok_bytes_append(out, piece, len);
    if (status != SLLM_OK) return status;
    size_t tail = incomplete_tail((const uint8_t *)out->data + start, out->len - start);
    memcpy(stream->pending, out->data + out->len - tail, tail);
    stream->n_pending = tail;
    out->len -= tail;
    out->data[out->len] = 0;
    return SLLM_OK;
}

sllm_status tok_stream_flush(tok_stream *stream, tok_bytes *out) {
    sllm_status status = tok_bytes_append(out, (const char *)stream->pending, stream->n_pending);
    stream->n_pending = 0;
    return status;
}
