"""The docs cannot rot: every ```c block of README.md and docs/*.md that has `int main` is
compiled against build/lib/libstatelessllm.a (-Wall -Wextra -Werror), as is every block
marked `<!-- snippet: fragment -->` (wrapped in a main, its #include lines hoisted), and
run when SmolLM2 is present; every ```python block marked `<!-- snippet: run -->` is run.
A run happens in a scratch directory where models/SmolLM2-135M-Instruct.Q4_1.gguf and
model.gguf both name SmolLM2 and build/ is the build tree, and must exit 0."""
import os
import pathlib
import re
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT

FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```", re.M | re.S)
MARKER = re.compile(r"<!--\s*snippet:\s*(\w+)\s*-->\s*$")
SMOLLM_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"


def _snippets():
    docs = [ROOT / "README.md"] + sorted((ROOT / "docs").glob("*.md"))
    found = []
    for doc in docs:
        text = doc.read_text(encoding="utf-8")
        for match in FENCE.finditer(text):
            language, body = match.group(1), match.group(2)
            before = text[:match.start()].rstrip("\n").rsplit("\n", 1)[-1]
            marker = MARKER.search(before)
            kind = marker.group(1) if marker else None
            line = text.count("\n", 0, match.start()) + 1
            name = "%s:%d" % (doc.relative_to(ROOT), line)
            if language == "c" and (kind == "fragment" or re.search(r"\bint\s+main\s*\(", body)):
                found.append(pytest.param("c", kind, body, id=name))
            elif language == "python" and kind == "run":
                found.append(pytest.param("python", kind, body, id=name))
    return found


SNIPPETS = _snippets()


def _c_program(kind, body):
    if kind != "fragment":
        return body
    includes = [l for l in body.splitlines() if l.lstrip().startswith("#include")]
    rest = [l for l in body.splitlines() if not l.lstrip().startswith("#include")]
    head = ["#include <statelessllm.h>", "#include <stdio.h>", "#include <stdlib.h>",
            "#include <string.h>"]
    return "\n".join(head + includes + ["int main(void) {"] + rest + ["return 0;", "}", ""])


def _link_flags():
    flags = []
    for package in ("jansson", "libsodium"):
        try:
            out = subprocess.run(["pkg-config", "--libs", package], capture_output=True,
                                 text=True, check=True).stdout.split()
        except (OSError, subprocess.CalledProcessError):
            out = ["-ljansson" if package == "jansson" else "-lsodium"]
        flags += out
    nvcc = shutil.which("nvcc")
    if nvcc:  # the Makefile builds the CUDA backend into the library when nvcc is found
        flags += ["-L%s" % (pathlib.Path(nvcc).resolve().parents[1] / "lib64"), "-lcudart"]
    return flags + ["-lpthread", "-lm"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, models_dir, build_dir):
    """A scratch working directory that looks like the repository root to a snippet
    (build/ is the build tree; the model paths point at SmolLM2), or None."""
    smollm = models_dir / SMOLLM_NAME
    if not smollm.exists():
        return None
    directory = tmp_path_factory.mktemp("snippets")
    (directory / "models").mkdir()
    (directory / "models" / SMOLLM_NAME).symlink_to(smollm)
    (directory / "model.gguf").symlink_to(smollm)
    (directory / "build").symlink_to(build_dir)
    return directory


def test_the_docs_have_snippets_of_both_languages():
    languages = {param.values[0] for param in SNIPPETS}
    assert languages == {"c", "python"}


@pytest.mark.heavy
@pytest.mark.parametrize("language, kind, body", SNIPPETS)
def test_snippet(language, kind, body, build_dir, run_dir, tmp_path):
    if language == "c":
        static = build_dir / "lib" / "libstatelessllm.a"
        if not static.exists():
            pytest.skip("%s not built (make)" % static)
        source = tmp_path / "snippet.c"
        source.write_text(_c_program(kind, body))
        exe = tmp_path / "snippet"
        proc = subprocess.run(["cc", "-std=c11", "-Wall", "-Wextra", "-Werror",
                               "-I%s" % (ROOT / "include"), str(source), str(static), "-o",
                               str(exe)] + _link_flags(), capture_output=True, text=True)
        assert proc.returncode == 0, "does not compile:\n%s\n%s" % (source.read_text(),
                                                                     proc.stderr)
        command = [str(exe)]
    else:
        if not (build_dir / "lib" / "libstatelessllm.so").exists():
            pytest.skip("libstatelessllm.so not built (make)")
        source = tmp_path / "snippet.py"
        source.write_text(body)
        command = [sys.executable, str(source)]
    if run_dir is None:
        pytest.skip("compiled only: %s not found (make models)" % SMOLLM_NAME)
    env = dict(os.environ, PYTHONPATH=str(ROOT / "bindings" / "python"),
               SLLM_BUILD=str(build_dir))
    proc = subprocess.run(command, cwd=str(run_dir), env=env, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, "exit %d\nstdout:\n%s\nstderr:\n%s" % (
        proc.returncode, proc.stdout, proc.stderr)
