/* The tokenizer behind sllm_tokenize: vocabulary loaded from GGUF metadata, SentencePiece and
 * byte-level BPE encoders, special-token partitioning, detokenizing and a streaming decoder. */
#ifndef SLLM_TOKENIZER_TOKENIZER_H
#define SLLM_TOKENIZER_TOKENIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "format/gguf.h"
#include "tokenizer/pretokenize.h"

typedef enum tok_model { TOK_MODEL_SPM, TOK_MODEL_BPE } tok_model;

/* tokenizer.ggml.token_type values (llama.cpp's llama_token_type). */
enum {
    TOK_TYPE_UNDEFINED = 0,
    TOK_TYPE_NORMAL = 1,
    TOK_TYPE_UNKNOWN = 2,
    TOK_TYPE_CONTROL = 3,
    TOK_TYPE_USER_DEFINED = 4,
    TOK_TYPE_UNUSED = 5,
    TOK_TYPE_BYTE = 6
};

/* ---- small containers ------------------------------------------------------ */

/* Growable int32 array (token ids). */
typedef struct tok_ids {
    int32_t *data;
    size_t len;
    size_t cap;
} tok_ids;

sllm_status tok_ids_reserve(tok_ids *ids, size_t extra);
static inline sllm_status tok_ids_push(tok_ids *ids, int32_t id) {
    if (ids->len == ids->cap) {
        sllm_status status = tok_ids_reserve(ids, 1);
        if (status != SLLM_OK) return status;
    }
    ids->data[ids->len++] = id;
    return SLLM_OK;
}
void tok_ids_free(tok_ids *ids);

/* Growable byte buffer. */
typedef struct tok_bytes {
    char *data;
    size_t len;
    size_t cap;
} tok_bytes;

sllm_status tok_bytes_append(tok_bytes *bytes, const char *data, size_t len);
void tok_bytes_free(tok_bytes *bytes);

/* Interned byte strings -> int32 value; open addressing, strings copied in. */
typedef struct tok_dict_entry {
    uint32_t offset;
    uint32_t len;
    uint32_t hash;
    int32_t value;
} tok_dict_entry;

typedef struct tok_dict {
    char *bytes;
    size_t n_bytes, cap_bytes;
    tok_dict_entry *entries;
    size_t n_entries, cap_entries;
    uint32_t *slots;          /* entry index + 1; 0 = empty */
    size_t mask;
} tok_dict;

uint32_t tok_hash_bytes(const char *data, size_t len);
/* Value stored for the string, or -1. */
int32_t tok_dict_get(const tok_dict *dict, const char *data, size_t len);
/* Inserts or overwrites. */
sllm_status tok_dict_put(tok_dict *dict, const char *data, size_t len, int32_t value);
/* Returns the existing value, or inserts `value_if_new` and returns that. */
sllm_status tok_dict_intern(tok_dict *dict, const char *data, size_t len, int32_t value_if_new,
                            int32_t *value);
/* Sizes the table for n entries up front (avoids rehashing while loading). */
sllm_status tok_dict_reserve(tok_dict *dict, size_t n);
void tok_dict_free(tok_dict *dict);

/* (uint32, uint32) -> (rank, result) map for BPE merges; also used as a pair set. */
typedef struct tok_pair_map {
    uint64_t *keys;           /* UINT64_MAX = empty */
    int32_t *ranks;
    int32_t *results;
    size_t mask;
    size_t count;
} tok_pair_map;

sllm_status tok_pair_map_init(tok_pair_map *map, size_t expected);
/* Keeps the first value put for a key (llama.cpp keeps the first merge of duplicates). */
sllm_status tok_pair_map_put(tok_pair_map *map, uint32_t left, uint32_t right, int32_t rank,
                             int32_t result);
/* Index of the key's slot, or -1. */
static inline int64_t tok_pair_map_find(const tok_pair_map *map, uint32_t left, uint32_t right) {
    if (map->keys == NULL) return -1;
    uint64_t key = ((uint64_t)left << 32) | right;
    uint64_t h = key * 0x9E3779B97F4A7C15ull;
    size_t slot = (size_t)(h >> 20) & map->mask;
    for (;;) {
        uint64_t k = map->keys[slot];
        if (k == key) return (int64_t)slot;
        if (k == UINT64_MAX) return -1;
        slot = (slot + 1) & map->mask;
    }
}
void tok_pair_map_free(tok_pair_map *map);

/* ---- the tokenizer ------------------------------------------------------------ */

struct tokenizer {
    tok_model model;
    pretok_kind pre;
    bool ignore_merges;           /* llama-bpe: a pre-token that is a whole token skips merging */
    int32_t n_vocab;
    const gguf_string *texts;     /* token texts, inside the GGUF mapping */
    uint8_t *types;
    float *scores;                /* SPM only */
    char *pieces;                 /* every token's piece (bytes), concatenated */
    uint32_t *piece_offsets;      /* n_vocab + 1 */
    uint8_t *is_eog;

    /* SPM: token text -> id. BPE: token bytes (decoded from the byte-to-unicode form) -> id, plus
     * merge parts that are not tokens, with ids >= n_vocab. */
    tok_dict dict;
    int32_t byte_symbols[256];    /* SPM: <0xNN> fallback token; BPE: the 1-byte symbol */
    tok_pair_map merges;          /* BPE: (left, right) -> (rank, merged symbol) */
    tok_pair_map spm_joinable;    /* SPM: code point pairs adjacent inside some token */
    bool spm_split_ok;            /* false when some token text is not valid UTF-8 */

    int32_t *specials;            /* matchable special tokens, longest text first */
    size_t n_specials;
    uint32_t special_first_bytes[8]; /* bitmap of the first bytes of `specials` */

    int32_t bos, eos, eot, unk, pad;
    bool add_bos, add_eos, add_space_prefix;
};

/* Reads the vocabulary from GGUF metadata. SLLM_OK with *out = NULL when the file has no
 * tokenizer.ggml.model. The GGUF file must outlive the tokenizer. */
sllm_status tokenizer_load(const gguf_file *gguf, struct tokenizer **out);
void tokenizer_free(struct tokenizer *tok);

/* Appends the tokens of text[0..len) to *out. Invalid UTF-8 is tokenized byte-wise (never an
 * error). add_special: BOS/EOS as the metadata says. parse_special: control tokens in the
 * text become tokens (user-defined tokens always do). */
sllm_status tok_tokenize(const struct tokenizer *tok, const char *text, size_t len, bool add_special,
                         bool parse_special, tok_ids *out);

/* ---- encoders (spm.c, bpe.c); a session is per call, never shared ---------------- */

/* One symbol of a word being merged: a byte range of the word and what it stands for. */
typedef struct tok_symbol {
    uint32_t start;
    uint32_t len;                 /* 0 once merged into its left neighbour */
    int32_t prev, next;
    int32_t value;                /* token id (SPM: -1 when not a token; BPE: symbol id) */
} tok_symbol;

/* A candidate merge of two adjacent symbols; higher key first, then leftmost. */
typedef struct tok_bigram {
    uint32_t key;
    int32_t left, right;
    uint32_t size;                /* left.len + right.len when pushed: stale if it changed */
    int32_t value;                /* the merged symbol's value */
} tok_bigram;

/* Word -> ids cache for one call (words repeat a lot in real text). */
typedef struct tok_cache_entry {
    uint32_t hash, key_offset, key_len, ids_offset, n_ids;
} tok_cache_entry;

typedef struct tok_cache {
    tok_cache_entry *entries;
    size_t n_entries;
    uint32_t *slots;              /* entry index + 1 */
    tok_bytes keys;
    tok_ids ids;
} tok_cache;

/* Per-call scratch space, so nothing is allocated per symbol. */
typedef struct tok_session {
    const struct tokenizer *tok;
    tok_symbol *symbols;
    size_t cap_symbols;
    tok_bigram *heap;
    size_t n_heap, cap_heap;
    tok_bytes escaped;            /* SPM: the fragment with spaces as U+2581 */
    pretok_span *spans;           /* BPE: pre-token pieces */
    size_t n_spans, cap_spans;
    tok_cache cache;
} tok_session;

void tok_session_init(tok_session *session, const struct tokenizer *tok);
void tok_session_free(tok_session *session);

/* Returns the merge key and merged value for two adjacent symbols, false when they don't merge. */
typedef bool (*tok_pair_fn)(const tok_session *session, const char *word, const tok_symbol *left,
                            const tok_symbol *right, uint32_t *key, int32_t *value);
/* Runs the merge loop over session->symbols[0..n_symbols) (linked in order) of `word`. */
sllm_status tok_merge(tok_session *session, const char *word, size_t n_symbols, tok_pair_fn pair_fn);
/* Grows session->symbols to hold n symbols. */
sllm_status tok_session_reserve_symbols(tok_session *session, size_t n);

enum { TOK_CACHE_MAX_KEY = 64 };
/* Looks `word` up; on a hit appends its ids to *out and returns true. */
bool tok_cache_lookup(const tok_cache *cache, const char *word, size_t len, uint32_t hash,
                      tok_ids *out, sllm_status *status);
/* Remembers ids[0..n_ids) for `word` (silently skipped when the cache is full). */
sllm_status tok_cache_store(tok_cache *cache, const char *word, size_t len, uint32_t hash,
                            const int32_t *ids, size_t n_ids);

/* SentencePiece: one raw-text fragment (the space prefix already decided by the caller). */
sllm_status spm_encode(tok_session *session, const char *text, size_t len, bool space_prefix,
                       tok_ids *out);
/* Byte-level BPE: one raw-text fragment, split by the pre-tokenizer. */
sllm_status bpe_encode(tok_session *session, const char *text, size_t len, tok_ids *out);

/* Load-time helpers. */
sllm_status spm_prepare(struct tokenizer *tok);
sllm_status tok_build_pieces(struct tokenizer *tok);
sllm_status bpe_prepare(struct tokenizer *tok, const gguf_file *gguf);
/* Token piece for BPE token text: byte-to-unicode decoded. Returns false when some code point
 * is outside the mapping (then the raw text is used). */
bool bpe_decode_text(const char *text, size_t len, tok_bytes *out);

/* ---- detokenizing (detok.c) ---------------------------------------------------------- */

/* Pointer to the token's piece (not NUL-terminated). Control and unknown tokens give their
 * text only when render_special; unused/undefined ones give "". Caller checks the id. */
void tok_piece(const struct tokenizer *tok, int32_t id, bool render_special, const char **data,
               size_t *len);

/* Text of a token array. SPM with the space prefix: one leading space is dropped from the first
 * piece (after a leading BOS) unless keep_leading_space. Invalid ids -> INVALID_TOKEN. */
sllm_status tok_detokenize(const struct tokenizer *tok, const int32_t *ids, size_t n_ids,
                           bool render_special, bool keep_leading_space, tok_bytes *out);

/* Streaming decoder: feed tokens one by one; only whole UTF-8 sequences come out. Bytes that
 * cannot start or continue a valid sequence are passed through unchanged, so the
 * concatenated output equals tok_detokenize(..., keep_leading_space=true) of the same tokens. */
typedef struct tok_stream {
    const struct tokenizer *tok;
    bool render_special;
    uint8_t pending[4];
    size_t n_pending;
} tok_stream;

void tok_stream_init(tok_stream *stream, const struct tokenizer *tok, bool render_special);
/* Appends the newly complete text to *out. */
sllm_status tok_stream_push(tok_stream *stream, int32_t token, tok_bytes *out);
/* Appends whatever is held back (an incomplete sequence at the end of the stream). */
sllm_status tok_stream_flush(tok_stream *stream, tok_bytes *out);

/* Length of the UTF-8 sequence a lead byte announces (1 for continuation/invalid bytes),
 * as llama.cpp's unicode_len_utf8. */
static inline size_t tok_utf8_len(uint8_t byte) {
    static const uint8_t lookup[16] = { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4 };
    return lookup[byte >> 4];
}

/* Decodes one well-formed UTF-8 sequence at s[0..len); returns its length, or 0 when the bytes
 * there are not a complete valid sequence. */
size_t tok_utf8_decode(const uint8_t *s, size_t len, uint32_t *cp);

#endif
