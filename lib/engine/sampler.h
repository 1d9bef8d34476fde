/* Token sampling from logits: penalties, logit bias, greedy/temperature, top-k/top-p/min-p,
 * a per-request seeded generator, and OpenAI-style log-probabilities. */
#ifndef SLLM_ENGINE_SAMPLER_H
#define SLLM_ENGINE_SAMPLER_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

enum { SAMPLER_MAX_TOP_LOGPROBS = 20 };

typedef struct sampler_logit_bias {
    int32_t token;
    float bias;        /* added to the logit; -INFINITY bans the token */
} sampler_logit_bias;

/* Pipeline, in this order (llama.cpp's default order; temperature comes last, so the
 * truncation sets do not depend on it):
 *   1. repetition penalty over the penalty window: a positive logit is divided by it, a
 *      negative one multiplied (llama.cpp semantics), once per distinct token;
 *   2. logit -= frequency_penalty * count + presence_penalty * (count > 0), count = the
 *      token's occurrences in the window (OpenAI semantics);
 *   3. logit bias;
 *   -- log-probabilities are taken here: log_softmax of these logits at temperature 1, over
 *      the whole vocabulary, before any truncation --
 *   4. temperature == 0: argmax (ties: lowest id), steps 5-7 skipped;
 *   5. top_k, 6. top_p (smallest set, in descending order, whose probability reaches
 *      top_p), 7. min_p (keep p >= min_p * p_max);
 *   8. divide by temperature, softmax over what is left, draw one token.
 * The penalty window is the last penalty_last_n tokens of the history passed to
 * sampler_sample (-1: all of it). Which history that is is the caller's choice: the engine
 * passes the generated tokens (OpenAI) or prompt + generated (llama.cpp). */
typedef struct sampler_params {
    float temperature;          /* >= 0; 0 = greedy. Default 1 */
    int32_t top_k;              /* >= 0; 0 = off. Default 0 */
    float top_p;                /* (0, 1]; 1 = off. Default 1 */
    float min_p;                /* [0, 1]; 0 = off. Default 0 */
    float presence_penalty;     /* finite; default 0 */
    float frequency_penalty;    /* finite; default 0 */
    float repetition_penalty;   /* > 0; 1 = off. Default 1 */
    int32_t penalty_last_n;     /* -1 = whole history, 0 = no penalties, N = last N. Default -1 */
    const sampler_logit_bias *logit_bias;  /* copied by sampler_create */
    size_t n_logit_bias;
    uint64_t seed;              /* default 0 */
    int logprobs;               /* 1: fill sampler_result.logprob */
    int32_t top_logprobs;       /* 0..20 alternatives with their log-probabilities */
} sampler_params;

typedef struct sampler_token_logprob {
    int32_t token;
    float logprob;
} sampler_token_logprob;

typedef struct sampler_result {
    int32_t token;
    float logprob;              /* the chosen token's; 0 unless logprobs or top_logprobs */
    int32_t n_top;              /* = params.top_logprobs (or fewer if the vocabulary is smaller) */
    sampler_token_logprob top[SAMPLER_MAX_TOP_LOGPROBS]; /* descending; ties: lowest id first */
} sampler_result;

/* xoshiro256** seeded through splitmix64: the same seed gives the same stream on every
 * platform. One per request; never shared. */
typedef struct sampler_rng {
    uint64_t state[4];
} sampler_rng;

void sampler_rng_seed(sampler_rng *rng, uint64_t seed);
uint64_t sampler_rng_next(sampler_rng *rng);
/* Uniform in [0, 1): the top 53 bits of the next output times 2^-53. */
double sampler_rng_uniform(sampler_rng *rng);

typedef struct sampler sampler;

void sampler_params_init(sampler_params *params);

/* SLLM_ERR_INVALID_SAMPLING naming the field and value: temperature < 0/NaN/inf, top_p
 * outside (0, 1], min_p outside [0, 1], top_k < 0, a penalty NaN/inf,
 * repetition_penalty <= 0, penalty_last_n < -1, top_logprobs outside [0, 20], a bias token
 * outside [0, n_vocab), a bias NaN or +inf. */
sllm_status sampler_params_validate(const sampler_params *params, int32_t n_vocab);

/* Validates, copies the parameters (logit_bias included) and seeds the generator.
 * Scratch space for n_vocab logits is allocated once, here. */
sllm_status sampler_create(const sampler_params *params, int32_t n_vocab, sampler **out);
void sampler_free(sampler *sampler);

/* Chooses the next token from logits[n_vocab] (not modified). history[0..n_history) feeds
 * the penalties; tokens must be in [0, n_vocab) (SLLM_ERR_INVALID_TOKEN otherwise).
 * SLLM_ERR_INVALID_SAMPLING when every token is banned or a logit is NaN. */
sllm_status sampler_sample(sampler *sampler, const float *logits, const int32_t *history, size_t n_history,
                           sampler_result *result);

#endif
