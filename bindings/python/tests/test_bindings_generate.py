"""generate(): determinism, streaming, the Conversation helper, statistics, options."""
import json
import re

import pytest

HELLO = [{"role": "user", "content": "hello there"}]


def test_greedy_generation_is_deterministic_and_cache_invisible(sllm, tiny_model, tiny_cache):
    first = tiny_cache.generate(HELLO, temperature=0, max_tokens=16)
    second = tiny_cache.generate(HELLO, temperature=0, max_tokens=16)
    assert first.generated_tokens == len(first.tokens) == 16
    assert first.finish_reason == "length"
    assert second.cached_tokens > 0
    assert second.tokens == first.tokens and second.text == first.text
    # The same request on a cache that never reuses prefixes gives the same tokens.
    with sllm.Cache(tiny_model, threads=1, prefix_caching=False,
                    budget_bytes=4 << 20) as uncached:
        third = uncached.generate(HELLO, temperature=0, max_tokens=16)
    assert third.cached_tokens == 0 and third.tokens == first.tokens


def test_seeded_sampling_repeats_and_different_seeds_differ(tiny_cache):
    runs = [tiny_cache.generate(HELLO, temperature=1.0, seed=seed, max_tokens=24).tokens
            for seed in (1, 1, 2)]
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]


def test_result_text_is_the_detokenized_tokens(tiny_model, tiny_cache):
    result = tiny_cache.generate(HELLO, temperature=0, max_tokens=16)
    assert result.text == tiny_model.detokenize(result.tokens)
    assert result.prompt_tokens == len(tiny_model.tokenize(
        "<|im_start|>user\nhello there<|im_end|>\n<|im_start|>assistant\n", parse_special=True))


def test_streamed_chunks_concatenate_to_the_result_text(sllm, tiny_cache):
    expected = tiny_cache.generate(HELLO, temperature=0, max_tokens=24)
    stream = tiny_cache.generate(HELLO, temperature=0, max_tokens=24, stream=True)
    assert isinstance(stream, sllm.Stream)
    chunks = list(stream)
    assert len(chunks) > 1 and all(chunks)
    assert "".join(chunks) == stream.result.text == expected.text
    assert stream.result.tokens == expected.tokens


@pytest.mark.heavy
def test_smollm_stream_answers_the_question(smollm_cache):
    stream = smollm_cache.generate(
        [{"role": "user", "content": "What is the capital of France?"}],
        temperature=0, max_tokens=24, stream=True)
    text = "".join(stream)
    assert "Paris" in text
    assert stream.result.finish_reason == "stop"
    assert text == stream.result.text


def test_on_text_sees_every_chunk_with_its_tokens(tiny_cache):
    seen = []
    result = tiny_cache.generate(HELLO, temperature=0, max_tokens=12,
                                 on_text=lambda text, ids: seen.append((text, ids)) or False)
    assert "".join(text for text, _ in seen) == result.text
    assert [t for _, ids in seen for t in ids] == result.tokens


def test_on_text_returning_true_stops_the_reply(tiny_cache):
    result = tiny_cache.generate(HELLO, temperature=0, max_tokens=40,
                                 on_text=lambda text, ids: True)
    assert result.finish_reason == "cancelled"
    assert result.generated_tokens == 1


def test_exception_in_on_text_propagates(tiny_cache):
    def boom(text, ids):
        raise KeyError("from the callback")
    with pytest.raises(KeyError):
        tiny_cache.generate(HELLO, max_tokens=8, on_text=boom)


def test_breaking_out_of_a_stream_cancels_it(tiny_cache):
    stream = tiny_cache.generate(HELLO, temperature=0, max_tokens=200, ignore_eos=True,
                                 stream=True)
    for _ in stream:
        break
    stream.close()
    assert stream.result.finish_reason == "cancelled"
    assert stream.result.generated_tokens < 200


def test_stream_reports_errors_when_iterated(sllm, tiny_cache, tiny_model):
    stream = tiny_cache.generate([{"role": "user", "content": "x " * tiny_model.n_ctx}],
                                 stream=True, max_tokens=4)
    with pytest.raises(sllm.ContextOverflowError):
        list(stream)


def test_conversation_grows_cached_tokens_turn_by_turn(sllm, tiny_cache):
    chat = sllm.Conversation(tiny_cache, system="be brief", temperature=0, max_tokens=12)
    results = [chat.say(text) for text in ("first question", "second one", "and a third")]
    cached = [r.cached_tokens for r in results]
    assert cached[0] == 0
    assert cached[0] < cached[1] < cached[2]
    for previous, current in zip(results, results[1:]):
        # The whole previous prompt is re-sent verbatim, so all its full blocks hit.
        assert current.cached_tokens >= previous.prompt_tokens // 16 * 16
        assert current.cached_tokens % 16 == 0
    assert [m["role"] for m in chat.messages] == ["system"] + ["user", "assistant"] * 3
    assert chat.messages[2]["token_ids"] == results[0].tokens
    assert chat.last_result is results[2]


def test_conversation_stream_appends_the_reply_when_done(sllm, tiny_cache):
    chat = sllm.Conversation(tiny_cache, temperature=0, max_tokens=10)
    chat.say("one")
    stream = chat.stream("two")
    text = "".join(stream)
    assert chat.messages[-1] == {"role": "assistant", "content": text,
                                 "token_ids": stream.result.tokens}
    assert stream.result.cached_tokens > 0


def test_conversation_keeps_history_unchanged_when_a_turn_fails(sllm, tiny_cache):
    chat = sllm.Conversation(tiny_cache, max_tokens=4)
    with pytest.raises(sllm.InvalidRoleError):
        chat.say("hi", role="narrator")
    assert chat.messages == []


@pytest.mark.heavy
def test_smollm_conversation_reuses_the_history(sllm, smollm_cache):
    chat = sllm.Conversation(smollm_cache, system="You are a helpful assistant.",
                             temperature=0, max_tokens=40)
    first = chat.say("What is the capital of France?")
    second = chat.say("And of Germany?")
    assert "Paris" in first.text and "Berlin" in second.text
    assert second.cached_tokens >= first.prompt_tokens // 16 * 16 > 0


def test_stats_count_queries_hits_and_blocks(sllm, tiny_model):
    with sllm.Cache(tiny_model, threads=1, budget_bytes=1 << 20) as cache:
        empty = cache.stats()
        # Per block: layers x (K and V) x kv_heads x block_size x head_dim x 2 bytes (F16);
        # make_model: 2 layers, 2 KV heads, head_dim 128 / 4 heads = 32.
        assert empty.bytes_per_block == 2 * 2 * 2 * 16 * 32 * 2
        assert empty.blocks_total == (1 << 20) // empty.bytes_per_block
        assert empty.bytes_total == empty.blocks_total * empty.bytes_per_block
        assert (empty.query_tokens, empty.hit_tokens, empty.requests) == (0, 0, 0)
        assert (empty.forward_passes, empty.batched_steps) == (0, 0)
        assert empty.hit_ratio == 0.0
        first = cache.generate(HELLO, temperature=0, max_tokens=1)
        second = cache.generate(HELLO, temperature=0, max_tokens=1)
        stats = cache.stats()
    assert stats.requests == 2
    assert stats.query_tokens == first.prompt_tokens + second.prompt_tokens
    # The last prompt token is always recomputed (its logits are needed).
    assert second.cached_tokens == (second.prompt_tokens - 1) // 16 * 16
    assert stats.hit_tokens == second.cached_tokens
    # One prefill pass per call (one token each: the first reply token needs no decode
    # step), one call at a time, so none shared.
    assert (stats.forward_passes, stats.batched_steps) == (2, 0)
    assert stats.blocks_used == 0
    assert stats.blocks_cached + stats.blocks_free == stats.blocks_total
    assert stats.hit_ratio == pytest.approx(stats.hit_tokens / stats.query_tokens)


def test_prometheus_text_carries_the_same_counts(tiny_cache):
    tiny_cache.generate(HELLO, max_tokens=1)
    stats, text = tiny_cache.stats(), tiny_cache.stats_prometheus()
    values = dict(re.findall(r"^(sllm_\w+) (\d+)$", text, re.M))
    assert int(values["sllm_cache_query_tokens_total"]) == stats.query_tokens
    assert int(values["sllm_cache_hit_tokens_total"]) == stats.hit_tokens
    assert int(values["sllm_forward_passes_total"]) == stats.forward_passes > 0
    assert int(values["sllm_batched_steps_total"]) == stats.batched_steps


def test_logprobs_are_reported_per_token(tiny_cache):
    result = tiny_cache.generate(HELLO, temperature=0, max_tokens=6, logprobs=True,
                                 top_logprobs=3)
    assert len(result.logprobs) == len(result.top_logprobs) == 6
    for token, logprob, top in zip(result.tokens, result.logprobs, result.top_logprobs):
        assert len(top) == 3 and logprob <= 0.0
        # Greedy: the chosen token is the most likely one.
        assert top[0] == (token, pytest.approx(logprob))
        assert top[0][1] >= top[1][1] >= top[2][1]
    assert tiny_cache.generate(HELLO, max_tokens=2).logprobs is None


def test_logit_bias_can_ban_the_greedy_token(tiny_cache):
    greedy = tiny_cache.generate(HELLO, temperature=0, max_tokens=1).tokens[0]
    banned = tiny_cache.generate(HELLO, temperature=0, max_tokens=1,
                                 logit_bias={greedy: float("-inf")}).tokens[0]
    assert banned != greedy


def test_stop_string_ends_the_reply_and_is_not_emitted(tiny_cache):
    full = tiny_cache.generate(HELLO, temperature=0, max_tokens=24)
    stop = full.text[4:6]
    cut = tiny_cache.generate(HELLO, temperature=0, max_tokens=24, stop=[stop])
    assert cut.finish_reason == "stop"
    assert cut.text == full.text[:full.text.index(stop)]


def test_salted_requests_do_not_share_cache_blocks(tiny_cache):
    tiny_cache.generate(HELLO, max_tokens=1, salt=b"tenant-a")
    other = tiny_cache.generate(HELLO, max_tokens=1, salt=b"tenant-b")
    same = tiny_cache.generate(HELLO, max_tokens=1, salt=b"tenant-a")
    assert other.cached_tokens == 0
    assert same.cached_tokens > 0


def test_generate_json_matches_generate_with_the_same_request(tiny_cache):
    request = {"messages": HELLO, "max_tokens": 8, "temperature": 0}
    from_json = tiny_cache.generate_json(json.dumps(request))
    direct = tiny_cache.generate(HELLO, max_tokens=8, temperature=0)
    assert from_json.tokens == direct.tokens


def test_complete_accepts_text_or_tokens(tiny_model, tiny_cache):
    ids = tiny_model.tokenize("once upon a time", add_special=True)
    by_text = tiny_cache.complete("once upon a time", temperature=0, max_tokens=6)
    by_ids = tiny_cache.complete(ids, temperature=0, max_tokens=6)
    assert by_text.prompt_tokens == len(ids)
    assert by_text.tokens == by_ids.tokens


def test_closing_a_cache_during_a_generate_is_refused(sllm, tiny_model):
    import threading
    cache = sllm.Cache(tiny_model, threads=1, budget_bytes=4 << 20)
    inside, release = threading.Event(), threading.Event()

    def hold(text, ids):
        inside.set()
        release.wait()
        return False

    worker = threading.Thread(target=cache.generate, args=(HELLO,),
                              kwargs={"max_tokens": 3, "on_text": hold})
    worker.start()
    assert inside.wait(60)
    with pytest.raises(sllm.StatelessLLMError) as info:
        cache.close()
    assert "still running" in str(info.value)
    release.set()
    worker.join()
    cache.close()
    assert cache.closed
