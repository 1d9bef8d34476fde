/* Sampler: penalties, bias, log-probabilities, greedy or truncated temperature sampling. */
#include "engine/sampler.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct sampler_candidate {
    float logit;
    int32_t token;
} sampler_candidate;

struct sampler {
    sampler_params params;
    sampler_logit_bias *logit_bias;
    sampler_rng rng;
    int32_t n_vocab;
    float *work;                    /* n_vocab logits after penalties and bias */
    sampler_candidate *candidates;  /* n_vocab */
    int32_t *window;                /* penalty window, sorted to count occurrences */
    size_t window_cap;
};

/* ---- Generator ------------------------------------------------------------------ */

static uint64_t sampler_splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void sampler_rng_seed(sampler_rng *rng, uint64_t seed) {
    for (int i = 0; i < 4; i++) rng->state[i] = sampler_splitmix64(&seed);
}

static uint64_t sampler_rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t sampler_rng_next(sampler_rng *rng) {
    uint64_t *s = rng->state;
    uint64_t result = sampler_rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = sampler_rotl(s[3], 45);
    return result;
}

double sampler_rng_uniform(sampler_rng *rng) { return (double)(sampler_rng_next(rng) >> 11) * 0x1.0p-53; }

/* ---- Parameters ----------------------------------------------------------------- */

void sampler_params_init(sampler_params *params) {
    memset(params, 0, sizeof *params);
    params->temperature = 1.0f;
    params->top_p = 1.0f;
    params->repetition_penalty = 1.0f;
    params->penalty_last_n = -1;
}

static sllm_status sampler_bad(const char *field, double value, const char *expected) {
    return core_fail(SLLM_ERR_INVALID_SAMPLING, "%s = %g: expected %s", field, value, expected);
}

sllm_status sampler_params_validate(const sampler_params *params, int32_t n_vocab) {
    if (!params) return core_fail(SLLM_ERR_INVALID_ARGUMENT, "sampler: NULL parameters");
    if (n_vocab <= 0) return core_fail(SLLM_ERR_INVALID_ARGUMENT, "sampler: n_vocab = %d", (int)n_vocab);
    if (!(params->temperature >= 0.0f) || isinf(params->temperature))
        return sampler_bad("temperature", params->temperature, "a finite value >= 0");
    if (params->top_k < 0) return sampler_bad("top_k", params->top_k, ">= 0");
    if (!(params->top_p > 0.0f && params->top_p <= 1.0f)) return sampler_bad("top_p", params->top_p, "a value in (0, 1]");
    if (!(params->min_p >= 0.0f && params->min_p <= 1.0f)) return sampler_bad("min_p", params->min_p, "a value in [0, 1]");
    if (!isfinite(params->presence_penalty))
        return sampler_bad("presence_penalty", params->presence_penalty, "a finite value");
    if (!isfinite(params->frequency_penalty))
        return sampler_bad("frequency_penalty", params->frequency_penalty, "a finite value");
    if (!(params->repetition_penalty > 0.0f) || isinf(params->repetition_penalty))
        return sampler_bad("repetition_penalty", params->repetition_penalty, "a finite value > 0");
    if (params->penalty_last_n < -1) return sampler_bad("penalty_last_n", params->penalty_last_n, ">= -1");
    if (params->top_logprobs < 0 || params->top_logprobs > SAMPLER_MAX_TOP_LOGPROBS)
        return sampler_bad("top_logprobs", params->top_logprobs, "a value in [0, 20]");
    if (params->n_logit_bias > 0 && !params->logit_bias)
        return core_fail(SLLM_ERR_INVALID_ARGUMENT, "sampler: logit_bias is NULL with %zu entries", params->n_logit_bias);
    for (size_t i = 0; i < params->n_logit_bias; i++) {
        const sampler_logit_bias *bias = &params->logit_bias[i];
        if (bias->token < 0 || bias->token >= n_vocab)
            return core_fail(SLLM_ERR_INVALID_SAMPLING, "logit_bias: token %d is outside the vocabulary [0, %d)",
                             (int)bias->token, (int)n_vocab);
        if (isnan(bias->bias) || (isinf(bias->bias) && bias->bias > 0))
            return core_fail(SLLM_ERR_INVALID_SAMPLING, "logit_bias[%d] = %g: expected a finite value or -inf",
                             (int)bias->token, (double)bias->bias);
    }
    return SLLM_OK;
}

sllm_status sampler_create(const sampler_params *params, int32_t n_vocab, sampler **out) {
    if (!out) return core_fail(SLLM_ERR_INVALID_ARGUMENT, "sampler_create: NULL output");
    sllm_status status = sampler_params_validate(params, n_vocab);
    if (status != SLLM_OK) return status;
    sampler *s = calloc(1, sizeof *s);
    if (!s) return core_fail(SLLM_ERR_OUT_OF_MEMORY, "sampler_create: out of memory");
    s->params = *params;
    s->n_vocab = n_vocab;
    s->work = malloc((size_t)n_vocab * sizeof *s->work);
    s->candidates = malloc((size_t)n_vocab * sizeof *s->candidates);
    if (!s->work || !s->candidates) goto oom;
    if (params->n_logit_bias > 0) {
        s->logit_bias = malloc(params->n_logit_bias * sizeof *s->logit_bias);
        if (!s->logit_bias) goto oom;
        memcpy(s->logit_bias, params->logit_bias, params->n_logit_bias * sizeof *s->logit_bias);
    }
    s->params.logit_bias = s->logit_bias;
    sampler_rng_seed(&s->rng, params->seed);
    *out = s;
    return SLLM_OK;
oom:
    sampler_free(s);
    return core_fail(SLLM_ERR_OUT_OF_MEMORY, "sampler_create: out of memory for %d logits", (int)n_vocab);
}

void sampler_free(sampler *s) {
    if (!s) return;
    free(s->work);
    free(s->candidates);
    free(s->window);
    free(s->logit_bias);
    free(s);
}

/* ---- Penalties and bias ---------------------------------------------------------- */

static int sampler_compare_tokens(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

static void sampler_penalize(const sampler_params *params, float *logit, size_t count) {
    if (params->repetition_penalty != 1.0f) {
        if (*logit <= 0.0f) *logit *= params->repetition_penalty;
        else *logit /= params->repetition_penalty;
    }
    *logit -= (float)count * params->frequency_penalty + params->presence_penalty;
}

static sllm_status sampler_apply_penalties(sampler *s, const int32_t *history, size_t n_history) {
    const sampler_params *params = &s->params;
    if (params->penalty_last_n == 0 || n_history == 0) return SLLM_OK;
    if (params->repetition_penalty == 1.0f && params->frequency_penalty == 0.0f && params->presence_penalty == 0.0f)
        return SLLM_OK;
    size_t n_window = n_history;
    if (params->penalty_last_n > 0 && (size_t)params->penalty_last_n < n_window) n_window = (size_t)params->penalty_last_n;
    if (n_window > s->window_cap) {
        int32_t *window = realloc(s->window, n_window * sizeof *window);
        if (!window) return core_fail(SLLM_ERR_OUT_OF_MEMORY, "sampler: out of memory for the penalty window");
        s->window = window;
        s->window_cap = n_window;
    }
    memcpy(s->window, history + (n_history - n_window), n_window * sizeof *s->window);
    qsort(s->window, n_window, sizeof *s->window, sampler_compare_tokens);
    for (size_t i = 0; i < n_window;) {
        size_t run = 1;
        while (i + run < n_window && s->window[i + run] == s->window[i]) run++;
        sampler_penalize(params, &s->work[s->window[i]], run);
        i += run;
    }
    return SLLM_OK;
}

/* ---- Selection -------------------------------------------------------------------- */

/* The order every selection uses: higher logit first, then lower token id. */
static int sampler_better(sampler_candidate a, sampler_candidate b) {
    return a.logit > b.logit || (a.logit == b.logit && a.token < b.token);
}

static int sampler_compare_candidates(const void *a, const void *b) {
    sampler_candidate x = *(const sampler_candidate *)a, y = *(const sampler_candidate *)b;
    return sampler_better(x, y) ? -1 : sampler_better(y, x) ? 1 : 0;
}

/* Min-heap (worst on top) of the k best candidates: O(n log k), no full sort. */
static void sampler_heap_sift_down(sampler_candidate *heap, size_t n, size_t i) {
    for (;;) {
        size_t worst = i, left = 2 * i + 1, right = left + 1;
        if (left < n && sampler_better(heap[worst], heap[left])) worst = left;
        if (right < n && sampler_better(heap[worst], heap[right])) worst = right;
        if (worst == i) return;
        sampler_candidate t = heap[i];
        heap[i] = heap[worst];
        heap[worst] = t;
        i = worst;
    }
}

/* Moves the k best of candidates[0..n) to the front, sorted best first. */
static size_t sampler_select_top(sampler_candidate *candidates, size_t n, size_t k) {
    if (k >= n) {
        qsort(candidates, n, sizeof *candidates, sampler_compare_candidates);
        return n;
    }
    for (size_t i = k / 2; i-- > 0;) sampler_heap_sift_down(candidates, k, i);
    for (size_t i = k; i < n; i++) {
        if (sampler_better(candidates[i], candidates[0])) {
            candidates[0] = candidates[i];
            sampler_heap_sift_down(candidates, k, 0);
        }
    }
    qsort(candidates, k, sizeof *candidates, sampler_compare_candidates);
    return k;
}

/* log(sum(exp(work))) in double over the whole vocabulary. */
static double sampler_log_sum_exp(const float *work, int32_t n_vocab, float max_logit) {
    double sum = 0.0;
    for (int32_t i = 0; i < n_vocab; i++)
        if (work[i] != -INFINITY) sum += exp((double)work[i] - (double)max_logit);
    return (double)max_logit + log(sum);
}

static void sampler_fill_logprobs(sampler *s, float max_logit, sampler_result *result) {
    double lse = sampler_log_sum_exp(s->work, s->n_vocab, max_logit);
    result->logprob = (float)((double)s->work[result->token] - lse);
    int32_t n_top = s->params.top_logprobs < s->n_vocab ? s->params.top_logprobs : s->n_vocab;
    if (n_top == 0) return;
    for (int32_t i = 0; i < s->n_vocab; i++) s->candidates[i] = (sampler_candidate){s->work[i], i};
    sampler_select_top(s->candidates, (size_t)s->n_vocab, (size_t)n_top);
    for (int32_t i = 0; i < n_top; i++)
        result->top[i] = (sampler_token_logprob){s->candidates[i].token, (float)((double)s->candidates[i].logit - lse)};
    result->n_top = n_top;
}

/* top_p: the shortest prefix, in descending order, whose probability reaches top_p. The
 * prefix is usually short, so only the best k are sorted, k growing until the prefix fits:
 * no full sort of the vocabulary. */
static size_t sampler_truncate_top_p(sampler_candidate *candidates, size_t n, float top_p, float max_logit) {
    double total = 0.0;
    for (size_t i = 0; i < n; i++) total += exp((double)candidates[i].logit - (double)max_logit);
    double target = (double)top_p * total;
    size_t k = n < 256 ? n : 256;
    for (;;) {
        k = sampler_select_top(candidates, n, k);
        double cumulative = 0.0;
        for (size_t i = 0; i < k; i++) {
            cumulative += exp((double)candidates[i].logit - (double)max_logit);
            if (cumulative >= target) return i + 1;
        }
        if (k == n) return n;
        k = k > n / 4 ? n : k * 4;
    }
}

static size_t sampler_truncate_min_p(sampler_candidate *candidates, size_t n, float min_p, float max_logit) {
    float min_logit = max_logit + logf(min_p);
    size_t kept = 0;
    for (size_t i = 0; i < n; i++)
        if (candidates[i].logit >= min_logit) candidates[kept++] = candidates[i];
    return kept;
}

static int32_t sampler_draw(sampler *s, const sampler_candidate *candidates, size_t n, float max_logit) {
    double inv_temperature = 1.0 / (double)s->params.temperature;
    double total = 0.0;
    for (size_t i = 0; i < n; i++) total += exp(((double)candidates[i].logit - (double)max_logit) * inv_temperature);
    double target = sampler_rng_uniform(&s->rng) * total;
    double cumulative = 0.0;
    for (size_t i = 0; i < n; i++) {
        cumulative += exp(((double)candidates[i].logit - (double)max_logit) * inv_temperature);
        if (target < cumulative) return candidates[i].token;
    }
    return candidates[n - 1].token;
}

static int32_t sampler_choose(sampler *s, float max_logit) {
    const sampler_params *params = &s->params;
    size_t n = 0;
    for (int32_t i = 0; i < s->n_vocab; i++)
        if (s->work[i] != -INFINITY) s->candidates[n++] = (sampler_candidate){s->work[i], i};
    if (params->top_k > 0 && (size_t)params->top_k < n) n = sampler_select_top(s->candidates, n, (size_t)params->top_k);
    if (params->top_p < 1.0f) n = sampler_truncate_top_p(s->candidates, n, params->top_p, max_logit);
    if (params->min_p > 0.0f) n = sampler_truncate_min_p(s->candidates, n, params->min_p, max_logit);
    return sampler_draw(s, s->candidates, n, max_logit);
}

sllm_status sampler_sample(sampler *s, const float *logits, const int32_t *history, size_t n_history,
                           sampler_result *result) {
    if (!s || !logits || !result || (!history && n_history > 0))
        return core_fail(SLLM_ERR_INVALID_ARGUMENT, "sampler_sample: NULL argument");
    for (size_t i = 0; i < n_history; i++)
        if (history[i] < 0 || history[i] >= s->n_vocab)
            return core_fail(SLLM_ERR_INVALID_TOKEN, "sampler: history[%zu] = %d is outside the vocabulary [0, %d)", i,
                             (int)history[i], (int)s->n_vocab);
    memcpy(s->work, logits, (size_t)s->n_vocab * sizeof *s->work);
    sllm_status status = sampler_apply_penalties(s, history, n_history);
    if (status != SLLM_OK) return status;
    for (size_t i = 0; i < s->params.n_logit_bias; i++) s->work[s->logit_bias[i].token] += s->logit_bias[i].bias;

    int32_t best = -1;
    for (int32_t i = 0; i < s->n_vocab; i++) {
        if (isnan(s->work[i]))
            return core_fail(SLLM_ERR_INVALID_SAMPLING, "sampler: logit of token %d is NaN", (int)i);
        if (s->work[i] == INFINITY)
            return core_fail(SLLM_ERR_INVALID_SAMPLING, "sampler: logit of token %d is +inf", (int)i);
        if (s->work[i] != -INFINITY && (best < 0 || s->work[i] > s->work[best])) best = i;
    }
    if (best < 0) return core_fail(SLLM_ERR_INVALID_SAMPLING, "sampler: every token is banned (all logits -inf)");

    memset(result, 0, sizeof *result);
    float max_logit = s->work[best];
    result->token = s->params.temperature == 0.0f ? best : sampler_choose(s, max_logit);
    if (s->params.logprobs || s->params.top_logprobs > 0) sampler_fill_logprobs(s, max_logit, result);
    return SLLM_OK;
}
