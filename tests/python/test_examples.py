"""Runs every example (examples/*.c as built by `make all`, examples/python/*.py) on
SmolLM2 with piped input and checks that the output is a sensible reply."""
import os
import pathlib
import re
import subprocess
import sys

import pytest

from conftest import ROOT, require_file, require_tool

pytestmark = pytest.mark.heavy

QUESTIONS = "What is the capital of France?\nAnd of Germany?\n"


def _run(command, stdin="", timeout=600):
    env = dict(os.environ, PYTHONPATH=str(ROOT / "bindings" / "python"))
    proc = subprocess.run([str(c) for c in command], input=stdin, capture_output=True,
                          text=True, timeout=timeout, cwd=str(ROOT), env=env)
    assert proc.returncode == 0, "exit %d\nstdout:\n%s\nstderr:\n%s" % (
        proc.returncode, proc.stdout, proc.stderr)
    return proc.stdout


def _cached_counts(output):
    return [int(n) for n in re.findall(r"\[\d+ prompt tokens, (\d+) from the cache", output)]


@pytest.fixture(scope="module")
def examples_dir(build_dir):
    return build_dir / "examples"


def test_simple_answers_one_question(examples_dir, smollm_path):
    out = _run([require_tool(examples_dir.parent, "examples/simple"), smollm_path])
    assert "Paris" in out


def test_simple_reports_a_missing_model_and_fails(examples_dir, tmp_path):
    exe = require_tool(examples_dir.parent, "examples/simple")
    proc = subprocess.run([str(exe), str(tmp_path / "absent.gguf")], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 1
    assert "absent.gguf" in proc.stderr and proc.stdout == ""


def test_chat_keeps_the_conversation_and_reuses_the_cache(examples_dir, smollm_path):
    out = _run([require_tool(examples_dir.parent, "examples/chat"), smollm_path],
               stdin=QUESTIONS)
    assert "Paris" in out and "Berlin" in out
    cached = _cached_counts(out)
    assert len(cached) == 2 and cached[0] == 0 and cached[1] > 0


def test_concurrent_threads_hit_the_shared_cache(examples_dir, smollm_path):
    out = _run([require_tool(examples_dir.parent, "examples/concurrent"), smollm_path, "2"])
    ratios = [float(r) for r in re.findall(r"^thread \d+ hit ratio ([0-9.]+)", out, re.M)]
    assert len(ratios) == 2 and all(r > 0 for r in ratios)
    overall = re.search(r"^cache hit ratio ([0-9.]+): (\d+) requests", out, re.M)
    assert overall and float(overall.group(1)) > 0
    assert int(overall.group(2)) == 2 * 2 * 3  # threads x conversations x turns
    assert "Paris" in out  # thread 0's first conversation is about France


def test_game_loop_renders_frames_while_the_reply_streams(examples_dir, smollm_path):
    out = _run([require_tool(examples_dir.parent, "examples/game_loop"), smollm_path],
               stdin="Hello! Do you have a room for the night?\n")
    assert "Player: Hello! Do you have a room for the night?" in out
    reply = out.split("Mira: ", 1)[1].split("\n[", 1)[0]
    assert reply.strip()
    frames = re.search(r"\[(\d+) frames rendered while the reply streamed in; (\d+) tokens\]",
                       out)
    assert frames and int(frames.group(1)) > 1 and int(frames.group(2)) > 0


def test_python_chat_keeps_the_conversation_and_reuses_the_cache(build_dir, smollm_path):
    require_file(build_dir / "lib" / "libstatelessllm.so", "run `make`")
    out = _run([sys.executable, ROOT / "examples" / "python" / "chat.py", smollm_path],
               stdin=QUESTIONS)
    assert "Paris" in out and "Berlin" in out
    cached = _cached_counts(out)
    assert len(cached) == 2 and cached[0] == 0 and cached[1] > 0


def test_python_stream_prints_a_reply_and_its_counts(build_dir, smollm_path):
    require_file(build_dir / "lib" / "libstatelessllm.so", "run `make`")
    out = _run([sys.executable, ROOT / "examples" / "python" / "stream.py", smollm_path],
               stdin="What is the capital of France?\n")
    assert "Paris" in out
    assert re.search(r"\[finish: stop; \d+ prompt tokens, [1-9]\d* generated", out)
