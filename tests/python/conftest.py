"""Shared pytest fixtures: repository, build, test data and model paths; tool lookup with
clean skips when something has not been built or fetched."""
import os
import pathlib
import sys

import pytest

ROOT = pathlib.Path(os.environ.get("SLLM_ROOT", pathlib.Path(__file__).resolve().parents[2]))

# The numpy reference lives in tests/ref as package `ref`.
if str(ROOT / "tests") not in sys.path:
    sys.path.insert(0, str(ROOT / "tests"))


def _resolve(path):
    path = pathlib.Path(path)
    return path if path.is_absolute() else ROOT / path


@pytest.fixture(scope="session")
def repo_root():
    return ROOT


@pytest.fixture(scope="session")
def build_dir():
    return _resolve(os.environ.get("SLLM_BUILD", "build"))


@pytest.fixture(scope="session")
def testdata_dir():
    return _resolve(os.environ.get("SLLM_TESTDATA", ROOT.parent / "shared" / "testdata"))


@pytest.fixture(scope="session")
def models_dir():
    return _resolve(os.environ.get("SLLM_MODELS_DIR", "models"))


def require_file(path, why):
    """Returns `path` if it exists, else skips the test saying what is missing."""
    path = pathlib.Path(path)
    if not path.exists():
        pytest.skip("%s not found (%s)" % (path, why))
    return path


def require_tool(build, relative):
    """Returns the built executable build/relative, or skips with 'X not built'."""
    path = pathlib.Path(build) / relative
    if not os.access(str(path), os.X_OK):
        pytest.skip("%s not built" % path)
    return path


@pytest.fixture(scope="session")
def make_model_bin(build_dir):
    return require_tool(build_dir, "tests/tools/make_model")


@pytest.fixture(scope="session")
def dump_logits_bin(build_dir):
    return require_tool(build_dir, "tests/tools/dump_logits")


@pytest.fixture(scope="session")
def sllm_bin(build_dir):
    return require_tool(build_dir, "bin/sllm")


@pytest.fixture(scope="session")
def tiny_llama_path(testdata_dir):
    return require_file(testdata_dir / "models" / "llama-2-tiny-random.gguf",
                        "shared test data; set SLLM_TESTDATA")


@pytest.fixture(scope="session")
def smollm_path(models_dir):
    return require_file(models_dir / "SmolLM2-135M-Instruct.Q4_1.gguf", "run `make models`")


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "heavy: a real-model case (seconds, not milliseconds); still run by "
                   "default, deselect with -m 'not heavy'")
