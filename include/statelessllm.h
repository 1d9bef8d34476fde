/* statelessllm.h — the public C API of libstatelessllm.
 *
 * An embeddable inference library for Llama-family models in GGUF files. Every
 * generate() call receives the whole conversation; the library keeps no sessions.
 * Re-sent history is cheap because K/V state lives in a paged cache keyed by hashes
 * of token-block prefixes.
 *
 * Conventions (they hold for every function below):
 *  - Functions that can fail return sllm_status. SLLM_OK is 0; every other value is
 *    a specific failure. Numeric values are stable and never reused.
 *  - When a call fails, a message naming the problem is stored for the calling
 *    thread and returned by sllm_last_error() until that thread's next failing call.
 *  - Handles are opaque. Structs are passed by pointer. Every params/result struct
 *    begins with `size_t struct_size` and is filled with defaults by its
 *    sllm_*_init() function; new fields are only ever appended.
 *  - The library never aborts, exits or prints. Log lines go to a callback the host
 *    sets per handle; without one the library is silent.
 *  - There is no global state and no init() to call first.
 */
#ifndef STATELESSLLM_H
#define STATELESSLLM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define SLLM_API __declspec(dllexport)
#elif defined(__GNUC__)
#define SLLM_API __attribute__((visibility("default")))
#else
#define SLLM_API
#endif

/* ---- Version ------------------------------------------------------------ */

#define SLLM_VERSION_MAJOR 0
#define SLLM_VERSION_MINOR 1
#define SLLM_VERSION_PATCH 0
#define SLLM_VERSION_NUMBER (SLLM_VERSION_MAJOR * 10000 + SLLM_VERSION_MINOR * 100 + SLLM_VERSION_PATCH)
#define SLLM_VERSION_STRING "0.1.0"

/* The version of the library actually loaded, as "MAJOR.MINOR.PATCH". Compare with
 * SLLM_VERSION_STRING to detect a header/library mismatch. Static storage. */
SLLM_API const char *sllm_version(void);
/* The same as MAJOR * 10000 + MINOR * 100 + PATCH. */
SLLM_API int sllm_version_number(void);

/* ---- Status codes --------------------------------------------------------- */

typedef enum sllm_status {
    SLLM_OK = 0,
    SLLM_ERR_INVALID_ARGUMENT = 1,   /* NULL pointer, bad flag, struct_size too small */
    SLLM_ERR_OUT_OF_MEMORY = 2,
    SLLM_ERR_IO = 3,                 /* open/stat/mmap failed */
    SLLM_ERR_BAD_MAGIC = 4,          /* not a GGUF file */
    SLLM_ERR_UNSUPPORTED_VERSION = 5,/* GGUF version other than 2 or 3 */
    SLLM_ERR_TRUNCATED = 6,          /* a field or tensor runs past the end of the file */
    SLLM_ERR_CORRUPT = 7,            /* malformed: overflow, bad alignment, overlap, bad type id */
    SLLM_ERR_UNSUPPORTED_TYPE = 8,   /* a tensor type the library cannot compute */
    SLLM_ERR_UNSUPPORTED_ARCH = 9,   /* general.architecture not supported */
    SLLM_ERR_INVALID_MODEL = 10,     /* a tensor or hyper-parameter is missing or has the wrong shape */
    SLLM_ERR_NOT_FOUND = 11,         /* no metadata key / tensor of that name */
    SLLM_ERR_TYPE_MISMATCH = 12,     /* metadata value is of another type */
    SLLM_ERR_BUFFER_TOO_SMALL = 13,  /* output capacity short; the needed size is reported */
    SLLM_ERR_INVALID_UTF8 = 14,
    SLLM_ERR_UNSUPPORTED_TOKENIZER = 15, /* tokenizer model or pre-tokenizer unknown */
    SLLM_ERR_CHAT_TEMPLATE = 16,     /* no built-in chat template matches */
    SLLM_ERR_INVALID_JSON = 17,
    SLLM_ERR_INVALID_ROLE = 18,
    SLLM_ERR_CONTEXT_OVERFLOW = 19,  /* prompt longer than the model's context */
    SLLM_ERR_INVALID_SAMPLING = 20,  /* a sampling value out of range */
    SLLM_ERR_KV_BUDGET = 21,         /* KV budget too small for one request */
    SLLM_ERR_CANCELLED = 22,
    SLLM_ERR_BACKEND = 23,           /* backend unavailable or failed */
    SLLM_ERR_INVALID_TOKEN = 24,     /* token id outside the vocabulary */
    SLLM_ERR_INVALID_REQUEST = 25,   /* request malformed: no messages, bad max_tokens, ... */
    SLLM_ERR_INTERNAL = 26           /* a bug in the library; please report it */
} sllm_status;

/* A short, static, English name for a status ("SLLM_ERR_TRUNCATED: file truncated"). */
SLLM_API const char *sllm_status_string(sllm_status status);

/* The detailed message of the calling thread's most recent failure, e.g.
 * "tensor 'blk.0.attn_q.weight' has type IQ2_XXS, which is not supported".
 * Never NULL ("" when nothing failed yet). Valid until this thread's next failing
 * call into the library. */
SLLM_API const char *sllm_last_error(void);

/* ---- Logging ---------------------------------------------------------------- */

typedef enum sllm_log_level {
    SLLM_LOG_ERROR = 0,
    SLLM_LOG_WARN = 1,
    SLLM_LOG_INFO = 2,
    SLLM_LOG_DEBUG = 3
} sllm_log_level;

/* Receives one log line (no trailing newline). Called on the thread that logs. */
typedef void (*sllm_log_fn)(void *user, sllm_log_level level, const char *message);

/* ---- Model -------------------------------------------------------------------- */

/* Weights (mmap'd), hyper-parameters, tokenizer and chat template. Immutable once
 * loaded; one model may be shared by many threads and caches. */
typedef struct sllm_model sllm_model;

typedef struct sllm_model_params {
    size_t struct_size;     /* sizeof(sllm_model_params) */
    sllm_log_fn log_fn;     /* NULL: silent */
    void *log_user;
    sllm_log_level log_level; /* lines above this level are dropped; default WARN */
    int metadata_only;      /* 1: read and validate the GGUF, skip model validation */
    /* Where tensor data lives while the model is loaded (see SLLM_WEIGHTS_*). */
    int weights_placement;
} sllm_model_params;

/* sllm_model_params.weights_placement. */
enum {
    /* Default: copied at load into anonymous memory backed by 2 MiB transparent huge
     * pages (where the kernel's THP mode is "always" or "madvise"). Decode reads every
     * weight once per token, and reading 4 KiB pages is TLB-bound: on a 2-core VM this
     * project measures 31 GB/s from 4 KiB pages and 54 GB/s from huge pages. Costs the
     * copy at load (about 0.2 s per GB from the page cache) and private memory. */
    SLLM_WEIGHTS_COPY = 0,
    /* Computed straight from the mmap'd file: instant load, pages shared with the page
     * cache and other processes, slower decode (llama.cpp's default, like its --mmap). */
    SLLM_WEIGHTS_MMAP = 1
};

/* Fills *params with defaults. */
SLLM_API void sllm_model_params_init(sllm_model_params *params);

/* Opens a GGUF file (v2 or v3). Metadata is read from the mmap'd file; tensor data is
 * placed as params->weights_placement says (copied by default). params may be
 * NULL for defaults. On success *out owns the model; free it with sllm_model_free.
 * Errors: INVALID_ARGUMENT, IO, BAD_MAGIC, UNSUPPORTED_VERSION, TRUNCATED, CORRUPT,
 * UNSUPPORTED_TYPE, OUT_OF_MEMORY. */
SLLM_API sllm_status sllm_model_load(const char *path, const sllm_model_params *params,
                                     sllm_model **out);

/* Where the tensor data lives, for humans: "copied into memory (2 MiB huge pages), 154
 * matrices repacked into 16-row tiles for the AVX-512 VNNI kernels", "mmap'd from the
 * file", "none (metadata only)". Valid while the model is; never NULL. */
SLLM_API const char *sllm_model_weights_layout(const sllm_model *model);

/* Frees the model. NULL is allowed. No cache using it may outlive it. */
SLLM_API void sllm_model_free(sllm_model *model);

/* ---- Model metadata (GGUF key/value pairs) ------------------------------------ */

/* GGUF value types; numeric values are those of the file format. */
typedef enum sllm_meta_type {
    SLLM_META_UINT8 = 0, SLLM_META_INT8 = 1, SLLM_META_UINT16 = 2, SLLM_META_INT16 = 3,
    SLLM_META_UINT32 = 4, SLLM_META_INT32 = 5, SLLM_META_FLOAT32 = 6, SLLM_META_BOOL = 7,
    SLLM_META_STRING = 8, SLLM_META_ARRAY = 9, SLLM_META_UINT64 = 10, SLLM_META_INT64 = 11,
    SLLM_META_FLOAT64 = 12
} sllm_meta_type;

/* Number of metadata entries. */
SLLM_API int64_t sllm_model_meta_count(const sllm_model *model);

/* Key of entry `index` (0 <= index < count), NUL-terminated, owned by the model. */
SLLM_API sllm_status sllm_model_meta_key(const sllm_model *model, int64_t index, const char **key);

/* Type of the value at `key`; for arrays also the element type and length
 * (elem_type/count may be NULL). NOT_FOUND when absent. */
SLLM_API sllm_status sllm_model_meta_type(const sllm_model *model, const char *key,
                                          sllm_meta_type *type, sllm_meta_type *elem_type,
                                          uint64_t *count);

/* Integer value (any integer type or bool), converted to int64. TYPE_MISMATCH for
 * other types, and for uint64 values above INT64_MAX. */
SLLM_API sllm_status sllm_model_meta_int(const sllm_model *model, const char *key, int64_t *value);

/* Floating-point value (float32/float64, or any integer type), as double. */
SLLM_API sllm_status sllm_model_meta_float(const sllm_model *model, const char *key, double *value);

/* String value: pointer into the model (NOT NUL-terminated; GGUF strings may hold
 * NUL bytes) and its length in bytes. */
SLLM_API sllm_status sllm_model_meta_string(const sllm_model *model, const char *key,
                                            const char **data, size_t *len);

/* Element `index` of a string array. */
SLLM_API sllm_status sllm_model_meta_array_string(const sllm_model *model, const char *key,
                                                  uint64_t index, const char **data, size_t *len);

/* Element `index` of a numeric/bool array, as int64 or double. */
SLLM_API sllm_status sllm_model_meta_array_int(const sllm_model *model, const char *key,
                                               uint64_t index, int64_t *value);
SLLM_API sllm_status sllm_model_meta_array_float(const sllm_model *model, const char *key,
                                                 uint64_t index, double *value);

/* ---- Model tensors ------------------------------------------------------------------ */

#define SLLM_MAX_DIMS 4

typedef struct sllm_tensor_info {
    size_t struct_size;     /* set by the caller: sizeof(sllm_tensor_info) */
    const char *name;       /* NUL-terminated, owned by the model */
    uint32_t type;          /* ggml type id (0 = F32, 1 = F16, 8 = Q8_0, ...) */
    const char *type_name;  /* "F32", "Q4_K", ... static storage */
    uint32_t n_dims;
    int64_t dims[SLLM_MAX_DIMS]; /* GGUF order: dims[0] is the contiguous one */
    uint64_t offset;        /* byte offset of the data in the file */
    uint64_t size_bytes;
} sllm_tensor_info;

SLLM_API int64_t sllm_model_tensor_count(const sllm_model *model);

/* Fills *info (whose struct_size the caller set) for tensor `index`. */
SLLM_API sllm_status sllm_model_tensor_info(const sllm_model *model, int64_t index,
                                            sllm_tensor_info *info);

/* Index of the tensor called `name`; NOT_FOUND when absent. */
SLLM_API sllm_status sllm_model_tensor_find(const sllm_model *model, const char *name,
                                            int64_t *index);

/* Size of the GGUF file in bytes. */
SLLM_API uint64_t sllm_model_file_size(const sllm_model *model);

/* GGUF format version of the file (2 or 3). */
SLLM_API uint32_t sllm_model_gguf_version(const sllm_model *model);

/* Name of a ggml tensor type id ("Q4_K"), or NULL for an id the library does not know. */
SLLM_API const char *sllm_tensor_type_name(uint32_t type);


/* ---- Prefix hashing (sllm_hasher) --------------------------------------------------
 * The block-hash chain the cache uses, as a public tool: with the same key, model,
 * block size and KV dtype it gives exactly the cache's hashes, so a host can route a
 * conversation to the replica that already holds its prefix.
 *   h0 = BLAKE2b-256(key, "sllm/kv/v1" | model_id | kv_layout | salt)   (each length-prefixed)
 *   hi = BLAKE2b-256(key, h(i-1) | block i's token ids as int32 little-endian)
 */

/* Element type of cached K/V. On the CPU backend attention over BF16 and Q8_0 K/V
 * multiplies in bf16 (q, k, softmax weights and v rounded to bf16, float sums; the same
 * bits on every CPU; ~1.6x faster over long histories), over F16 and F32 K/V in float
 * (docs/caching.md). */
typedef enum sllm_kv_dtype {
    SLLM_KV_F16 = 0,
    SLLM_KV_F32 = 1,
    SLLM_KV_BF16 = 2,
    SLLM_KV_Q8_0 = 3
} sllm_kv_dtype;

#define SLLM_HASH_BYTES 32
#define SLLM_HASH_KEY_BYTES 32

typedef struct sllm_hasher sllm_hasher;

typedef struct sllm_hasher_params {
    size_t struct_size;          /* sizeof(sllm_hasher_params) */
    const uint8_t *key;          /* SLLM_HASH_KEY_BYTES bytes; NULL: a random key */
    uint32_t block_size;         /* tokens per block; default 16 */
    sllm_kv_dtype kv_dtype;      /* default SLLM_KV_F16 */
} sllm_hasher_params;

SLLM_API void sllm_hasher_params_init(sllm_hasher_params *params);

/* Creates a hasher for `model` (which it does not keep: the model may be freed first).
 * INVALID_ARGUMENT for a block size outside [1, 4096]. */
SLLM_API sllm_status sllm_hasher_create(const sllm_model *model, const sllm_hasher_params *params,
                                        sllm_hasher **out);
SLLM_API void sllm_hasher_free(sllm_hasher *hasher);

/* Copies the hasher's key (SLLM_HASH_KEY_BYTES bytes) to `key` (for a random key). */
SLLM_API void sllm_hasher_key(const sllm_hasher *hasher, uint8_t *key);

/* Hashes the full blocks of `tokens` under `salt` (may be NULL with salt_len 0).
 * Writes n_tokens / block_size hashes of SLLM_HASH_BYTES each to `hashes` (h1, h2, ...);
 * BUFFER_TOO_SMALL when `capacity` (in hashes) is short, with *n_blocks set to the
 * number needed. Thread-safe: a hasher is immutable. */
SLLM_API sllm_status sllm_hasher_chain(const sllm_hasher *hasher, const uint8_t *salt,
                                       size_t salt_len, const int32_t *tokens, size_t n_tokens,
                                       uint8_t *hashes, size_t capacity, size_t *n_blocks);

/* ---- Model properties ------------------------------------------------------------ */
/* Hyper-parameters of a model loaded with full validation (metadata_only = 0); a model
 * loaded with metadata_only, or NULL, gives 0 / "". */

/* Training context length in tokens ({arch}.context_length). */
SLLM_API int64_t sllm_model_n_ctx(const sllm_model *model);
/* Width of the residual stream ({arch}.embedding_length). */
SLLM_API int64_t sllm_model_n_embd(const sllm_model *model);
/* Number of transformer blocks ({arch}.block_count). */
SLLM_API int64_t sllm_model_n_layer(const sllm_model *model);
/* Vocabulary size: rows of token_embd.weight, the width of the logits. */
SLLM_API int64_t sllm_model_n_vocab(const sllm_model *model);
/* Architecture as the library computes it: "llama", "qwen2" or "qwen3" (a "mistral"
 * file reports "mistral"). Static storage. */
SLLM_API const char *sllm_model_arch(const sllm_model *model);


/* ---- Cache (sllm_cache) ------------------------------------------------------------
 * The paged KV-cache manager for one model on one backend: a block pool under a byte
 * budget, the prefix index, a thread pool. It is a cache, never a session: evicting
 * it changes speed, never output. sllm_generate() on one cache is safe from many
 * threads at once. */

typedef struct sllm_cache sllm_cache;

typedef struct sllm_cache_params {
    size_t struct_size;          /* sizeof(sllm_cache_params) */
    uint64_t budget_bytes;       /* K/V pool size; default 256 MiB */
    uint32_t block_size;         /* tokens per block; default 16 */
    sllm_kv_dtype kv_dtype;      /* default SLLM_KV_F16; F32, BF16 and Q8_0 too (Q8_0:
                                  * 8-bit, needs head_dim % 32 == 0, else INVALID_ARGUMENT) */
    int n_threads;               /* compute threads; 0: one per online core */
    const char *backend;         /* "auto" (default), "cpu" or "cuda" */
    const uint8_t *key;          /* SLLM_HASH_KEY_BYTES for the hash chain; NULL: random */
    int prefix_caching;          /* 1 (default): reuse cached prefixes; 0: always recompute */
    sllm_log_fn log_fn;          /* NULL: silent */
    void *log_user;
    sllm_log_level log_level;    /* default WARN */
} sllm_cache_params;

SLLM_API void sllm_cache_params_init(sllm_cache_params *params);

/* Creates a cache for `model`, which must outlive it. Errors: INVALID_ARGUMENT,
 * KV_BUDGET (budget below one block per layer), BACKEND, OUT_OF_MEMORY. */
SLLM_API sllm_status sllm_cache_create(sllm_model *model, const sllm_cache_params *params,
                                       sllm_cache **out);

/* Frees the cache. No sllm_generate() on it may still be running. NULL is allowed. */
SLLM_API void sllm_cache_free(sllm_cache *cache);

/* Drops every cached block not in use by a running request. Output never changes. */
SLLM_API sllm_status sllm_cache_clear(sllm_cache *cache);

typedef struct sllm_cache_stats {
    size_t struct_size;          /* set by the caller: sizeof(sllm_cache_stats) */
    uint64_t query_tokens;       /* prompt tokens of all requests so far */
    uint64_t hit_tokens;         /* of those, served from the cache */
    uint64_t blocks_total;
    uint64_t blocks_used;        /* pinned by running requests */
    uint64_t blocks_cached;      /* unpinned, findable, evictable */
    uint64_t blocks_free;        /* holding nothing */
    uint64_t evictions;
    uint64_t bytes_total;        /* K/V pool bytes */
    uint64_t bytes_per_block;
    uint64_t requests;
    /* Appended: forward passes run, and steps (prefill chunks or decode tokens of
     * concurrent calls) that ran in a pass shared with other calls' steps. */
    uint64_t forward_passes;
    uint64_t batched_steps;
} sllm_cache_stats;

/* Fills *stats (whose struct_size the caller set). */
SLLM_API sllm_status sllm_cache_get_stats(const sllm_cache *cache, sllm_cache_stats *stats);

/* The same statistics in Prometheus text exposition format, NUL-terminated. When
 * `capacity` is short returns BUFFER_TOO_SMALL with *len = the bytes needed (without NUL). */
SLLM_API sllm_status sllm_cache_stats_prometheus(const sllm_cache *cache, char *out,
                                                 size_t capacity, size_t *len);


/* ---- Requests (sllm_request) ---------------------------------------------------------
 * A request is the whole conversation, built fresh for every call: the library keeps
 * no sessions. Build one from messages, from an OpenAI-style chat request in JSON, or
 * from raw prompt tokens. A request is used by one sllm_generate() at a time. */

typedef struct sllm_request sllm_request;

SLLM_API sllm_status sllm_request_create(sllm_request **out);
SLLM_API void sllm_request_free(sllm_request *request);

/* Appends a message. role: "system", "user", "assistant" (or "tool" where the template
 * supports it); content: UTF-8, copied. INVALID_ROLE, INVALID_UTF8 on bad input. */
SLLM_API sllm_status sllm_request_add_message(sllm_request *request, const char *role,
                                              const char *content, size_t content_len);

/* Appends a message together with the token ids an earlier sllm_result returned for
 * it (result.tokens of that reply). They are used verbatim instead of re-tokenizing
 * the text, so the re-sent history is bit-for-bit what the model produced and hits
 * the cache. content must still be given (for templates and stop handling). */
SLLM_API sllm_status sllm_request_add_message_tokens(sllm_request *request, const char *role,
                                                     const char *content, size_t content_len,
                                                     const int32_t *tokens, size_t n_tokens);

/* Makes the request a plain completion of exactly these prompt tokens (no template). */
SLLM_API sllm_status sllm_request_set_prompt_tokens(sllm_request *request,
                                                    const int32_t *tokens, size_t n_tokens);

/* Makes the request a plain completion of this text (tokenized with BOS as the model
 * says; no template). */
SLLM_API sllm_status sllm_request_set_prompt_text(sllm_request *request, const char *text,
                                                  size_t len);

/* Parses an OpenAI-style chat request: messages, max_tokens, temperature, top_p, top_k,
 * min_p, seed, stop, presence/frequency/repetition penalties, logit_bias, logprobs,
 * top_logprobs; extensions: messages[i].token_ids, cache_salt. A JSON request carries
 * its own sampling (OpenAI's defaults for absent fields: temperature 1, top_p 1), which
 * replaces the sampling fields of the sllm_generate_params passed to sllm_generate();
 * max_tokens, stop and cache_salt replace the params' when present.
 * Errors: INVALID_JSON (with line and column), INVALID_REQUEST (naming the field),
 * INVALID_ROLE, INVALID_SAMPLING, INVALID_UTF8. */
SLLM_API sllm_status sllm_request_from_json(const char *json, size_t len, sllm_request **out);

/* Asks a running sllm_generate() on this request to stop after the current step.
 * Safe from any thread, any number of times; cleared when the next generate starts. */
SLLM_API void sllm_cancel(sllm_request *request);

/* ---- Generation ---------------------------------------------------------------------- */

typedef struct sllm_generate_params {
    size_t struct_size;              /* sizeof(sllm_generate_params) */
    int32_t max_tokens;              /* default 256; -1: until the context is full */
    float temperature;               /* default 1.0; 0: greedy */
    float top_p;                     /* (0, 1]; default 1 (off) */
    int32_t top_k;                   /* default 0 (off) */
    float min_p;                     /* [0, 1]; default 0 (off) */
    float presence_penalty;          /* default 0 */
    float frequency_penalty;         /* default 0 */
    float repetition_penalty;        /* > 0; default 1 (off) */
    uint64_t seed;                   /* same request + seed => same tokens; default 0 */
    const char *const *stop;         /* stop strings (never emitted), n_stop of them */
    size_t n_stop;
    const int32_t *logit_bias_tokens;/* n_logit_bias pairs; -INFINITY bans a token */
    const float *logit_bias_values;
    size_t n_logit_bias;
    int logprobs;                    /* 1: report each generated token's log-probability */
    int top_logprobs;                /* 0..20 alternatives per token (implies logprobs) */
    const uint8_t *salt;             /* cache salt: different salts never share a block */
    size_t salt_len;
    const char *chat_template;       /* NULL: detect from the model; or a family name */
    int add_generation_prompt;       /* default 1 */
    int ignore_eos;                  /* 1: keep going past end-of-generation tokens */
} sllm_generate_params;

SLLM_API void sllm_generate_params_init(sllm_generate_params *params);

typedef enum sllm_finish_reason {
    SLLM_FINISH_NONE = 0,
    SLLM_FINISH_STOP = 1,            /* end-of-generation token or stop string */
    SLLM_FINISH_LENGTH = 2,          /* max_tokens or the context limit */
    SLLM_FINISH_CANCELLED = 3        /* stream callback returned non-zero or sllm_cancel() */
} sllm_finish_reason;

typedef struct sllm_token_logprob {
    int32_t token;
    float logprob;
} sllm_token_logprob;

/* Streaming: receives UTF-8-complete text and the token ids that produced it. Text that
 * may still become a stop string is held back (and may arrive later with n_tokens 0).
 * text and tokens are never NULL. Return non-zero to cancel. */
typedef int (*sllm_stream_fn)(void *user, const char *text, size_t text_len,
                              const int32_t *tokens, size_t n_tokens);

/* The outcome of one call. Caller-owned: initialize with sllm_result_init(), free the
 * library-allocated members with sllm_result_free(). */
typedef struct sllm_result {
    size_t struct_size;              /* sizeof(sllm_result), set by sllm_result_init */
    char *text;                      /* NUL-terminated, stop string removed */
    size_t text_len;
    int32_t *tokens;                 /* generated token ids; the end-of-generation token that
                                      * ended the reply is not included (the template's
                                      * end-of-turn markup re-adds it when the reply is
                                      * re-sent with sllm_request_add_message_tokens) */
    size_t n_tokens;
    sllm_finish_reason finish_reason;
    uint64_t prompt_tokens;          /* tokens in the rendered prompt */
    uint64_t cached_tokens;          /* of those, served from the cache */
    uint64_t generated_tokens;
    double ttft_ms;                  /* call start to first generated token */
    double prefill_ms;
    double decode_ms;
    double total_ms;
    float *logprobs;                 /* n_tokens entries when asked, else NULL */
    sllm_token_logprob *top_logprobs;/* n_tokens * n_top_logprobs entries when asked */
    int n_top_logprobs;
} sllm_result;

SLLM_API void sllm_result_init(sllm_result *result);
SLLM_API void sllm_result_free(sllm_result *result);

/* Renders the request's conversation with the chat template, tokenizes it (message by
 * message, so re-sent history tokenizes identically), reuses the longest cached
 * prefix, computes the rest and samples up to max_tokens new tokens, streaming them
 * through `stream` (may be NULL). params may be NULL for defaults. Thread-safe on one
 * cache. On SLLM_OK or SLLM_ERR_CANCELLED, *result holds what was generated.
 * Errors: INVALID_ARGUMENT, INVALID_REQUEST, INVALID_SAMPLING, CHAT_TEMPLATE,
 * CONTEXT_OVERFLOW (prompt longer than the context), KV_BUDGET (the request cannot
 * fit in the pool), INVALID_TOKEN, CANCELLED. */
SLLM_API sllm_status sllm_generate(sllm_cache *cache, sllm_request *request,
                                   const sllm_generate_params *params, sllm_stream_fn stream,
                                   void *user, sllm_result *result);

/* ---- Tokenizer ---------------------------------------------------------------------
 * The model's own tokenizer, read from its GGUF metadata: SentencePiece ("llama") or
 * byte-level BPE ("gpt2") with the pre-tokenizer tokenizer.ggml.pre names. Token ids
 * match llama.cpp's. All functions are thread-safe on a shared model. A model whose
 * file has no tokenizer gives UNSUPPORTED_TOKENIZER (and -1 / 0 from the queries). */

/* sllm_tokenize flags. 0 (the default) tokenizes the text as plain user text: no BOS/EOS
 * and "<|im_start|>" in the text is ordinary characters, so untrusted input cannot
 * forge control tokens. */
enum {
    SLLM_TOKENIZE_ADD_SPECIAL = 1,   /* add BOS/EOS as the model's metadata says
                                      * (tokenizer.ggml.add_bos_token / add_eos_token) */
    SLLM_TOKENIZE_PARSE_SPECIAL = 2  /* text of control tokens ("<|im_start|>", "<s>")
                                      * becomes those tokens; longest match first */
};

/* Tokenizes text[0..len) (UTF-8; need not be NUL-terminated; may contain NUL bytes).
 * User-defined tokens (token_type 4) are always matched, as llama.cpp does. Invalid UTF-8
 * is not an error: the bytes are tokenized as bytes (BPE maps every byte; SentencePiece
 * falls back to <0xNN> byte tokens, or the unknown token when it has none). Empty text
 * gives no tokens (just BOS with ADD_SPECIAL). SentencePiece adds one space in front of
 * the text when tokenizer.ggml.add_space_prefix says so (default for "llama").
 * Writes up to `capacity` ids to out; *n_tokens gets the number of tokens the text has.
 * BUFFER_TOO_SMALL when capacity < *n_tokens (out may be NULL with capacity 0 to ask).
 * Errors: INVALID_ARGUMENT (NULL model/n_tokens, NULL text with len > 0, unknown flag
 * bits), UNSUPPORTED_TOKENIZER, BUFFER_TOO_SMALL, OUT_OF_MEMORY. */
SLLM_API sllm_status sllm_tokenize(const sllm_model *model, const char *text, size_t len,
                                   uint32_t flags, int32_t *out, size_t capacity,
                                   size_t *n_tokens);

/* sllm_detokenize flags. */
enum {
    SLLM_DETOKENIZE_RENDER_SPECIAL = 1,    /* control/unknown tokens ("<|im_end|>", "<s>")
                                            * render as their text; default: as nothing */
    SLLM_DETOKENIZE_KEEP_LEADING_SPACE = 2 /* SentencePiece: keep the space the space prefix
                                            * put in front of the first token */
};

/* Text of tokens[0..n_tokens): the pieces concatenated. SentencePiece with the space
 * prefix: one leading space is removed from the first token's piece (the first after a
 * leading BOS), so detokenize(tokenize(s)) == s; KEEP_LEADING_SPACE keeps it. Not
 * NUL-terminated. Writes up to `capacity` bytes; *n_bytes gets the full length;
 * BUFFER_TOO_SMALL when short (out may be NULL with capacity 0 to ask).
 * Errors: INVALID_ARGUMENT, INVALID_TOKEN (an id outside the vocabulary),
 * UNSUPPORTED_TOKENIZER, BUFFER_TOO_SMALL. */
SLLM_API sllm_status sllm_detokenize(const sllm_model *model, const int32_t *tokens,
                                     size_t n_tokens, uint32_t flags, char *out,
                                     size_t capacity, size_t *n_bytes);

/* The bytes one token stands for (SentencePiece's U+2581 as a space, <0xNN> as the byte,
 * byte-level BPE decoded to raw bytes; control tokens as their text). A piece may be
 * part of a UTF-8 sequence. Same buffer rules as sllm_detokenize.
 * Errors: INVALID_ARGUMENT, INVALID_TOKEN, UNSUPPORTED_TOKENIZER, BUFFER_TOO_SMALL. */
SLLM_API sllm_status sllm_token_piece(const sllm_model *model, int32_t token, char *out,
                                      size_t capacity, size_t *n_bytes);

/* Special token ids; -1 when the model has none (or no tokenizer). EOT is
 * tokenizer.ggml.eot_token_id, else the first of "<|eot_id|>", "<|im_end|>", "<|end|>",
 * "<end_of_turn>", ... that the vocabulary has. */
SLLM_API int32_t sllm_token_bos(const sllm_model *model);
SLLM_API int32_t sllm_token_eos(const sllm_model *model);
SLLM_API int32_t sllm_token_eot(const sllm_model *model);

/* 1 when generating `token` ends the reply: EOS, EOT, or an end-of-turn/end-of-text
 * control token such as "<|im_end|>", "<|eot_id|>" or "<|endoftext|>"; else 0. */
SLLM_API int sllm_token_is_eog(const sllm_model *model, int32_t token);

/* Number of tokens in the tokenizer's vocabulary (tokenizer.ggml.tokens); 0 without one. */
SLLM_API int32_t sllm_vocab_size(const sllm_model *model);

#ifdef __cplusplus
}
#endif
#endif /* STATELESSLLM_H */
