"""The Python bindings' Model(path, mmap=...): the weights copied into huge-page memory (the
default) or computed from the mmap'd file, named by Model.weights_layout, with the same
tokens and log-probabilities either way; an unknown placement is refused by name."""
import ctypes
import subprocess

import pytest


@pytest.fixture(scope="module")
def model_paths(make_model_tool, sllm_tool, tmp_path_factory):
    """make_model's tiny llama (width 128, vocab 512: rows in multiples of 16, columns
    in multiples of 64) in F32 and quantized to the types whose rows may be repacked."""
    folder = tmp_path_factory.mktemp("placement")
    f32 = folder / "tiny-f32.gguf"
    subprocess.run([str(make_model_tool), "--arch", "llama", "--seed", "3", str(f32)], check=True,
                   capture_output=True)
    paths = {"F32": f32}
    for type_name in ("Q8_0", "Q4_0", "Q4_1"):
        paths[type_name] = folder / ("tiny-%s.gguf" % type_name)
        subprocess.run([str(sllm_tool), "quantize", str(f32), str(paths[type_name]), type_name],
                       check=True, capture_output=True)
    return paths


def test_layout_names_where_the_weights_live(sllm, model_paths):
    with sllm.Model(model_paths["F32"]) as copied:
        assert copied.weights_layout.startswith("copied into memory")
        assert copied.mmap is False
    with sllm.Model(model_paths["F32"], mmap=True) as mapped:
        assert mapped.weights_layout.startswith("mmap'd from the file")
        assert mapped.mmap is True
    with sllm.Model(model_paths["F32"], metadata_only=True) as metadata:
        assert metadata.weights_layout == "none (metadata only)"


def complete(sllm, path, mmap):
    with sllm.Model(path, mmap=mmap) as model, sllm.Cache(model, threads=1,
                                                          budget_bytes=8 << 20) as cache:
        prompt = [(i * 37 + 5) % model.n_vocab for i in range(20)]
        return cache.complete(prompt, temperature=0, max_tokens=8, logprobs=True,
                              top_logprobs=5, ignore_eos=True)


@pytest.mark.parametrize("type_name", ["F32", "Q8_0", "Q4_0", "Q4_1"])
def test_copied_and_mmapped_weights_give_the_same_results(sllm, model_paths, type_name):
    copied = complete(sllm, model_paths[type_name], mmap=False)
    mapped = complete(sllm, model_paths[type_name], mmap=True)
    assert len(copied.tokens) == 8
    assert copied.tokens == mapped.tokens
    assert copied.logprobs == mapped.logprobs          # exact floats, not approximately
    assert copied.top_logprobs == mapped.top_logprobs


def test_unknown_placement_is_refused_naming_the_field(sllm, model_paths):
    from statelessllm import _lib
    lib = _lib.lib()
    params = _lib.ModelParams()
    lib.sllm_model_params_init(ctypes.byref(params))
    assert params.weights_placement == _lib.WEIGHTS_COPY
    assert params.struct_size == ctypes.sizeof(_lib.ModelParams)  # the fields match the header
    params.weights_placement = 7
    handle = ctypes.c_void_p()
    status = lib.sllm_model_load(str(model_paths["F32"]).encode(), ctypes.byref(params),
                                 ctypes.byref(handle))
    with pytest.raises(sllm.InvalidArgumentError, match="weights_placement"):
        _lib.check(status)
    assert not handle.value
