/* Tokenizer building blocks: growable arrays, the string dictionary, the merge-pair map, the
 * per-call word cache and the symbol merge loop shared by SentencePiece and BPE. */
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tokenizer.h"

static sllm_status grow(void **data, size_t *cap, size_t need, size_t elem_size, const char *what) {
    if (need <= *cap) return SLLM_OK;
    size_t new_cap = *cap ? *cap : 16;
    while (new_cap < need) {
        if (new_cap > SIZE_MAX / 2 / elem_size)
            return core_fail(SLLM_ERR_OUT_OF_MEMORY, "tokenizer: %s too large", what);
        new_cap *= 2;
    }
    void *grown = realloc(*data, new_cap * elem_size);
    if (grown == NULL) return core_fail(SLLM_ERR_OUT_OF_MEMORY, "tokenizer: out of memory (%s)", what);
    *data = grown;
    *cap = new_cap;
    return SLLM_OK;
}

sllm_status tok_ids_reserve(tok_ids *ids, size_t extra) {
    if (extra > SIZE_MAX - ids->len) return core_fail(SLLM_ERR_OUT_OF_MEMORY, "tokenizer: too many tokens");
    return grow((void **)&ids->data, &ids->cap, ids->len + extra, sizeof *ids->data, "token array");
}

void tok_ids_free(tok_ids *ids) {
    free(ids->data);
    memset(ids, 0, sizeof *ids);
}

sllm_status tok_bytes_append(tok_bytes *bytes, const char *data, size_t len) {
    if (len > SIZE_MAX - bytes->len - 1) return core_fail(SLLM_ERR_OUT_OF_MEMORY, "tokenizer: text too large");
    sllm_status status = grow((void **)&bytes->data, &bytes->cap, bytes->len + len + 1, 1, "byte buffer");
    if (status != SLLM_OK) return status;
    if (len) memcpy(bytes->data + bytes->len, data, len);
    bytes->len += len;
    bytes->data[bytes->len] = 0;
    return SLLM_OK;
}

void tok_bytes_free(tok_bytes *bytes) {
    free(bytes->data);
    memset(bytes, 0, sizeof *bytes);
}

/* ---- hashing and the dictionary ----------------------------------------------------- */

uint32_t tok_hash_bytes(const char *data, size_t len) {
    uint64_t h = 0x9E3779B97F4A7C15ull ^ (uint64_t)len;
    while (len >= 8) {
        uint64_t v;
        memcpy(&v, data, 8);
        h = (h ^ v) * 0xff51afd7ed558ccdull;
        h ^= h >> 32;
        data += 8;
        len -= 8;
    }
    uint64_t v = 0;
    if (len) memcpy(&v, data, len);
    h = (h ^ v) * 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 29;
    h *= 0x9E3779B97F4A7C15ull;
    return (uint32_t)(h >> 32);
}

static int64_t dict_find_slot(const tok_dict *dict, const char *data, size_t len, uint32_t hash,
                              bool *found) {
    size_t slot = hash & dict->mask;
    for (;;) {
        uint32_t index = dict->slots[slot];
        if (index == 0) {
            *found = false;
            return (int64_t)slot;
        }
        const tok_dict_entry *entry = &dict->entries[index - 1];
        if (entry->hash == hash && entry->len == len &&
            memcmp(dict->bytes + entry->offset, data, len) == 0) {
            *found = true;
            return (int64_t)slot;
        }
        slot = (slot + 1) & dict->mask;
    }
}

int32_t tok_dict_get(const tok_dict *dict, const char *data, size_t len) {
    if (dict->slots == NULL) return -1;
    bool found;
    int64_t slot = dict_find_slot(dict, data, len, tok_hash_bytes(data, len), &found);
    return found ? dict->entries[dict->slots[slot] - 1].value : -1;
}

static sllm_status dict_rehash(tok_dict *dict, size_t n_slots) {
    uint32_t *slots = calloc(n_slots, sizeof *slots);
    if (slots == NULL) return core_fail(SLLM_ERR_OUT_OF_MEMORY, "tokenizer: out of memory (dictionary)");
    free(dict->slots);
    dict->slots = slots;
    dict->mask = n_slots - 1;
    for (size_t i = 0; i < dict->n_entries; i++) {
        size_t slot = dict->entries[i].hash & dict->mask;
        while (slots[slot] != 0) slot = (slot + 1) & dict->mask;
        slots[slot] = (uint32_t)(i + 1);
    }
    return SLLM_OK;
}

static sllm_status dict_insert(tok_dict *dict, const char *data, size_t len, int32_t value,
                               bool overwrite, int32_t *stored) {
    sllm_status status;
    if (dict->slots == NULL || (dict->n_entries + 1) * 2 > dict->mask + 1) {
        status = dict_rehash(dict, dict->slots ? (dict->mask + 1) * 2 : 1024);
        if (status != SLLM_OK) return status;
    }
    if (len > UINT32_MAX || dict->n_bytes > UINT32_MAX - len)
        return core_fail(SLLM_ERR_INVALID_MODEL, "tokenizer: vocabulary text too large");
    uint32_t hash = tok_hash_bytes(data, len);
    bool found;
    int64_t slot = dict_find_slot(dict, data, len, hash, &found);
    if (found) {
        tok_dict_entry *entry = &dict->entries[dict->slots[slot] - 1];
        if (overwrite) entry->value = value;
        if (stored) *stored = entry->value;
        return SLLM_OK;
    }
    status = grow((void **)&dict->entries, &dict->cap_entries, dict->n_entries + 1,
                  sizeof *dict->entries, "dictionary");
    if (status != SLLM_OK) return status;
    status = grow((void **)&dict->bytes, &dict->cap_bytes, dict->n_bytes + len + 1, 1, "dictionary");
    if (status != SLLM_OK) return status;
    if (len) memcpy(dict->bytes + dict->n_bytes, data, len);
    dict->entries[dict->n_entries] = (tok_dict_entry){ (uint32_t)dict->n_bytes, (uint32_t)len, hash, value };
    dict->n_bytes += len;
    dict->slots[slot] = (uint32_t)(++dict->n_entries);
    if (stored) *stored = value;
    return SLLM_OK;
}

sllm_status tok_dict_put(tok_dict *dict, const char *data, size_t len, int32_t value) {
    return dict_insert(dict, data, len, value, true, NULL);
}

sllm_status tok_dict_intern(tok_dict *dict, const char *data, size_t len, int32_t value_if_new,
                            int32_t *value) {
    return dict_insert(dict, data, len, value_if_new, false, value);
}

sllm_status tok_dict_reserve(tok_dict *dict, size_t n) {
    size_t n_slots = 1024;
    while (n_slots < n * 2 + 2) n_slots *= 2;
    if (dict->slots != NULL && n_slots <= dict->mask + 1) return SLLM_OK;
    return dict_rehash(dict, n_slots);
}

void tok_dict_free(tok_dict *dict) {
    free(dict->bytes);
    free(dict->entries);
    free(dict->slots);
    memset(dict, 0, sizeof *dict);
}

/* ---- pair map --------------------------------------------------------------------------- */

sllm_status tok_pair_map_init(tok_pair_map *map, size_t expected) {
    size_t n_slots = 1024;
    while (n_slots < expected * 2 + 2) n_slots *= 2;
    memset(map, 0, sizeof *map);
    map->keys = malloc(n_slots * sizeof *map->keys);
    map->ranks = malloc(n_slots * sizeof *map->ranks);
    map->results = malloc(n_slots * sizeof *map->results);
    if (!map->keys || !map->ranks || !map->results) {
        tok_pair_map_free(map);
        return core_fail(SLLM_ERR_OUT_OF_MEMORY, "tokenizer: out of memory (merge table)");
    }
    memset(map->keys, 0xff, n_slots * sizeof *map->keys);
    map->mask = n_slots - 1;
    return SLLM_OK;
}

static sllm_status pair_map_grow(tok_pair_map *map) {
    tok_pair_map bigger;
    sllm_status status = tok_pair_map_init(&bigger, (map->mask + 1));
    if (status != SLLM_OK) return status;
    for (size_t i = 0; i <= map->mask; i++) {
        if (map->keys[i] == UINT64_MAX) continue;
        status = tok_pair_map_put(&bigger, (uint32_t)(map->keys[i] >> 32), (uint32_t)map->keys[i],
                                  map->ranks[i], map->results[i]);
        if (status != SLLM_OK) {
            tok_pair_map_free(&bigger);
            return status;
        }
    }
    tok_pair_map_free(map);
    *map = bigger;
    return SLLM_OK;
}

sllm_status tok_pair_map_put(tok_pair_map *map, uint32_t left, uint32_t right, int32_t rank,
                             int32_t result) {
    if ((map->count + 1) * 2 > map->mask + 1) {
        sllm_status status = pair_map_grow(map);
        if (status != SLLM_OK) return status;
    }
    uint64_t key = ((uint64_t)left << 32) | right;
    size_t slot = (size_t)((key * 0x9E3779B97F4A7C15ull) >> 20) & map->mask;
    while (map->keys[slot] != UINT64_MAX) {
        if (map->keys[slot] == key) return SLLM_OK;
        slot = (slot + 1) & map->mask;
    }
    map->keys[slot] = key;
    map->ranks[slot] = rank;
    map->results[slot] = result;
    map->count++;
    return SLLM_OK;
}

void tok_pair_map_free(tok_pair_map *map) {
    free(map->keys);
    free(map->ranks);
    free(map->results);
    memset(map, 0, sizeof *map);
}

/* ---- session, cache and the merge loop ------------------------------------------------- */

void tok_session_init(tok_session *session, const struct tokenizer *tok) {
    memset(session, 0, sizeof *session);
    session->tok = tok;
}

void tok_session_free(tok_session *session) {
    free(session->symbols);
    free(session->heap);
    tok_bytes_free(&session->escaped);
    free(session->spans);
    free(session->cache.entries);
    free(session->cache.slots);
    tok_bytes_free(&session->cache.keys);
    tok_ids_free(&session->cache.ids);
    memset(session, 0, sizeof *session);
}

sllm_status tok_session_reserve_symbols(tok_session *session, size_t n) {
    if (n > INT32_MAX) return core_fail(SLLM_ERR_OUT_OF_MEMORY, "tokenizer: fragment of %zu symbols is too long", n);
    return grow((void **)&session->symbols, &session->cap_symbols, n, sizeof *session->symbols, "symbols");
}

enum { CACHE_SLOTS = 1 << 16, CACHE_MAX_ENTRIES = CACHE_SLOTS / 2 };

bool tok_cache_lookup(const tok_cache *cache, const char *word, size_t len, uint32_t hash,
                      tok_ids *out, sllm_status *status) {
    *status = SLLM_OK;
    if (cache->slots == NULL) return false;
    size_t slot = hash & (CACHE_SLOTS - 1);
    for (;;) {
        uint32_t index = cache->slots[slot];
        if (index == 0) return false;
        const tok_cache_entry *entry = &cache->entries[index - 1];
        if (entry->hash == hash && entry->key_len == len &&
            memcmp(cache->keys.data + entry->key_offset, word, len) == 0) {
            *status = tok_ids_reserve(out, entry->n_ids);
            if (*status != SLLM_OK) return true;
            if (entry->n_ids)
                memcpy(out->data + out->len, cache->ids.data + entry->ids_offset, entry->n_ids * sizeof(int32_t));
            out->len += entry->n_ids;
            return true;
        }
        slot = (slot + 1) & (CACHE_SLOTS - 1);
    }
}

sllm_status tok_cache_store(tok_cache *cache, const char *word, size_t len, uint32_t hash,
                            const int32_t *ids, size_t n_ids) {
    if (len > TOK_CACHE_MAX_KEY || cache->n_entries >= CACHE_MAX_ENTRIES) return SLLM_OK;
    if (cache->slots == NULL) {
        cache->slots = calloc(CACHE_SLOTS, sizeof *cache->slots);
        cache->entries = malloc(CACHE_MAX_ENTRIES * sizeof *cache->entries);
        if (!cache->slots || !cache->entries)
            return core_fail(SLLM_ERR_OUT_OF_MEMORY, "tokenizer: out of memory (word cache)");
    }
    tok_cache_entry entry = { hash, (uint32_t)cache->keys.len, (uint32_t)len, (uint32_t)cache->ids.len,
                              (uint32_t)n_ids };
    sllm_status status = tok_bytes_append(&cache->keys, word, len);
    if (status != SLLM_OK) return status;
    status = tok_ids_reserve(&cache->ids, n_ids);
    if (status != SLLM_OK) return status;
    if (n_ids) memcpy(cache->ids.data + cache->ids.len, ids, n_ids * sizeof *ids);
    cache->ids.len += n_ids;
    size_t slot = hash & (CACHE_SLOTS - 1);
    while (cache->slots[slot] != 0) slot = (slot + 1) & (CACHE_SLOTS - 1);
    cache->entries[cache->n_entries] = entry;
    cache->slots[slot] = (uint32_t)(++cache->n_entries);
    return SLLM_OK;
}

/* Heap order: higher key first; equal keys -> leftmost first (llama.cpp's tie rule). */
static inline bool bigram_before(const tok_bigram *a, const tok_bigram *b) {
    return a->key > b->key || (a->key == b->key && a->left < b->left);
}

static sllm_status heap_push(tok_session *session, tok_bigram bigram) {
    if (session->n_heap == session->cap_heap) {
        sllm_status status = grow((void **)&session->heap, &session->cap_heap, session->n_heap + 1,
                                  sizeof *session->heap, "merge queue");
        if (status != SLLM_OK) return status;
    }
    tok_bigram *heap = session->heap;
    size_t i = session->n_heap++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!bigram_before(&bigram, &heap[parent])) break;
        heap[i] = heap[parent];
        i = parent;
    }
    heap[i] = bigram;
    return SLLM_OK;
}

static tok_bigram heap_pop(tok_session *session) {
    tok_bigram *heap = session->heap;
    tok_bigram top = heap[0];
    tok_bigram last = heap[--session->n_heap];
    size_t n = session->n_heap, i = 0;
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= n) break;
        if (child + 1 < n && bigram_before(&heap[child + 1], &heap[child])) child++;
        if (!bigram_before(&heap[child], &last)) break;
        heap[i] = heap[child];
        i = child;
    }
    if (n) heap[i] = last;
    return top;
}

static sllm_status try_add_bigram(tok_session *session, const char *word, int32_t left,
                                  int32_t right, tok_pair_fn pair_fn) {
    if (left < 0 || right < 0) return SLLM_OK;
    const tok_symbol *l = &session->symbols[left], *r = &session->symbols[right];
    tok_bigram bigram = { 0, left, right, l->len + r->len, 0 };
    if (!pair_fn(session, word, l, r, &bigram.key, &bigram.value)) return SLLM_OK;
    return heap_push(session, bigram);
}

sllm_status tok_merge(tok_session *session, const char *word, size_t n_symbols, tok_pair_fn pair_fn) {
    sllm_status status;
    session->n_heap = 0;
    for (size_t i = 1; i < n_symbols; i++) {
        status = try_add_bigram(session, word, (int32_t)i - 1, (int32_t)i, pair_fn);
        if (status != SLLM_OK) return status;
    }
    tok_symbol *symbols = session->symbols;
    while (session->n_heap > 0) {
        tok_bigram bigram = heap_pop(session);
        tok_symbol *left = &symbols[bigram.left], *right = &symbols[bigram.right];
        /* Stale when either side has been merged since (lengths only ever grow). */
        if (left->len == 0 || right->len == 0 || left->len + right->len != bigram.size) continue;
        left->len += right->len;
        left->value = bigram.value;
        right->len = 0;
        left->next = right->next;
        if (right->next >= 0) symbols[right->next].prev = bigram.left;
        status = try_add_bigram(session, word, left->prev, bigram.left, pair_fn);
        if (status != SLLM_OK) return status;
        status = try_add_bigram(session, word, bigram.left, left->next, pair_fn);
        if (status != SLLM_OK) return status;
    }
    return SLLM_OK;
}

size_t tok_utf8_decode(const uint8_t *s, size_t len, uint32_t *cp) {
    if (len == 0) return 0;
    uint8_t b0 = s[0];
    if (b0 < 0x80) {
        *cp = b0;
        return 1;
    }
    size_t n;
    uint32_t value, min;
    if ((b0 & 0xE0) == 0xC0) { n = 2; value = b0 & 0x1F; min = 0x80; }
    else if ((b0 & 0xF0) == 0xE0) { n = 3; value = b0 & 0x0F; min = 0x800; }
    else if ((b0 & 0xF8) == 0xF0) { n = 4; value = b0 & 0x07; min = 0x10000; }
    else return 0;
    if (len < n) return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        value = (value << 6) | (s[i] & 0x3F);
    }
    if (value < min || value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF)) return 0;
    *cp = value;
    return n;
}
