"""Independent numpy reference: GGUF reader, dequantizers and forward pass (tests only)."""
