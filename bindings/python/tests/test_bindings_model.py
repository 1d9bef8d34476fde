"""Model: loading, properties read from the file, metadata, tokenizer, lifetime."""
import ctypes
import gc
import pathlib
import subprocess
import sys

import pytest

BINDINGS = pathlib.Path(__file__).resolve().parents[1]


def test_tiny_model_properties_match_the_make_model_defaults(tiny_model):
    # make_model's defaults: embd 128, 2 layers, vocab 512, context 512.
    assert tiny_model.arch == "llama"
    assert (tiny_model.n_embd, tiny_model.n_layer) == (128, 2)
    assert (tiny_model.n_vocab, tiny_model.vocab_size, tiny_model.n_ctx) == (512, 512, 512)
    # <|endoftext|>, <|im_start|>, <|im_end|> are the last three tokens; BOS/EOS as made.
    assert (tiny_model.bos, tiny_model.eos) == (509, 511)
    assert tiny_model.is_eog(511) and not tiny_model.is_eog(300)


def test_metadata_values_come_back_as_python_types(tiny_model):
    assert tiny_model.metadata("general.architecture") == "llama"
    assert tiny_model.metadata("llama.block_count") == 2
    assert isinstance(tiny_model.metadata("llama.attention.layer_norm_rms_epsilon"), float)
    tokens = tiny_model.metadata("tokenizer.ggml.tokens")
    assert len(tokens) == 512 and tokens[-1] == "<|im_end|>"
    assert "<|im_start|>" in tiny_model.metadata("tokenizer.chat_template")
    assert "general.architecture" in tiny_model.metadata_keys()


def test_smollm_tokenizes_to_the_vocabulary_entries_of_the_words(smollm):
    # The ids are checked against the file's own token strings (GPT-2 byte-level: 'Ġ'
    # stands for a leading space), not against the tokenizer that produced them.
    vocab = smollm.metadata("tokenizer.ggml.tokens")
    ids = smollm.tokenize("Hello world")
    assert [vocab[i] for i in ids] == ["Hello", "\u0120world"]
    assert smollm.detokenize(ids) == "Hello world"


def test_control_token_text_is_plain_text_unless_asked(tiny_model):
    plain = tiny_model.tokenize("<|im_end|>")
    assert 511 not in plain
    assert tiny_model.tokenize("<|im_end|>", parse_special=True) == [511]
    assert tiny_model.detokenize([511]) == ""
    assert tiny_model.detokenize([511], render_special=True) == "<|im_end|>"


def test_tokenize_detokenize_round_trip_on_unicode(tiny_model):
    text = "naïve café — 東京 🚀 and <tags>"
    assert tiny_model.detokenize(tiny_model.tokenize(text)) == text
    # Byte-level BPE: every byte has a token, so the pieces concatenate to the UTF-8 bytes.
    pieces = b"".join(tiny_model.token_piece(t) for t in tiny_model.tokenize(text))
    assert pieces == text.encode("utf-8")


def test_long_text_grows_the_token_buffer(tiny_model):
    text = "ab " * 5000
    ids = tiny_model.tokenize(text)
    assert tiny_model.detokenize(ids) == text


def test_detokenize_rejects_ids_outside_the_vocabulary(sllm, tiny_model):
    with pytest.raises(sllm.InvalidTokenError):
        tiny_model.detokenize([512])


def test_closed_model_refuses_use(sllm, tiny_model_path):
    model = sllm.Model(tiny_model_path)
    with model:
        assert not model.closed
    assert model.closed
    with pytest.raises(sllm.StatelessLLMError):
        model.tokenize("hi")
    model.close()  # idempotent


def test_cache_keeps_its_model_alive_after_model_close(sllm, tiny_model_path):
    model = sllm.Model(tiny_model_path)
    cache = sllm.Cache(model, threads=1, budget_bytes=4 << 20)
    model.close()
    assert model.closed
    # The weights must still be there for the cache.
    result = cache.generate([{"role": "user", "content": "hi"}], max_tokens=4, temperature=0)
    assert result.generated_tokens == 4
    cache.close()
    assert not model._finalizer.alive  # freed with its last cache


def test_garbage_collected_handles_are_freed_in_order(sllm, tiny_model_path):
    cache = sllm.Cache(sllm.Model(tiny_model_path), threads=1, budget_bytes=4 << 20)
    cache_finalizer, model_finalizer = cache._finalizer, cache.model._finalizer
    del cache
    gc.collect()
    assert not cache_finalizer.alive and not model_finalizer.alive


def test_library_version_is_what_the_bindings_were_written_for(sllm):
    major, minor, _patch = (int(x) for x in sllm.library_version().split("."))
    assert (major, minor) == sllm.BINDINGS_VERSION


def test_library_of_another_minor_version_is_refused(sllm, tmp_path):
    source = tmp_path / "fake.c"
    source.write_text('const char *sllm_version(void) { return "0.2.0"; }\n')
    fake = tmp_path / "libfake.so"
    subprocess.run(["cc", "-shared", "-fPIC", "-o", str(fake), str(source)], check=True)
    from statelessllm import _lib
    with pytest.raises(sllm.LibraryNotFoundError) as info:
        _lib.load_library(str(fake))
    assert "0.2.0" in str(info.value) and "0.1.x" in str(info.value)


def test_library_is_found_through_sllm_library(sllm, tmp_path):
    path = sllm.library_path()
    script = "import statelessllm as s; print(s.library_path()); print(s.library_version())"
    env = {"SLLM_LIBRARY": path, "PYTHONPATH": str(BINDINGS), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                         text=True, check=True).stdout.split()
    assert out == [path, sllm.library_version()]
    env["SLLM_LIBRARY"] = str(tmp_path / "nothing.so")
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True)
    assert proc.returncode != 0 and "nothing.so" in proc.stderr


def test_structures_match_the_c_header_layout(sllm, tmp_path):
    # sizeof() and every field's offsetof() as the C compiler lays them out, against
    # the ctypes declarations (field names are the C names).
    from statelessllm import _lib
    header_dir = BINDINGS.parents[1] / "include"
    structs = {"sllm_model_params": _lib.ModelParams, "sllm_cache_params": _lib.CacheParams,
               "sllm_cache_stats": _lib.CacheStatsStruct,
               "sllm_generate_params": _lib.GenerateParams, "sllm_result": _lib.ResultStruct,
               "sllm_token_logprob": _lib.TokenLogprob}
    lines, expected = [], []
    for name, cls in structs.items():
        lines.append('printf("%%zu\\n", sizeof(%s));' % name)
        expected.append(ctypes.sizeof(cls))
        for field, _type in cls._fields_:
            lines.append('printf("%%zu\\n", offsetof(%s, %s));' % (name, field))
            expected.append(getattr(cls, field).offset)
    source = tmp_path / "layout.c"
    source.write_text("#include <stddef.h>\n#include <stdio.h>\n#include <statelessllm.h>\n"
                      "int main(void) {\n" + "\n".join(lines) + "\nreturn 0; }\n")
    exe = tmp_path / "layout"
    subprocess.run(["cc", "-I", str(header_dir), "-o", str(exe), str(source)], check=True)
    out = subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout
    assert [int(x) for x in out.split()] == expected
