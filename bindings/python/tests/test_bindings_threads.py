"""Several Python threads generating at once on one Cache give the sequential results."""
import threading

import pytest

PROMPTS = ["the quick brown fox", "hello there", "what is a cache", "once upon a time",
           "tell me more", "the quick brown dog", "hello again", "why is the sky blue"]


def _run_threads(n_threads, work):
    results, errors = {}, []

    def worker(index):
        try:
            for item in range(index, len(PROMPTS), n_threads):
                results[item] = work(item)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n_threads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    return [results[i] for i in range(len(PROMPTS))]


def _ask(cache, prompt, **extra):
    return cache.generate([{"role": "system", "content": "shared system prompt, long enough "
                                                         "to fill a block or two of tokens"},
                           {"role": "user", "content": prompt}], max_tokens=16, **extra)


def test_four_threads_on_one_cache_match_sequential_greedy(sllm, tiny_model):
    with sllm.Cache(tiny_model, threads=1, budget_bytes=8 << 20) as reference:
        expected = [_ask(reference, p, temperature=0).tokens for p in PROMPTS]
    with sllm.Cache(tiny_model, threads=1, budget_bytes=8 << 20) as shared:
        results = _run_threads(4, lambda i: _ask(shared, PROMPTS[i], temperature=0))
        stats = shared.stats()
    assert [r.tokens for r in results] == expected
    assert stats.requests == len(PROMPTS)
    assert stats.hit_tokens > 0  # the shared system prompt is reused across threads
    # At most one pass per step (a prefill and up to 15 decode steps per call), fewer
    # where steps of different threads shared a pass.
    assert 0 < stats.forward_passes <= len(PROMPTS) * 16


def test_four_threads_sampling_with_seeds_match_sequential(sllm, tiny_model, tiny_cache):
    expected = [_ask(tiny_cache, p, seed=i, temperature=0.9).tokens
                for i, p in enumerate(PROMPTS)]
    results = _run_threads(4, lambda i: _ask(tiny_cache, PROMPTS[i], seed=i, temperature=0.9))
    assert [r.tokens for r in results] == expected


def test_four_threads_streaming_at_once(sllm, tiny_cache):
    expected = [_ask(tiny_cache, p, temperature=0).text for p in PROMPTS]
    results = _run_threads(4, lambda i: "".join(_ask(tiny_cache, PROMPTS[i], temperature=0,
                                                     stream=True)))
    assert results == expected


@pytest.mark.heavy
def test_two_conversations_per_thread_on_smollm(sllm, smollm_cache):
    questions = ["What is 2 + 2?", "Name a color.", "Say hello.", "Name a fruit."]

    def chat(index):
        conversation = sllm.Conversation(smollm_cache, system="You are a helpful assistant.",
                                         temperature=0, max_tokens=8)
        first = conversation.say(questions[index % 4])
        second = conversation.say("Thank you.")
        return first, second

    pairs = _run_threads(4, chat)
    for first, second in pairs:
        assert first.text and second.text
        assert second.cached_tokens >= first.prompt_tokens // 16 * 16 > 0
