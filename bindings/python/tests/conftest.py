"""Fixtures for the binding tests: the package from this checkout, the built library,
a tiny random model made by build/tests/tools/make_model, and SmolLM2 when fetched."""
import os
import pathlib
import subprocess
import sys

import pytest

BINDINGS = pathlib.Path(__file__).resolve().parents[1]
ROOT = pathlib.Path(os.environ.get("SLLM_ROOT", BINDINGS.parents[1]))
if str(BINDINGS) not in sys.path:
    sys.path.insert(0, str(BINDINGS))


def _build_dir() -> pathlib.Path:
    build = pathlib.Path(os.environ.get("SLLM_BUILD", "build"))
    return build if build.is_absolute() else ROOT / build


@pytest.fixture(scope="session")
def sllm():
    """The statelessllm package, or a skip when the C library has not been built."""
    import statelessllm
    try:
        statelessllm.library_version()
    except statelessllm.LibraryNotFoundError as exc:
        pytest.skip("libstatelessllm not available (run `make`): %s" % exc)
    return statelessllm


def _built(relative, target):
    tool = _build_dir() / relative
    if not os.access(str(tool), os.X_OK):
        pytest.skip("%s not built (make %s)" % (tool, target))
    return tool


@pytest.fixture(scope="session")
def make_model_tool():
    """build/tests/tools/make_model: seeded random models in GGUF."""
    return _built("tests/tools/make_model", "test-tools")


@pytest.fixture(scope="session")
def sllm_tool():
    """build/bin/sllm (for `sllm quantize`)."""
    return _built("bin/sllm", "all")


@pytest.fixture(scope="session")
def tiny_model_path(make_model_tool, tmp_path_factory):
    """A random 2-layer llama with make_model's byte-level BPE vocabulary (512 tokens,
    <|im_end|> = EOS) and a ChatML template: fast, exact, meaningless output."""
    path = tmp_path_factory.mktemp("bindings") / "tiny-llama.gguf"
    proc = subprocess.run([str(make_model_tool), "--arch", "llama", "--seed", "11", str(path)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return path


@pytest.fixture(scope="session")
def tiny_model(sllm, tiny_model_path):
    with sllm.Model(tiny_model_path) as model:
        yield model


@pytest.fixture()
def tiny_cache(sllm, tiny_model):
    with sllm.Cache(tiny_model, threads=1, budget_bytes=8 << 20) as cache:
        yield cache


@pytest.fixture(scope="session")
def smollm_path():
    models = pathlib.Path(os.environ.get("SLLM_MODELS_DIR", "models"))
    if not models.is_absolute():
        models = ROOT / models
    path = models / "SmolLM2-135M-Instruct.Q4_1.gguf"
    if not path.exists():
        pytest.skip("%s not found (run `make models`)" % path)
    return path


@pytest.fixture(scope="session")
def smollm(sllm, smollm_path):
    with sllm.Model(smollm_path) as model:
        yield model


@pytest.fixture(scope="session")
def smollm_cache(sllm, smollm):
    with sllm.Cache(smollm, threads=2) as cache:
        yield cache


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "heavy: a real-model case (seconds, not milliseconds); still run by "
                   "default, deselect with -m 'not heavy'")
