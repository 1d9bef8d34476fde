"""`sllm info`: text and JSON views of a GGUF file, and errors that exit non-zero."""
import json
import subprocess

from conftest import require_file, require_tool


def _info(build_dir, *args):
    sllm = require_tool(build_dir, "bin/sllm")
    return subprocess.run([str(sllm), "info", *map(str, args)], capture_output=True, text=True)


def test_json_describes_llama_2_tiny_random(build_dir, testdata_dir):
    model = require_file(testdata_dir / "models" / "llama-2-tiny-random.gguf", "shared test data")
    out = _info(build_dir, model, "--json")
    assert out.returncode == 0, out.stderr
    info = json.loads(out.stdout)
    # Values as llama.cpp wrote them into the file (see ../shared/testdata/README.md).
    assert info["gguf_version"] == 3
    assert info["architecture"] == "llama"
    assert info["hparams"]["embedding_length"] == 8
    assert info["hparams"]["block_count"] == 1
    assert info["hparams"]["attention.head_count"] == 2
    assert info["hparams"]["feed_forward_length"] == 32
    assert info["tokenizer"]["model"] == "llama"
    assert info["tokenizer"]["vocab_size"] == 32000
    assert info["tensors"]["count"] == 12
    assert info["file_size"] == model.stat().st_size
    # token_embd.weight is F16 [8, 32000]: 512,000 bytes of the F16 total.
    assert info["tensors"]["by_type"]["F16"]["bytes"] >= 8 * 32000 * 2
    assert set(info["tensors"]["by_type"]) <= {"F16", "F32"}


def test_text_output_names_the_architecture_and_tokenizer(build_dir, testdata_dir):
    model = require_file(testdata_dir / "models" / "llama-2-tiny-random.gguf", "shared test data")
    out = _info(build_dir, model)
    assert out.returncode == 0, out.stderr
    lines = {line.split(None, 1)[0]: line for line in out.stdout.splitlines() if line.strip()}
    assert "llama" in lines["architecture"]
    assert "32000" in out.stdout
    assert "chat template" in out.stdout


def test_smollm2_has_chatml_template_and_q4_1_tensors(build_dir, models_dir):
    model = require_file(models_dir / "SmolLM2-135M-Instruct.Q4_1.gguf", "run `make models`")
    info = json.loads(_info(build_dir, model, "--json").stdout)
    assert info["hparams"]["block_count"] == 30
    assert info["hparams"]["embedding_length"] == 576
    assert info["tokenizer"]["model"] == "gpt2"
    assert info["tokenizer"]["vocab_size"] == 49152
    assert info["tokenizer"]["chat_template"] is True
    assert "Q4_1" in info["tensors"]["by_type"]


def test_missing_file_exits_non_zero_with_the_status_message(build_dir, tmp_path):
    out = _info(build_dir, tmp_path / "absent.gguf")
    assert out.returncode == 1
    assert "SLLM_ERR_IO" in out.stderr
    assert "absent.gguf" in out.stderr


def test_non_gguf_file_is_rejected_as_bad_magic(build_dir, tmp_path):
    bogus = tmp_path / "bogus.gguf"
    bogus.write_bytes(b"NOTGGUF" + bytes(64))
    out = _info(build_dir, bogus)
    assert out.returncode == 1
    assert "SLLM_ERR_BAD_MAGIC" in out.stderr
