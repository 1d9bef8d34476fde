/* Tests for lib/cache: hash-chain known answers, prefix index, block pool eviction rules. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache/block_pool.h"
#include "cache/hash_chain.h"
#include "testutil.h"

/* Known answers computed independently with Python's hashlib.blake2b(key=..., digest_size=32)
 * over the encoding in ARCHITECTURE.md (fields length-prefixed as uint64 little-endian). */
static const char *const root_with_salt_hex = "19269fc5af23fbfe192aa2a921702ef574bd436a0812248980025852c2be74e3";
static const char *const block1_hex = "4d7bd7597aa3b80265ff04ec13a1c8aa4bc16bb551fbffa0998bf5271312c118";
static const char *const block2_hex = "c790c785de18375603626814fb48d7c8ceb608dcf2afd6efc6eab9f9fd976c36";
static const char *const root_no_salt_hex = "70b8f3475f05ba39da6a28bbf6b59e9e6b843bb46b03d38cd51a148b24e8b467";
static const char *const negative_token_hex = "0edc2e06e041302a0d086d7a8279f07080963e815263f29d92877bce6f9000d4";

static void to_hex(const block_hash *hash, char out[2 * HASH_BYTES + 1]) {
    for (int i = 0; i < HASH_BYTES; i++) sprintf(out + 2 * i, "%02x", hash->bytes[i]);
}

static void test_key(uint8_t key[HASH_KEY_BYTES], uint8_t model_id[HASH_BYTES]) {
    for (int i = 0; i < HASH_KEY_BYTES; i++) key[i] = (uint8_t)i;
    memset(model_id, 0xAA, HASH_BYTES);
}

START_TEST(test_hash_chain_matches_known_answers) {
    uint8_t key[HASH_KEY_BYTES], model_id[HASH_BYTES];
    test_key(key, model_id);
    block_hash root, blocks[2];
    char hex[2 * HASH_BYTES + 1];
    hash_chain_root(key, model_id, "test-layout", (const uint8_t *)"tenant-a", 8, &root);
    to_hex(&root, hex);
    ck_assert_str_eq(hex, root_with_salt_hex);
    int32_t tokens[33];
    for (int i = 0; i < 33; i++) tokens[i] = 100 + i;
    hash_chain_blocks(key, &root, tokens, 33, 16, blocks); /* the partial third block is ignored */
    to_hex(&blocks[0], hex);
    ck_assert_str_eq(hex, block1_hex);
    to_hex(&blocks[1], hex);
    ck_assert_str_eq(hex, block2_hex);
}
END_TEST

START_TEST(test_empty_salt_and_negative_tokens_hash_as_specified) {
    uint8_t key[HASH_KEY_BYTES], model_id[HASH_BYTES];
    test_key(key, model_id);
    block_hash root, salted, block;
    char hex[2 * HASH_BYTES + 1];
    hash_chain_root(key, model_id, "test-layout", NULL, 0, &root);
    to_hex(&root, hex);
    ck_assert_str_eq(hex, root_no_salt_hex);
    hash_chain_root(key, model_id, "test-layout", (const uint8_t *)"tenant-a", 8, &salted);
    int32_t tokens[16] = { -1, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5 };
    hash_chain_next(key, &salted, tokens, 16, &block);
    to_hex(&block, hex);
    ck_assert_str_eq(hex, negative_token_hex);
}
END_TEST

START_TEST(test_different_salts_and_keys_give_different_roots) {
    uint8_t key[HASH_KEY_BYTES], model_id[HASH_BYTES];
    test_key(key, model_id);
    block_hash a, b, c;
    hash_chain_root(key, model_id, "L", (const uint8_t *)"a", 1, &a);
    hash_chain_root(key, model_id, "L", (const uint8_t *)"b", 1, &b);
    ck_assert(memcmp(a.bytes, b.bytes, HASH_BYTES) != 0);
    key[0] ^= 1;
    hash_chain_root(key, model_id, "L", (const uint8_t *)"a", 1, &c);
    ck_assert(memcmp(a.bytes, c.bytes, HASH_BYTES) != 0);
}
END_TEST

static block_hash hash_of(uint32_t seed) {
    block_hash h;
    for (int i = 0; i < HASH_BYTES; i++) h.bytes[i] = (uint8_t)((seed * 2654435761u) >> (i % 4 * 8)) ^ (uint8_t)i;
    memcpy(h.bytes, &seed, sizeof seed); /* force distinct low bytes, and collisions of slots */
    return h;
}

START_TEST(test_prefix_index_survives_many_inserts_and_removals) {
    enum { N = 500 };
    prefix_index index;
    ck_assert_int_eq(prefix_index_init(&index, N), SLLM_OK);
    /* Seeds that share low bits land in the same probe run, exercising backward shifts. */
    for (int32_t i = 0; i < N; i++) {
        block_hash h = hash_of((uint32_t)i * 1024u);
        ck_assert_int_eq(prefix_index_insert(&index, &h, i), -1);
    }
    for (int32_t i = 0; i < N; i += 3) {
        block_hash h = hash_of((uint32_t)i * 1024u);
        prefix_index_remove(&index, &h, i);
    }
    for (int32_t i = 0; i < N; i++) {
        block_hash h = hash_of((uint32_t)i * 1024u);
        ck_assert_int_eq(prefix_index_find(&index, &h), i % 3 == 0 ? -1 : i);
    }
    block_hash again = hash_of(1024u);
    ck_assert_int_eq(prefix_index_insert(&index, &again, 77), 1); /* already held by block 1 */
    prefix_index_destroy(&index);
}
END_TEST

/* A chain of n blocks whose tokens are base, base+1, ... */
typedef struct chain {
    block_hash root;
    block_hash hashes[8];
    int32_t tokens[8 * 4];
} chain;

static void make_chain(chain *c, const char *salt, int32_t base, size_t n_blocks) {
    uint8_t key[HASH_KEY_BYTES], model_id[HASH_BYTES];
    test_key(key, model_id);
    hash_chain_root(key, model_id, "L", (const uint8_t *)salt, strlen(salt), &c->root);
    for (size_t i = 0; i < n_blocks * 4; i++) c->tokens[i] = base + (int32_t)i;
    hash_chain_blocks(key, &c->root, c->tokens, n_blocks * 4, 4, c->hashes);
}

/* Allocates, registers and releases a chain as a finished request would. */
static void store_chain(kv_pool *pool, const chain *c, size_t n_blocks, int32_t *ids) {
    for (size_t i = 0; i < n_blocks; i++) {
        ck_assert_int_eq(kv_pool_alloc(pool, &ids[i]), SLLM_OK);
        const block_hash *parent = i == 0 ? &c->root : &c->hashes[i - 1];
        ck_assert(kv_pool_register(pool, ids[i], parent, &c->hashes[i], c->tokens + 4 * i));
    }
    kv_pool_release(pool, ids, n_blocks);
}

START_TEST(test_stored_prefix_is_found_and_pinned) {
    kv_pool pool;
    ck_assert_int_eq(kv_pool_init(&pool, 8, 4), SLLM_OK);
    chain c;
    make_chain(&c, "", 10, 3);
    int32_t ids[3], found[3];
    store_chain(&pool, &c, 3, ids);
    kv_pool_stats stats;
    kv_pool_get_stats(&pool, &stats);
    ck_assert_uint_eq(stats.n_cached, 3);
    ck_assert_uint_eq(stats.n_free, 5);
    ck_assert_uint_eq(kv_pool_match(&pool, &c.root, c.hashes, c.tokens, 3, found), 3);
    ck_assert_mem_eq(found, ids, sizeof ids);
    kv_pool_get_stats(&pool, &stats);
    ck_assert_uint_eq(stats.n_used, 3);
    ck_assert_uint_eq(stats.n_cached, 0);
    kv_pool_release(&pool, found, 3);
    kv_pool_destroy(&pool);
}
END_TEST

START_TEST(test_salted_chain_shares_no_block) {
    kv_pool pool;
    ck_assert_int_eq(kv_pool_init(&pool, 8, 4), SLLM_OK);
    chain a, b;
    make_chain(&a, "tenant-a", 10, 2);
    make_chain(&b, "tenant-b", 10, 2);
    int32_t ids[2], found[2];
    store_chain(&pool, &a, 2, ids);
    ck_assert_uint_eq(kv_pool_match(&pool, &b.root, b.hashes, b.tokens, 2, found), 0);
    kv_pool_destroy(&pool);
}
END_TEST

START_TEST(test_forced_hash_collision_is_caught_by_token_comparison) {
    kv_pool pool;
    ck_assert_int_eq(kv_pool_init(&pool, 8, 4), SLLM_OK);
    chain a, b;
    make_chain(&a, "", 10, 1);
    make_chain(&b, "", 500, 1);
    int32_t ids[1], found[1];
    store_chain(&pool, &a, 1, ids);
    /* Pretend b's block hashes to the same value as a's: same hash, other tokens. */
    ck_assert_uint_eq(kv_pool_match(&pool, &b.root, a.hashes, b.tokens, 1, found), 0);
    /* Same hash and tokens but another parent (a collision one block up) is refused too. */
    block_hash other_root = b.root;
    other_root.bytes[0] ^= 0xFF;
    ck_assert_uint_eq(kv_pool_match(&pool, &other_root, a.hashes, a.tokens, 1, found), 0);
    ck_assert_uint_eq(kv_pool_match(&pool, &a.root, a.hashes, a.tokens, 1, found), 1);
    kv_pool_release(&pool, found, 1);
    kv_pool_destroy(&pool);
}
END_TEST

START_TEST(test_least_recently_released_block_is_evicted_first_and_tails_before_prefixes) {
    kv_pool pool;
    ck_assert_int_eq(kv_pool_init(&pool, 4, 4), SLLM_OK);
    chain a, b;
    make_chain(&a, "", 10, 3);
    make_chain(&b, "", 900, 1);
    int32_t ids_a[3], ids_b[1], fresh;
    store_chain(&pool, &a, 3, ids_a); /* released tail-first: a2, a1, a0 */
    store_chain(&pool, &b, 1, ids_b); /* the pool is now full of cached blocks */
    ck_assert_int_eq(kv_pool_alloc(&pool, &fresh), SLLM_OK);
    ck_assert_int_eq(fresh, ids_a[2]);       /* a's tail goes first */
    kv_pool_stats stats;
    kv_pool_get_stats(&pool, &stats);
    ck_assert_uint_eq(stats.evictions, 1);
    int32_t found[3];
    ck_assert_uint_eq(kv_pool_match(&pool, &a.root, a.hashes, a.tokens, 3, found), 2);
    kv_pool_release(&pool, found, 2);
    kv_pool_release(&pool, &fresh, 1);       /* unregistered: back to the free stack */
    kv_pool_get_stats(&pool, &stats);
    ck_assert_uint_eq(stats.n_free, 1);
    ck_assert_uint_eq(stats.n_cached, 3);
    kv_pool_destroy(&pool);
}
END_TEST

START_TEST(test_pool_with_every_block_pinned_reports_kv_budget) {
    kv_pool pool;
    ck_assert_int_eq(kv_pool_init(&pool, 2, 4), SLLM_OK);
    int32_t a, b, c;
    ck_assert_int_eq(kv_pool_alloc(&pool, &a), SLLM_OK);
    ck_assert_int_eq(kv_pool_alloc(&pool, &b), SLLM_OK);
    ck_assert_int_eq(kv_pool_alloc(&pool, &c), SLLM_ERR_KV_BUDGET);
    ck_assert_str_eq(sllm_last_error(), "KV cache: all 2 blocks are in use");
    kv_pool_release(&pool, &a, 1);
    ck_assert_int_eq(kv_pool_alloc(&pool, &c), SLLM_OK);
    ck_assert_int_eq(c, a);
    kv_pool_destroy(&pool);
}
END_TEST

START_TEST(test_duplicate_registration_keeps_the_first_block) {
    kv_pool pool;
    ck_assert_int_eq(kv_pool_init(&pool, 4, 4), SLLM_OK);
    chain a;
    make_chain(&a, "", 10, 1);
    int32_t first, second, found;
    ck_assert_int_eq(kv_pool_alloc(&pool, &first), SLLM_OK);
    ck_assert_int_eq(kv_pool_alloc(&pool, &second), SLLM_OK);
    ck_assert(kv_pool_register(&pool, first, &a.root, &a.hashes[0], a.tokens));
    ck_assert(!kv_pool_register(&pool, second, &a.root, &a.hashes[0], a.tokens));
    kv_pool_release(&pool, &second, 1);
    kv_pool_release(&pool, &first, 1);
    ck_assert_uint_eq(kv_pool_match(&pool, &a.root, a.hashes, a.tokens, 1, &found), 1);
    ck_assert_int_eq(found, first);
    kv_pool_release(&pool, &found, 1);
    kv_pool_evict_all(&pool);
    ck_assert_uint_eq(kv_pool_match(&pool, &a.root, a.hashes, a.tokens, 1, &found), 0);
    kv_pool_destroy(&pool);
}
END_TEST

static Suite *cache_suite(void) {
    Suite *suite = suite_create("cache");
    TCase *hashing = tcase_create("hash_chain");
    tcase_add_test(hashing, test_hash_chain_matches_known_answers);
    tcase_add_test(hashing, test_empty_salt_and_negative_tokens_hash_as_specified);
    tcase_add_test(hashing, test_different_salts_and_keys_give_different_roots);
    suite_add_tcase(suite, hashing);
    TCase *pool = tcase_create("block_pool");
    tcase_add_test(pool, test_prefix_index_survives_many_inserts_and_removals);
    tcase_add_test(pool, test_stored_prefix_is_found_and_pinned);
    tcase_add_test(pool, test_salted_chain_shares_no_block);
    tcase_add_test(pool, test_forced_hash_collision_is_caught_by_token_comparison);
    tcase_add_test(pool, test_least_recently_released_block_is_evicted_first_and_tails_before_prefixes);
    tcase_add_test(pool, test_pool_with_every_block_pinned_reports_kv_budget);
    tcase_add_test(pool, test_duplicate_registration_keeps_the_first_block);
    suite_add_tcase(suite, pool);
    return suite;
}

int main(void) { return testutil_run_suite(cache_suite()) == 0 ? 0 : 1; }
