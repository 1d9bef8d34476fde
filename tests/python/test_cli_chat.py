"""`sllm chat` (--replay, --json, piped interactive input) and `sllm bench chat` run as a
host would run them: the CLI re-sends the whole history each turn and the library's cache
serves it. Runs on a tiny random model from make_model (ChatML template) and, when
fetched, on SmolLM2-135M-Instruct."""
import json
import subprocess

import pytest

BLOCK_SIZE = 16  # the cache's default block size (include/statelessllm.h)

TURNS = ["Hello there, who are you?", "Tell me about rivers.", "Why is the sky blue?",
         "Thanks. One more question: what is two plus two?"]


@pytest.fixture(scope="module")
def tiny_model(make_model_bin, tmp_path_factory):
    path = tmp_path_factory.mktemp("chat") / "tiny-llama.gguf"
    subprocess.run([str(make_model_bin), "--arch", "llama", "--seed", "11", str(path)],
                   check=True, capture_output=True)
    return path


def write_script(tmp_path, **fields):
    script = {"system": "You are a helpful assistant.", "turns": TURNS, "temperature": 0,
              "max_tokens": 20}
    script.update(fields)
    path = tmp_path / "script.json"
    path.write_text(json.dumps(script))
    return path


def run_cli(sllm_bin, args, stdin=None):
    return subprocess.run([str(sllm_bin)] + [str(a) for a in args], input=stdin,
                          capture_output=True, text=True, timeout=600)


def replay_json(sllm_bin, model, script, *extra):
    proc = run_cli(sllm_bin, ["chat", "-m", model, "-t", "1", "--replay", script, "--json"] + list(extra))
    assert proc.returncode == 0, proc.stderr
    return [json.loads(line) for line in proc.stdout.splitlines()]


def full_blocks(n_tokens):
    return n_tokens // BLOCK_SIZE * BLOCK_SIZE


def check_turns_consistent(turns, user_messages, max_tokens):
    assert [t["turn"] for t in turns] == list(range(1, len(user_messages) + 1))
    assert [t["user"] for t in turns] == user_messages
    for t in turns:
        assert t["generated_tokens"] == len(t["tokens"])
        assert t["finish_reason"] in ("stop", "length")
        if t["finish_reason"] == "length":
            assert t["generated_tokens"] == max_tokens
        else:
            assert t["generated_tokens"] < max_tokens
        assert 0 <= t["cached_tokens"] < t["prompt_tokens"]
        assert t["cached_tokens"] % BLOCK_SIZE == 0
        assert 0 <= t["prefill_ms"] <= t["ttft_ms"] <= t["total_ms"]
        assert 0 <= t["decode_ms"] <= t["total_ms"]


def check_history_served_from_cache(turns):
    """Turn n+1's prompt starts with turn n's prompt and reply, so every full block of
    what turn n computed (its prompt and reply, less a last sampled token that was never
    fed back when the reply hit max_tokens) is a hit."""
    for previous, current in zip(turns, turns[1:]):
        held = previous["prompt_tokens"] + previous["generated_tokens"]
        computed = held - 1 if previous["finish_reason"] == "length" else held
        assert current["prompt_tokens"] > held
        assert current["cached_tokens"] >= full_blocks(computed)
        assert current["cached_tokens"] <= held
        assert current["cached_tokens"] > previous["cached_tokens"]


def test_replay_json_counts_are_consistent_and_history_hits_the_cache(sllm_bin, tiny_model, tmp_path):
    turns = replay_json(sllm_bin, tiny_model, write_script(tmp_path))
    check_turns_consistent(turns, TURNS, 20)
    assert turns[0]["cached_tokens"] == 0
    check_history_served_from_cache(turns)


def test_replay_greedy_is_deterministic_across_runs(sllm_bin, tiny_model, tmp_path):
    script = write_script(tmp_path)
    first = replay_json(sllm_bin, tiny_model, script)
    second = replay_json(sllm_bin, tiny_model, script)
    assert [(t["text"], t["tokens"]) for t in first] == [(t["text"], t["tokens"]) for t in second]


def test_replay_without_cache_gives_the_same_tokens(sllm_bin, tiny_model, tmp_path):
    script = write_script(tmp_path)
    cached = replay_json(sllm_bin, tiny_model, script)
    uncached = replay_json(sllm_bin, tiny_model, script, "--no-cache")
    assert [t["cached_tokens"] for t in uncached] == [0] * len(TURNS)
    assert [t["prompt_tokens"] for t in uncached] == [t["prompt_tokens"] for t in cached]
    assert [t["tokens"] for t in uncached] == [t["tokens"] for t in cached]


def test_seeded_sampling_repeats_and_command_line_overrides_the_script(sllm_bin, tiny_model, tmp_path):
    script = write_script(tmp_path, temperature=1.0, seed=5)
    first = replay_json(sllm_bin, tiny_model, script)
    second = replay_json(sllm_bin, tiny_model, script)
    greedy = replay_json(sllm_bin, tiny_model, script, "--temp", "0")
    greedy_script = replay_json(sllm_bin, tiny_model, write_script(tmp_path, temperature=0))
    assert [t["tokens"] for t in first] == [t["tokens"] for t in second]
    assert [t["tokens"] for t in greedy] == [t["tokens"] for t in greedy_script]
    assert [t["tokens"] for t in first] != [t["tokens"] for t in greedy]


def test_max_tokens_option_limits_every_reply(sllm_bin, tiny_model, tmp_path):
    turns = replay_json(sllm_bin, tiny_model, write_script(tmp_path), "-n", "3")
    assert [t["generated_tokens"] for t in turns] == [3] * len(TURNS)
    assert {t["finish_reason"] for t in turns} == {"length"}


def test_top_logprobs_are_sorted_and_greedy_picks_the_first(sllm_bin, tiny_model, tmp_path):
    turns = replay_json(sllm_bin, tiny_model, write_script(tmp_path), "--top-logprobs", "3")
    for t in turns:
        assert len(t["logprobs"]) == len(t["tokens"]) == len(t["top_logprobs"])
        for token, logprob, top in zip(t["tokens"], t["logprobs"], t["top_logprobs"]):
            assert len(top) == 3
            values = [entry["logprob"] for entry in top]
            assert values == sorted(values, reverse=True)
            assert all(v <= 0 for v in values)
            assert top[0]["token"] == token
            assert top[0]["logprob"] == logprob


def test_logprobs_are_absent_unless_asked(sllm_bin, tiny_model, tmp_path):
    turns = replay_json(sllm_bin, tiny_model, write_script(tmp_path))
    assert all("logprobs" not in t and "top_logprobs" not in t for t in turns)
    with_logprobs = replay_json(sllm_bin, tiny_model, write_script(tmp_path), "--logprobs")
    assert all(len(t["logprobs"]) == len(t["tokens"]) and "top_logprobs" not in t
               for t in with_logprobs)


def test_text_replay_prints_messages_replies_and_status_lines(sllm_bin, tiny_model, tmp_path):
    proc = run_cli(sllm_bin, ["chat", "-m", tiny_model, "-t", "1", "--replay", write_script(tmp_path)])
    assert proc.returncode == 0, proc.stderr
    assert [line for line in proc.stdout.splitlines() if line.startswith("user: ")] == \
        ["user: " + t for t in TURNS]
    status = [line for line in proc.stderr.splitlines() if line.startswith("[prompt ")]
    assert len(status) == len(TURNS)
    assert status[0].startswith("[prompt ") and ", cached 0," in status[0]
    assert all("ttft" in line and "tokens/s" in line for line in status)


def test_piped_interactive_chat_resets_and_quits(sllm_bin, tiny_model):
    stdin = "Hello\n\n/stats\n/reset\nHello\n/quit\nnever sent\n"
    proc = run_cli(sllm_bin, ["chat", "-m", tiny_model, "-t", "1", "-n", "8", "--json"], stdin=stdin)
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    turns = [json.loads(line) for line in lines]
    assert [t["user"] for t in turns] == ["Hello", "Hello"]
    first, again = turns
    assert again["prompt_tokens"] == first["prompt_tokens"]
    assert again["tokens"] == first["tokens"]
    assert again["cached_tokens"] >= full_blocks(first["prompt_tokens"] - 1)
    assert "sllm_cache_requests_total 1" in proc.stdout
    assert "[history cleared]" in proc.stderr


def test_bad_replay_files_are_rejected_with_the_reason(sllm_bin, tiny_model, tmp_path):
    cases = {
        '{"turns": ["hi"], "temprature": 0}': 'unknown key "temprature"',
        '{"turns": []}': '"turns" must be a non-empty array',
        '{"turns": ["hi", 3]}': "turns[1] must be a string",
        '{"turns": ["hi"], "seed": -1}': '"seed" must be an integer >= 0',
        '{"turns": ["hi"],\n "system": }': "script.json:2:",
    }
    path = tmp_path / "script.json"
    for text, message in cases.items():
        path.write_text(text)
        proc = run_cli(sllm_bin, ["chat", "-m", tiny_model, "--replay", path])
        assert proc.returncode == 1, text
        assert message in proc.stderr, (text, proc.stderr)
        assert proc.stdout == ""


def test_chat_help_documents_the_replay_format(sllm_bin):
    proc = run_cli(sllm_bin, ["chat", "--help"])
    assert proc.returncode == 0
    assert '"turns"' in proc.stdout and "--replay" in proc.stdout
    assert run_cli(sllm_bin, ["chat"]).returncode == 2


def bench_json(sllm_bin, model, *extra):
    proc = run_cli(sllm_bin, ["bench", "chat", "-m", model, "-t", "1", "--json"] + list(extra))
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.mark.parametrize("order", [[], ["--interleave"]])
def test_bench_chat_reports_cache_and_baseline_passes(sllm_bin, tiny_model, order):
    report = bench_json(sllm_bin, tiny_model, "-c", "3", "-T", "4", "-u", "20", "-r", "8", *order)
    assert report["conversations"] == 3 and report["turns"] == 4
    assert report["interleave"] == bool(order)
    cache, baseline = report["cache"], report["no_cache"]
    assert [t["turn"] for t in cache["turns"]] == [1, 2, 3, 4]
    assert [t["prompt_tokens"] for t in cache["turns"]] == [t["prompt_tokens"] for t in baseline["turns"]]
    assert all(t["cached_tokens"] == 0 for t in baseline["turns"])
    assert baseline["history_hit_ratio_from_turn_2"] == 0
    assert cache["turns"][0]["history_tokens"] == 0
    for previous, current in zip(cache["turns"], cache["turns"][1:]):
        # Every reply is exactly 8 tokens, so the history is last turn's prompt plus 8 per conversation.
        assert current["history_tokens"] == previous["prompt_tokens"] + 3 * 8
        assert current["computed_tokens"] == current["prompt_tokens"] - current["cached_tokens"]
        # Per conversation at least full_blocks(prompt + 8 - 1): at most BLOCK_SIZE - 1 short.
        assert current["cached_tokens"] >= previous["prompt_tokens"] + 3 * (8 - 1 - (BLOCK_SIZE - 1))
    assert cache["history_hit_ratio_from_turn_2"] > 0.8
    assert cache["evictions"] == 0


def test_bench_chat_without_baseline_has_one_pass(sllm_bin, tiny_model):
    report = bench_json(sllm_bin, tiny_model, "-c", "1", "-T", "2", "-u", "10", "-r", "4", "--no-baseline")
    assert report.get("no_cache") is None
    assert len(report["cache"]["turns"]) == 2


@pytest.mark.heavy
def test_smollm_demo_replay_answers_and_reuses_history(sllm_bin, smollm_path, repo_root):
    script = repo_root / "examples" / "replay" / "demo.json"
    user_messages = json.loads(script.read_text())["turns"]
    first = replay_json(sllm_bin, smollm_path, script)
    check_turns_consistent(first, user_messages, json.loads(script.read_text())["max_tokens"])
    check_history_served_from_cache(first)
    assert "Paris" in first[0]["text"]
    assert "Berlin" in first[1]["text"]
    second = replay_json(sllm_bin, smollm_path, script)
    assert [t["tokens"] for t in second] == [t["tokens"] for t in first]


def test_run_json_reports_one_completion(sllm_bin, tiny_model):
    args = ["run", "-m", tiny_model, "-t", "1", "-p", "Once upon a time", "-n", "6", "--temp", "0", "--json",
            "--logprobs"]
    first, second = (run_cli(sllm_bin, args) for _ in range(2))
    assert first.returncode == 0, first.stderr
    result, again = json.loads(first.stdout), json.loads(second.stdout)
    untimed = [key for key in result if not key.endswith("_ms")]
    assert [result[key] for key in untimed] == [again[key] for key in untimed]
    assert "turn" not in result and "user" not in result
    assert result["generated_tokens"] == len(result["tokens"]) == len(result["logprobs"])
    assert result["finish_reason"] == ("length" if result["generated_tokens"] == 6 else "stop")
    assert result["cached_tokens"] == 0 and result["prompt_tokens"] > 0


@pytest.mark.heavy
def test_run_json_text_matches_the_streamed_run(sllm_bin, smollm_path):
    args = ["run", "-m", smollm_path, "-p", "The capital of France is", "-n", "8", "--temp", "0"]
    streamed = run_cli(sllm_bin, args)
    as_json = run_cli(sllm_bin, args + ["--json"])
    assert streamed.returncode == 0 and as_json.returncode == 0, (streamed.stderr, as_json.stderr)
    result = json.loads(as_json.stdout)
    assert streamed.stdout == "The capital of France is" + result["text"] + "\n"
    assert "Paris" in result["text"]


def test_a_conversation_outgrowing_the_context_fails_with_the_reason(sllm_bin, make_model_bin, tmp_path):
    small = tmp_path / "ctx64.gguf"
    subprocess.run([str(make_model_bin), "--arch", "llama", "--ctx", "64", str(small)], check=True,
                   capture_output=True)
    proc = run_cli(sllm_bin, ["chat", "-m", small, "-t", "1", "--replay", write_script(tmp_path), "--json"])
    assert proc.returncode == 1
    assert "SLLM_ERR_CONTEXT_OVERFLOW" in proc.stderr
    piped = run_cli(sllm_bin, ["chat", "-m", small, "-t", "1", "--json"], stdin="x " * 100 + "\nnever\n")
    assert piped.returncode == 1 and piped.stdout == ""
    assert "SLLM_ERR_CONTEXT_OVERFLOW" in piped.stderr
