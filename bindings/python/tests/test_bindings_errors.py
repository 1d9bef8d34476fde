"""Status codes become exceptions: one class per status, the library's own message."""
import threading

import pytest


def test_missing_file_raises_io_error_naming_the_path(sllm, tmp_path):
    missing = tmp_path / "absent.gguf"
    with pytest.raises(sllm.IoError) as info:
        sllm.Model(missing)
    assert info.value.status == 3
    assert info.value.status_name == "SLLM_ERR_IO"
    assert str(missing) in info.value.message
    assert isinstance(info.value, sllm.StatelessLLMError)


def test_file_that_is_not_gguf_raises_bad_magic(sllm, tmp_path):
    path = tmp_path / "text.gguf"
    path.write_bytes(b"hello world, this is not a model")
    with pytest.raises(sllm.BadMagicError) as info:
        sllm.Model(path)
    # The message shows the first four bytes of the file: 'h' 'e' 'l' 'l'.
    assert "68 65 6c 6c" in info.value.message


def test_unknown_role_raises_invalid_role(sllm, tiny_cache):
    with pytest.raises(sllm.InvalidRoleError) as info:
        tiny_cache.generate([{"role": "narrator", "content": "hi"}], max_tokens=1)
    assert "narrator" in info.value.message
    assert isinstance(info.value, ValueError)


def test_top_p_above_one_raises_invalid_sampling(sllm, tiny_cache):
    with pytest.raises(sllm.InvalidSamplingError) as info:
        tiny_cache.generate([{"role": "user", "content": "hi"}], top_p=2.0, max_tokens=1)
    assert "top_p" in info.value.message


def test_empty_conversation_raises_invalid_request(sllm, tiny_cache):
    with pytest.raises(sllm.InvalidRequestError):
        tiny_cache.generate([], max_tokens=1)


def test_token_ids_outside_the_vocabulary_raise_invalid_token(sllm, tiny_cache):
    with pytest.raises(sllm.InvalidTokenError) as info:
        tiny_cache.generate([{"role": "user", "content": "hi"},
                             {"role": "assistant", "content": "x", "token_ids": [512]},
                             {"role": "user", "content": "again"}], max_tokens=1)
    assert "512" in info.value.message


def test_malformed_json_raises_invalid_json_with_position(sllm, tiny_cache):
    with pytest.raises(sllm.InvalidJsonError) as info:
        tiny_cache.generate_json('{"messages": [')
    assert "line 1" in info.value.message


def test_prompt_longer_than_context_raises_context_overflow(sllm, tiny_cache, tiny_model):
    # Every 'x' is a separate single-byte token unless merged; either way far over 512.
    with pytest.raises(sllm.ContextOverflowError):
        tiny_cache.generate([{"role": "user", "content": "x " * tiny_model.n_ctx}],
                            max_tokens=1)


def test_budget_below_one_block_raises_kv_budget(sllm, tiny_model):
    with pytest.raises(sllm.KvBudgetError):
        sllm.Cache(tiny_model, budget_bytes=100)


def test_unknown_chat_template_name_raises_chat_template_error(sllm, tiny_cache):
    with pytest.raises(sllm.ChatTemplateError) as info:
        tiny_cache.generate([{"role": "user", "content": "hi"}], chat_template="nonesuch",
                            max_tokens=1)
    assert "nonesuch" in info.value.message


def test_missing_metadata_key_raises_not_found(sllm, tiny_model):
    with pytest.raises(sllm.NotFoundError) as info:
        tiny_model.metadata("no.such.key")
    assert "no.such.key" in str(info.value)


def test_metadata_only_model_cannot_make_a_cache(sllm, tiny_model_path):
    with sllm.Model(tiny_model_path, metadata_only=True) as model:
        with pytest.raises(sllm.InvalidArgumentError):
            sllm.Cache(model)


def test_every_status_code_has_its_own_class(sllm):
    classes = {code: sllm.error_class(code) for code in range(1, 27)}
    assert len(set(classes.values())) == 26
    for code, cls in classes.items():
        assert cls.status == code
        assert issubclass(cls, sllm.StatelessLLMError)
    assert sllm.error_class(999) is sllm.StatelessLLMError


def test_messages_stay_with_the_thread_that_failed(sllm, tmp_path, tiny_cache):
    # Each thread's failure carries its own message even while others fail differently.
    errors = {}

    def fail_load(index):
        try:
            sllm.Model(tmp_path / ("absent-%d.gguf" % index))
        except sllm.StatelessLLMError as exc:
            errors[index] = exc

    def fail_sampling():
        for _ in range(20):
            with pytest.raises(sllm.InvalidSamplingError):
                tiny_cache.generate([{"role": "user", "content": "hi"}], min_p=3.0)

    threads = [threading.Thread(target=fail_load, args=(i,)) for i in range(8)]
    threads.append(threading.Thread(target=fail_sampling))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for index in range(8):
        assert isinstance(errors[index], sllm.IoError)
        assert "absent-%d.gguf" % index in errors[index].message


def test_unknown_generate_argument_is_a_type_error(sllm, tiny_cache):
    with pytest.raises(TypeError):
        tiny_cache.complete("hi", temprature=0.5)
