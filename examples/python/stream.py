#!/usr/bin/env python3
"""One streamed reply: text is printed chunk by chunk as the model generates it, then the
Result (token counts, timings) and the cache statistics.

Usage: stream.py [MODEL.gguf] [QUESTION]   (reads the question from stdin when piped)
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
    question = sys.argv[2] if len(sys.argv) > 2 else None
    if question is None and not sys.stdin.isatty():
        question = sys.stdin.readline().strip() or None
    question = question or "Write a haiku about caches."
    try:
        with statelessllm.Model(model_path) as model, statelessllm.Cache(model) as cache:
            messages = [{"role": "system", "content": "You are a helpful assistant."},
                        {"role": "user", "content": question}]
            stream = cache.generate(messages, stream=True, max_tokens=120, temperature=0)
            for chunk in stream:
                print(chunk, end="", flush=True)
            result = stream.result
            stats = cache.stats()
    except statelessllm.StatelessLLMError as exc:
        print("error: %s" % exc, file=sys.stderr)
        return 1
    print()
    print("[finish: %s; %d prompt tokens, %d generated; first token %.0f ms, total %.0f ms]"
          % (result.finish_reason, result.prompt_tokens, result.generated_tokens,
             result.ttft_ms, result.timings.total_ms))
    print("[cache: %d of %d blocks hold K/V; %d requests]"
          % (stats.blocks_cached + stats.blocks_used, stats.blocks_total, stats.requests))
    return 0


if __name__ == "__main__":
    sys.exit(main())
