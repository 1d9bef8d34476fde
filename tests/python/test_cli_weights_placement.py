"""Where the CLI puts a model's weights: a copy in huge-page memory by default, the mmap'd
file with --mmap (sllm run, chat, bench, bench chat), the same tokens either way; `sllm
info` states the default; `sllm bench` reports the layout and the peak memory without its
bandwidth probe's buffer."""
import json
import re
import subprocess

import pytest

from conftest import require_file

PROBE_BUFFER_BYTES = 1 << 30  # the bandwidth probe's buffer (tools/sllm/read_bandwidth.c)


def run_cli(sllm_bin, *args):
    return subprocess.run([str(sllm_bin)] + [str(a) for a in args], capture_output=True,
                          text=True, timeout=600)


@pytest.fixture(scope="module")
def chat_model(make_model_bin, tmp_path_factory):
    path = tmp_path_factory.mktemp("placement") / "tiny-llama.gguf"
    subprocess.run([str(make_model_bin), "--arch", "llama", "--seed", "5", str(path)],
                   check=True, capture_output=True)
    return path


def test_info_states_the_default_placement(sllm_bin, tiny_llama_path):
    out = run_cli(sllm_bin, "info", tiny_llama_path, "--json")
    assert out.returncode == 0, out.stderr
    placement = json.loads(out.stdout)["weights_placement"]
    assert placement.startswith("default: copied into 2 MiB huge pages")
    assert "--mmap" in placement
    text = run_cli(sllm_bin, "info", tiny_llama_path)
    assert text.returncode == 0, text.stderr
    line = next(l for l in text.stdout.splitlines() if l.startswith("weights placement"))
    assert placement in line


def bench_json(sllm_bin, model, *extra):
    out = run_cli(sllm_bin, "bench", "-m", model, "-p", "8", "-n", "4", "-t", "1", "--json", *extra)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_bench_reports_layout_memory_and_bandwidth(sllm_bin, tiny_llama_path):
    copied = bench_json(sllm_bin, tiny_llama_path)
    assert copied["weights_layout"].startswith("copied into memory")
    # 12 tensors of llama-2-tiny-random (../shared/testdata/README.md): at least its
    # 32000 x 8 F16 token embedding.
    assert copied["weights_bytes"] >= 32000 * 8 * 2
    # 16-token blocks of 1 layer x 2 (K, V) x 2 KV heads x head_dim 4 in F16: one block
    # holds the 12 tokens.
    assert copied["kv_bytes"] == 16 * 1 * 2 * 2 * 4 * 2
    # The copy is written at load, so all of it is resident; the probe's 1 GiB is not.
    assert copied["weights_bytes"] + copied["kv_bytes"] < copied["peak_rss_bytes"]
    assert copied["peak_rss_bytes"] < PROBE_BUFFER_BYTES
    assert copied["read_bandwidth_gb_per_s"] > 0
    assert copied["read_bandwidth_best_probe_gb_per_s"] > 0
    assert copied["read_bandwidth_loop"] in ("AVX-512", "AVX2", "scalar")
    # Decode goes in slices of 4 tokens with one read of the sampler's 256 MiB before
    # each (kept out of the peak RSS like the probe's 1 GiB): 4 tokens, one read.
    assert copied["read_bandwidth_reads_during_decode"] == 1
    assert copied["peak_rss_bytes"] < 256 << 20

    mapped = bench_json(sllm_bin, tiny_llama_path, "--mmap")
    assert mapped["weights_layout"].startswith("mmap'd from the file")
    assert mapped["weights_bytes"] == copied["weights_bytes"]
    assert 0 < mapped["peak_rss_bytes"] < PROBE_BUFFER_BYTES


def test_bench_text_shows_layout_and_peak_memory(sllm_bin, tiny_llama_path):
    out = run_cli(sllm_bin, "bench", "-m", tiny_llama_path, "-p", "4", "-n", "2", "-t", "1", "--mmap")
    assert out.returncode == 0, out.stderr
    lines = {line.split("  ")[0]: line for line in out.stdout.splitlines()}
    assert "mmap'd from the file" in lines["weights"]
    peak = lines["peak memory (RSS)"]
    assert "MiB" in peak and "weights" in peak and "KV" in peak
    assert "GB/s" in lines["memory read bandwidth"]


def run_tokens(sllm_bin, model, *extra):
    out = run_cli(sllm_bin, "run", "-m", model, "-p", "Once upon a time", "-n", "12",
                  "--temp", "0", "-t", "1", "--json", *extra)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)["tokens"]


def test_run_gives_the_same_tokens_with_mmap(sllm_bin, tiny_llama_path, chat_model):
    for model in (tiny_llama_path, chat_model):
        copied = run_tokens(sllm_bin, model)
        assert len(copied) == 12
        assert run_tokens(sllm_bin, model, "--mmap") == copied


def test_chat_replay_gives_the_same_replies_with_mmap(sllm_bin, chat_model, tmp_path):
    script = tmp_path / "script.json"
    script.write_text(json.dumps({"turns": ["Hello there", "Tell me about rivers"],
                                  "temperature": 0, "max_tokens": 10}))
    replies = []
    for extra in ([], ["--mmap"]):
        out = run_cli(sllm_bin, "chat", "-m", chat_model, "-t", "1", "--replay", script, "--json", *extra)
        assert out.returncode == 0, out.stderr
        replies.append([json.loads(line)["tokens"] for line in out.stdout.splitlines()])
    assert len(replies[0]) == 2
    assert replies[0] == replies[1]


def test_bench_chat_accepts_mmap(sllm_bin, chat_model):
    out = run_cli(sllm_bin, "bench", "chat", "-m", chat_model, "-T", "2", "-u", "8", "-r", "4",
                  "-t", "1", "--no-baseline", "--json", "--mmap")
    assert out.returncode == 0, out.stderr
    json.loads(out.stdout)


def test_mmap_takes_no_value(sllm_bin, tiny_llama_path):
    out = run_cli(sllm_bin, "run", "-m", tiny_llama_path, "-p", "Hi", "-n", "1", "--mmap", "yes")
    assert out.returncode == 2
    assert "--mmap" in out.stderr


def repacked_by_load(sllm_bin, model):
    layout = bench_json(sllm_bin, model)["weights_layout"]
    match = re.search(r"(\d+) matrices repacked", layout)
    return int(match.group(1)) if match else 0


@pytest.mark.parametrize("which", ["generated", "smollm2"])
def test_info_predicts_what_the_load_repacks(sllm_bin, chat_model, models_dir, which):
    model = chat_model if which == "generated" else require_file(
        models_dir / "SmolLM2-135M-Instruct.Q4_1.gguf", "run `make models`")
    out = run_cli(sllm_bin, "info", model, "--json")
    assert out.returncode == 0, out.stderr
    repacking = json.loads(out.stdout)["weights_repacking"]
    assert 0 <= repacking["repacked"] <= repacking["matrices"]
    assert repacking["repacked"] == repacked_by_load(sllm_bin, model)
    text = run_cli(sllm_bin, "info", model).stdout
    line = next(l for l in text.splitlines() if l.startswith("weights repacking"))
    assert "%d of %d matrices" % (repacking["repacked"], repacking["matrices"]) in line
    # the kernel table named by info is the one the load names
    assert repacking["kernels"] in ("avx512", "avx2", "scalar")
    if repacking["repacked"] > 0:
        layout = bench_json(sllm_bin, model)["weights_layout"]
        assert "for the %s kernels" % repacking["kernels"] in layout
