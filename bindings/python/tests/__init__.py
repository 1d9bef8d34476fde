"""Tests of the statelessllm Python bindings (a package, so that its conftest does not shadow tests/python/conftest.py)."""
