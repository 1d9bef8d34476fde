/* Tokenizer loading from GGUF metadata, special-token partitioning and the tokenize driver. */
#include "tokenizer/tokenizer.h"

#include <stdlib.h>
#include <string.h>

#define KEY_PREFIX "tokenizer.ggml."

static bool str_eq(gguf_string s, const char *lit) {
    size_t n = strlen(lit);
    return s.len == n && memcmp(s.data, lit, n) == 0;
}

static sllm_status read_token_id(const gguf_file *gguf, const char *key, int32_t n_vocab,
                                 int32_t *id) {
    int64_t value;
    sllm_status status = gguf_get_int(gguf, key, &value);
    if (status == SLLM_ERR_NOT_FOUND) {
        core_error_clear();
        return SLLM_OK;
    }
    if (status != SLLM_OK) return core_fail_context(status, "tokenizer");
    if (value < 0 || value >= n_vocab)
        return core_fail(SLLM_ERR_INVALID_MODEL, "tokenizer: %s is %lld, outside the vocabulary [0, %d)",
                         key, (long long)value, (int)n_vocab);
    *id = (int32_t)value;
    return SLLM_OK;
}

static sllm_status read_flag(const gguf_file *gguf, const char *key, bool *flag) {
    bool value;
    sllm_status status = gguf_get_bool(gguf, key, &value);
    if (status == SLLM_ERR_NOT_FOUND) {
        core_error_clear();
        return SLLM_OK;
    }
    if (status != SLLM_OK) return core_fail_context(status, "tokenizer");
    *flag = value;
    return SLLM_OK;
}

/* An optional per-token array (scores, token_type): NULL when absent, else exactly n_vocab long. */
static sllm_status read_token_array(const gguf_file *gguf, const char *key, int32_t n_vocab,
                                    bool numeric, const gguf_array **out) {
    *out = NULL;
    sllm_status status = gguf_get_array(gguf, key, out);
    if (status == SLLM_ERR_NOT_FOUND) {
        core_error_clear();
        *out = NULL;
        return SLLM_OK;
    }
    if (status != SLLM_OK) return core_fail_context(status, "tokenizer");
    gguf_type t = (*out)->elem_type;
    bool is_number = gguf_type_size(t) != 0;
    if ((numeric && !is_number) || (uint64_t)n_vocab != (*out)->count)
        return core_fail(SLLM_ERR_INVALID_MODEL,
                         "tokenizer: %s has %llu elements of type %s; expected %d numbers", key,
                         (unsigned long long)(*out)->count, gguf_type_name(t), (int)n_vocab);
    return SLLM_OK;
}

/* Token texts that end generation when the metadata does not say (llama.cpp's list). */
static const char *const eog_texts[] = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|eom_id|>",
    "<EOT>", "_<EOT>", "<|end_of_text|>", "<end_of_utterance>",
};

static int32_t find_token_text(const struct tokenizer *tok, const char *text) {
    size_t n = strlen(text);
    for (int32_t id = 0; id < tok->n_vocab; id++)
        if (tok->texts[id].len == n && memcmp(tok->texts[id].data, text, n) == 0) return id;
    return -1;
}

static sllm_status mark_eog(struct tokenizer *tok) {
    tok->is_eog = calloc((size_t)tok->n_vocab, 1);
    if (tok->is_eog == NULL) return core_fail(SLLM_ERR_OUT_OF_MEMORY, "tokenizer: out of memory");
    for (size_t i = 0; i < sizeof eog_texts / sizeof eog_texts[0]; i++) {
        int32_t id = find_token_text(tok, eog_texts[i]);
        if (id < 0) continue;
        tok->is_eog[id] = 1;
        /* <|endoftext|> ends a document, not a turn: it never stands in for EOT. */
        if (tok->eot < 0 && strcmp(eog_texts[i], "<|endoftext|>") != 0) tok->eot = id;
    }
    if (tok->eos >= 0) tok->is_eog[tok->eos] = 1;
    if (tok->eot >= 0) tok->is_eog[tok->eot] = 1;
    return SLLM_OK;
}

/* Matchable special tokens in llama.cpp's order: longer text first (so "<|im_start|>" is tried
 * before any shorter token that is its prefix), then lower id. */
static bool is_special_type(uint8_t type) {
    return type == TOK_TYPE_CONTROL || type == TOK_TYPE_USER_DEFINED || type == TOK_TYPE_UNKNOWN;
}

static sllm_status collect_specials(struct tokenizer *tok) {
    size_t n = 0;
    for (int32_t id = 0; id < tok->n_vocab; id++) {
        if (is_special_type(tok->types[id]) && tok->texts[id].len > 0)
            n++;
    }
    tok->specials = malloc((n ? n : 1) * sizeof *tok->specials);
    if (tok->specials == NULL) return core_fail(SLLM_ERR_OUT_OF_MEMORY, "tokenizer: out of memory");
    size_t max_len = 0;
    for (int32_t id = 0; id < tok->n_vocab; id++) {
        if (is_special_type(tok->types[id]) && tok->texts[id].len > max_len)
            max_len = (size_t)tok->texts[id].len;
    }
    tok->n_specials = 0;
    if (n == 0) return SLLM_OK;
    /* Counting sort by descending length; ids ascend within a length. */
    size_t *count = calloc(max_len + 2, sizeof *count);
    if (count == NULL) return core_fail(SLLM_ERR_OUT_OF_MEMORY, "tokenizer: out of memory");
    for (int32_t id = 0; id < tok->n_vocab; id++) {
        if (is_special_type(tok->types[id]) && tok->texts[id].len > 0)
            count[max_len - (size_t)tok->texts[id].len + 1]++;
    }
    for (size_t i = 1; i <= max_len + 1; i++) count[i] += count[i - 1];
    for (int32_t id = 0; id < tok->n_vocab; id++) {
        if (is_special_type(tok->types[id]) && tok->texts[id].len > 0) {
            size_t bucket = max_len - (size_t)tok->texts[id].len;
            tok->specials[count[bucket]++] = id;
            uint8_t first = (uint8_t)tok->texts[id].data[0];
            tok->special_first_bytes[first >> 5] |= 1u << (first & 31);
        }
    }
    free(count);
    tok->n_specials = n;
    return SLLM_OK;
}

static sllm_status read_model_kind(const gguf_file *gguf, struct tokenizer *tok) {
    gguf_string name;
    sllm_status status = gguf_get_string(gguf, KEY_PREFIX "model", &name);
    if (status != SLLM_OK) return core_fail_context(status, "tokenizer");
    if (str_eq(name, "llama")) tok->model = TOK_MODEL_SPM;
    else if (str_eq(name, "gpt2")) tok->model = TOK_MODEL_BPE;
    else
        return core_fail(SLLM_ERR_UNSUPPORTED_TOKENIZER,
                         "tokenizer.ggml.model '%.*s' is not supported (only 'llama' and 'gpt2')",
                         (int)(name.len > 64 ? 64 : name.len), name.data);
    if (tok->model == TOK_MODEL_BPE) {
        gguf_string pre = { NULL, 0 };
        status = gguf_get_string(gguf, KEY_PREFIX "pre", &pre);
        if (status == SLLM_ERR_NOT_FOUND) {
            core_error_clear();
            pre.len = 0;
        } else if (status != SLLM_OK) {
            return core_fail_context(status, "tokenizer");
        }
        status = pretok_kind_from_name(pre.data, (size_t)pre.len, &tok->pre);
        if (status != SLLM_OK) return status;
        tok->ignore_merges = tok->pre == PRETOK_LLAMA3;
    }
    return SLLM_OK;
}

static sllm_status read_vocab(const gguf_file *gguf, struct tokenizer *tok) {
    const gguf_array *tokens;
    sllm_status status = gguf_get_array(gguf, KEY_PREFIX "tokens", &tokens);
    if (status != SLLM_OK) return core_fail_context(status, "tokenizer");
    if (tokens->elem_type != GGUF_TYPE_STRING || tokens->count == 0 || tokens->count > INT32_MAX / 2)
        return core_fail(SLLM_ERR_INVALID_MODEL,
                         "tokenizer.ggml.tokens must be a non-empty array of strings (found %llu of %s)",
                         (unsigned long long)tokens->count, gguf_type_name(tokens->elem_type));
    tok->n_vocab = (int32_t)tokens->count;
    tok->texts = tokens->strings;
    for (int32_t id = 0; id < tok->n_vocab; id++)
        if (tok->texts[id].len > 65536)
            return core_fail(SLLM_ERR_INVALID_MODEL, "tokenizer: token %d is %llu bytes long", (int)id,
                             (unsigned long long)tok->texts[id].len);

    const gguf_array *scores, *types;
    status = read_token_array(gguf, KEY_PREFIX "scores", tok->n_vocab, true, &scores);
    if (status != SLLM_OK) return status;
    status = read_token_array(gguf, KEY_PREFIX "token_type", tok->n_vocab, true, &types);
    if (status != SLLM_OK) return status;
    tok->types = malloc((size_t)tok->n_vocab);
    tok->scores = malloc((size_t)tok->n_vocab * sizeof *tok->scores);
    if (!tok->types || !tok->scores) return core_fail(SLLM_ERR_OUT_OF_MEMORY, "tokenizer: out of memory");
    for (int32_t id = 0; id < tok->n_vocab; id++) {
        int64_t t = types ? gguf_array_get_int(types, (uint64_t)id) : TOK_TYPE_NORMAL;
        tok->types[id] = (t >= 0 && t <= TOK_TYPE_BYTE) ? (uint8_t)t : TOK_TYPE_UNDEFINED;
        tok->scores[id] = scores ? (float)gguf_array_get_float(scores, (uint64_t)id) : 0.0f;
    }
    return SLLM_OK;
}

static sllm_status read_special_ids(const gguf_file *gguf, struct tokenizer *tok) {
    bool spm = tok->model == TOK_MODEL_SPM;
    tok->bos = spm ? 1 : -1;
    tok->eos = spm ? 2 : -1;
    tok->unk = spm ? 0 : -1;
    tok->eot = tok->pad = -1;
    if (tok->n_vocab < 3) tok->bos = tok->eos = tok->unk = -1;
    tok->add_bos = spm || tok->pre == PRETOK_LLAMA3;
    tok->add_eos = false;
    tok->add_space_prefix = spm;
    sllm_status status;
    if ((status = read_token_id(gguf, KEY_PREFIX "bos_token_id", tok->n_vocab, &tok->bos)) ||
        (status = read_token_id(gguf, KEY_PREFIX "eos_token_id", tok->n_vocab, &tok->eos)) ||
        (status = read_token_id(gguf, KEY_PREFIX "eot_token_id", tok->n_vocab, &tok->eot)) ||
        (status = read_token_id(gguf, KEY_PREFIX "unknown_token_id", tok->n_vocab, &tok->unk)) ||
        (status = read_token_id(gguf, KEY_PREFIX "padding_token_id", tok->n_vocab, &tok->pad)) ||
        (status = read_flag(gguf, KEY_PREFIX "add_bos_token", &tok->add_bos)) ||
        (status = read_flag(gguf, KEY_PREFIX "add_eos_token", &tok->add_eos)) ||
        (status = read_flag(gguf, KEY_PREFIX "add_space_prefix", &tok->add_space_prefix)))
        return status;
    if (tok->add_bos && tok->bos < 0)
        return core_fail(SLLM_ERR_INVALID_MODEL, "tokenizer: add_bos_token is set but there is no BOS token");
    if (tok->add_eos && tok->eos < 0)
        return core_fail(SLLM_ERR_INVALID_MODEL, "tokenizer: add_eos_token is set but there is no EOS token");
    return SLLM_OK;
}

sllm_status tokenizer_load(const gguf_file *gguf, struct tokenizer **out) {
    if (gguf == NULL || out == NULL)
        return core_fail(SLLM_ERR_INVALID_ARGUMENT, "tokenizer_load: NULL argument");
    *out = NULL;
    if (gguf_find_kv(gguf, KEY_PREFIX "model") == NULL) return SLLM_OK;
    struct tokenizer *tok = calloc(1, sizeof *tok);
    if (tok == NULL) return core_fail(SLLM_ERR_OUT_OF_MEMORY, "tokenizer: out of memory");
    sllm_status status;
    if ((status = read_model_kind(gguf, tok)) || (status = read_vocab(gguf, tok)) ||
        (status = read_special_ids(gguf, tok)) ||
        (status = tok->model == TOK_MODEL_SPM ? spm_prepare(tok) : bpe_prepare(tok, gguf)) ||
        (status = tok_build_pieces(tok)) || (status = collect_specials(tok)) ||
        (status = mark_eog(tok)))
        goto fail;
    *out = tok;
    return SLLM_OK;
fail:
    tokenizer_free(tok);
    return status;
}

void tokenizer_free(struct tokenizer *tok) {
    if (tok == NULL) return;
    free(tok->types);
    free(tok->scores);
    free(tok->pieces);
    free(tok->piece_offsets);
    free(tok->is_eog);
    tok_dict_free(&tok->dict);
    tok_pair_map_free(&tok->merges);
    tok_pair_map_free(&tok->spm_joinable);
    free(tok->specials);
    free(tok);
}

/* ---- special-token partitioning -------------------------------------------------------- */

typedef struct tok_fragment {
    size_t start, len;
    int32_t token;            /* -1: raw text */
} tok_fragment;

typedef struct special_match {
    size_t pos;
    uint32_t rank;            /* index into tok->specials */
} special_match;

static int compare_matches(const void *a, const void *b) {
    const special_match *x = a, *y = b;
    if (x->rank != y->rank) return x->rank < y->rank ? -1 : 1;
    return (x->pos > y->pos) - (x->pos < y->pos);
}

static int compare_match_pos(const void *a, const void *b) {
    const special_match *x = a, *y = b;
    return (x->pos > y->pos) - (x->pos < y->pos);
}

static bool special_eligible(const struct tokenizer *tok, int32_t id, bool parse_special) {
    return parse_special || tok->types[id] == TOK_TYPE_USER_DEFINED;
}

/* Finds every occurrence of every eligible special token. */
static sllm_status find_special_matches(const struct tokenizer *tok, const char *text, size_t len,
                                        bool parse_special, special_match **matches, size_t *n_matches) {
    size_t cap = 0;
    *matches = NULL;
    *n_matches = 0;
    for (size_t pos = 0; pos < len; pos++) {
        uint8_t c = (uint8_t)text[pos];
        if (!(tok->special_first_bytes[c >> 5] & (1u << (c & 31)))) continue;
        for (size_t r = 0; r < tok->n_specials; r++) {
            int32_t id = tok->specials[r];
            const gguf_string *t = &tok->texts[id];
            if ((uint8_t)t->data[0] != c || t->len > len - pos || !special_eligible(tok, id, parse_special) ||
                memcmp(t->data, text + pos, (size_t)t->len) != 0)
                continue;
            if (*n_matches == cap) {
                size_t new_cap = cap ? cap * 2 : 16;
                special_match *grown = realloc(*matches, new_cap * sizeof *grown);
                if (grown == NULL) return core_fail(SLLM_ERR_OUT_OF_MEMORY, "tokenizer: out of memory");
                *matches = grown;
                cap = new_cap;
            }
            (*matches)[(*n_matches)++] = (special_match){ pos, (uint32_t)r };
        }
    }
    return SLLM_OK;
}

/* Splits text into raw fragments and special tokens exactly as llama.cpp's
 * tokenizer_st_partition: tokens in order (longest first), each taking its leftmost
 * non-overlapping occurrences in the text not yet claimed by an earlier token. */
static sllm_status partition(const struct tokenizer *tok, const char *text, size_t len,
                             bool parse_special, tok_fragment **out, size_t *n_out) {
    special_match *matches = NULL;
    uint8_t *taken = NULL;
    tok_fragment *frags = NULL;
    size_t n_matches = 0, n_accepted = 0, n_frags = 0;
    sllm_status status = find_special_matches(tok, text, len, parse_special, &matches, &n_matches);
    if (status != SLLM_OK) goto fail;
    if (n_matches > 0) {
        taken = calloc(len, 1);
        if (taken == NULL) {
            status = core_fail(SLLM_ERR_OUT_OF_MEMORY, "tokenizer: out of memory");
            goto fail;
        }
        qsort(matches, n_matches, sizeof *matches, compare_matches);
        for (size_t i = 0; i < n_matches; i++) {
            size_t pos = matches[i].pos, n = (size_t)tok->texts[tok->specials[matches[i].rank]].len;
            if (memchr(taken + pos, 1, n) != NULL) continue;
            memset(taken + pos, 1, n);
            matches[n_accepted++] = matches[i];
        }
        qsort(matches, n_accepted, sizeof *matches, compare_match_pos);
    }
    frags = malloc((2 * n_accepted + 1) * sizeof *frags);
    if (frags == NULL) {
        status = core_fail(SLLM_ERR_OUT_OF_MEMORY, "tokenizer: out of memory");
        goto fail;
    }
    size_t at = 0;
    for (size_t i = 0; i < n_accepted; i++) {
        int32_t id = tok->specials[matches[i].rank];
        if (matches[i].pos > at) frags[n_frags++] = (tok_fragment){ at, matches[i].pos - at, -1 };
        frags[n_frags++] = (tok_fragment){ matches[i].pos, (size_t)tok->texts[id].len, id };
        at = matches[i].pos + (size_t)tok->texts[id].len;
    }
    if (at < len) frags[n_frags++] = (tok_fragment){ at, len - at, -1 };
    free(matches);
    free(taken);
    *out = frags;
    *n_out = n_frags;
    return SLLM_OK;
fail:
    free(matches);
    free(taken);
    free(frags);
    return status;
}

sllm_status tok_tokenize(const struct tokenizer *tok, const char *text, size_t len, bool add_special,
                         bool parse_special, tok_ids *out) {
    tok_fragment *frags = NULL;
    size_t n_frags = 0;
    tok_session session;
    tok_session_init(&session, tok);
    sllm_status status = SLLM_OK;
    if (add_special && tok->add_bos && (status = tok_ids_push(out, tok->bos)) != SLLM_OK) goto done;
    if (len > 0 && (status = partition(tok, text, len, parse_special, &frags, &n_frags)) != SLLM_OK)
        goto done;
    bool prev_special = true; /* SentencePiece prefixes a space at the start and after specials */
    for (size_t i = 0; i < n_frags; i++) {
        const tok_fragment *f = &frags[i];
        if (f->token >= 0) {
            status = tok_ids_push(out, f->token);
            prev_special = true;
        } else if (tok->model == TOK_MODEL_SPM) {
            status = spm_encode(&session, text + f->start, f->len, tok->add_space_prefix && prev_special, out);
            prev_special = false;
        } else {
            status = bpe_encode(&session, text + f->start, f->len, out);
        }
        if (status != SLLM_OK) goto done;
    }
    if (add_special && tok->add_eos) status = tok_ids_push(out, tok->eos);
done:
    free(frags);
    tok_session_free(&session);
    return status;
}
