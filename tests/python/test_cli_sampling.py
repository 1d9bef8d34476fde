"""`sllm run` and `sllm chat` sampling and stopping options (--top-k, --top-p, --min-p,
--repeat-penalty, --presence/--frequency-penalty, --stop, -f): what they change in the
tokens, and how malformed or out-of-range values are refused. On a tiny random model made
by make_model, so each call takes milliseconds."""
import json
import subprocess

import pytest


@pytest.fixture(scope="module")
def model(make_model_bin, tmp_path_factory):
    path = tmp_path_factory.mktemp("sampling") / "tiny-llama.gguf"
    subprocess.run([str(make_model_bin), "--arch", "llama", "--seed", "5", str(path)], check=True,
                   capture_output=True)
    return path


def sllm(sllm_bin, *args, stdin=None):
    return subprocess.run([str(sllm_bin)] + [str(a) for a in args], input=stdin, capture_output=True,
                          text=True, timeout=300)


def run_json(sllm_bin, model, *extra, prompt="Once upon a time"):
    proc = sllm(sllm_bin, "run", "-m", model, "-t", "1", "-p", prompt, "-n", "24", "--json", *extra)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_top_k_1_at_temperature_1_is_greedy(sllm_bin, model):
    greedy = run_json(sllm_bin, model, "--temp", "0")
    for seed in ("1", "2", "3"):
        assert run_json(sllm_bin, model, "--temp", "1", "--top-k", "1", "--seed", seed)["tokens"] == greedy["tokens"]


def test_a_tiny_top_p_or_a_min_p_of_1_is_greedy(sllm_bin, model):
    # top_p keeps the smallest set reaching p (the top token alone for a tiny p); min_p 1
    # keeps only tokens as likely as the top one. Ties aside, both leave the argmax.
    greedy = run_json(sllm_bin, model, "--temp", "0")["tokens"]
    assert run_json(sllm_bin, model, "--temp", "1.5", "--top-p", "1e-6", "--seed", "9")["tokens"] == greedy
    assert run_json(sllm_bin, model, "--temp", "1.5", "--min-p", "1", "--seed", "9")["tokens"] == greedy


def test_sampling_options_are_deterministic_for_a_seed(sllm_bin, model):
    args = ("--temp", "1.2", "--top-k", "40", "--top-p", "0.9", "--min-p", "0.02", "--repeat-penalty", "1.3",
            "--presence-penalty", "0.5", "--frequency-penalty", "0.5", "--seed", "77")
    first, second = run_json(sllm_bin, model, *args), run_json(sllm_bin, model, *args)
    assert first["tokens"] == second["tokens"]
    assert len(first["tokens"]) > 0


def test_a_strong_repeat_penalty_changes_a_greedy_reply_that_repeats(sllm_bin, model):
    greedy = run_json(sllm_bin, model, "--temp", "0")["tokens"]
    assert len(set(greedy)) < len(greedy), "the random model's greedy reply should repeat a token"
    penalized = run_json(sllm_bin, model, "--temp", "0", "--repeat-penalty", "1000")["tokens"]
    assert penalized != greedy
    # Greedy with a huge penalty: a token seen in the prompt or reply is not picked again
    # while an unseen one is far more likely; at least the first repeat must go away.
    first_repeat = next(i for i, t in enumerate(greedy) if t in greedy[:i])
    assert penalized[:first_repeat] == greedy[:first_repeat]
    assert penalized[first_repeat] not in penalized[:first_repeat]


def test_stop_ends_the_reply_before_the_stop_text(sllm_bin, model):
    full = run_json(sllm_bin, model, "--temp", "0")
    text = full["text"]
    assert len(text) > 8, "the random model's reply is too short to cut"
    stop = text[len(text) // 2:len(text) // 2 + 3]
    cut = run_json(sllm_bin, model, "--temp", "0", "--stop", "never-there", "--stop", stop)
    assert cut["finish_reason"] == "stop"
    assert cut["text"] == text[:text.index(stop)]
    assert stop not in cut["text"]


def test_prompt_file_is_the_same_as_the_prompt(sllm_bin, model, tmp_path):
    prompt = "A prompt from a file,\nwith two lines."
    path = tmp_path / "prompt.txt"
    path.write_text(prompt)
    from_file = sllm(sllm_bin, "run", "-m", model, "-t", "1", "-f", path, "-n", "8", "--temp", "0", "--json")
    from_stdin = sllm(sllm_bin, "run", "-m", model, "-t", "1", "-f", "-", "-n", "8", "--temp", "0", "--json",
                      stdin=prompt)
    assert from_file.returncode == 0 and from_stdin.returncode == 0, (from_file.stderr, from_stdin.stderr)
    inline = run_json(sllm_bin, model, "-n", "8", "--temp", "0", prompt=prompt)
    for proc in (from_file, from_stdin):
        result = json.loads(proc.stdout)
        assert result["tokens"] == inline["tokens"] and result["prompt_tokens"] == inline["prompt_tokens"]


@pytest.mark.parametrize("option,value", [("--top-p", "abc"), ("--temp", "1.5x"), ("--top-k", "-3"),
                                          ("--seed", "-1"), ("--top-logprobs", "21"), ("--min-p", "nan"),
                                          ("-n", "ten"), ("-t", "0")])
def test_malformed_values_are_refused_with_the_option_named(sllm_bin, model, option, value):
    proc = sllm(sllm_bin, "run", "-m", model, "-p", "x", option, value)
    assert proc.returncode == 2
    assert f"{option} {value}" in proc.stderr
    assert proc.stdout == ""


@pytest.mark.parametrize("option,value,field", [("--top-p", "2", "top_p"), ("--min-p", "1.5", "min_p"),
                                                ("--repeat-penalty", "0", "repetition_penalty"),
                                                ("--temp", "-1", "temperature")])
def test_out_of_range_values_get_the_library_error_and_no_output(sllm_bin, model, option, value, field):
    proc = sllm(sllm_bin, "run", "-m", model, "-p", "a prompt never echoed", option, value)
    assert proc.returncode == 1
    assert "SLLM_ERR_INVALID_SAMPLING" in proc.stderr and field in proc.stderr
    assert proc.stdout == ""


def test_chat_takes_the_same_sampling_options(sllm_bin, model, tmp_path):
    script = tmp_path / "script.json"
    script.write_text(json.dumps({"turns": ["Hello there", "And then?"], "max_tokens": 12}))

    def replay(*extra):
        proc = sllm(sllm_bin, "chat", "-m", model, "-t", "1", "--replay", script, "--json", *extra)
        assert proc.returncode == 0, proc.stderr
        return [json.loads(line)["tokens"] for line in proc.stdout.splitlines()]

    greedy = replay()
    assert replay("--temp", "1", "--top-k", "1", "--seed", "5") == greedy
    bad = sllm(sllm_bin, "chat", "-m", model, "--replay", script, "--top-p", "x")
    assert bad.returncode == 2 and "--top-p x" in bad.stderr
