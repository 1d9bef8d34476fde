#!/usr/bin/env python3
"""A terminal chat in Python. The conversation lives in this program (a Conversation
holds the history and re-sends all of it each turn); the library's prefix cache makes
the re-sent part nearly free. Reads one message per stdin line, so it works piped:

    printf 'Hi!\\nWhat did I just say?\\n' | python3 examples/python/chat.py

Usage: chat.py [MODEL.gguf] [SYSTEM_PROMPT]; "/reset" starts over.
"""
import pathlib
import sys

try:
    import statelessllm
except ImportError:  # a source checkout without `pip install bindings/python`
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "bindings" / "python"))
    import statelessllm

DEFAULT_MODEL = "models/SmolLM2-135M-Instruct.Q4_1.gguf"


def main() -> int:
    model_path = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_MODEL
    system = sys.argv[2] if len(sys.argv) > 2 else "You are a helpful assistant."
    interactive = sys.stdin.isatty()
    try:
        model = statelessllm.Model(model_path)
    except statelessllm.StatelessLLMError as exc:
        print("error: %s" % exc, file=sys.stderr)
        return 1
    with model, statelessllm.Cache(model) as cache:
        chat = statelessllm.Conversation(cache, system=system, temperature=0, max_tokens=200)
        if interactive:
            print("Chatting with %s. Ctrl-D quits, /reset starts over." % model_path)
        while True:
            try:
                line = input("> " if interactive else "")
            except EOFError:
                break
            line = line.strip()
            if not line:
                continue
            if line == "/reset":
                chat = statelessllm.Conversation(cache, system=system, temperature=0,
                                                 max_tokens=200)
                print("[history cleared]")
                continue
            if not interactive:
                print("> " + line)
            try:
                stream = chat.stream(line)
                for chunk in stream:
                    print(chunk, end="", flush=True)
                result = stream.result
            except statelessllm.StatelessLLMError as exc:
                print("\nerror: %s" % exc, file=sys.stderr)
                continue
            print("\n[%d prompt tokens, %d from the cache, %d generated, first token after "
                  "%.0f ms]" % (result.prompt_tokens, result.cached_tokens,
                                result.generated_tokens, result.ttft_ms))
    return 0


if __name__ == "__main__":
    sys.exit(main())
