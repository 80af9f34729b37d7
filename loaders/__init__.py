"""Readers of model sources (ONNX files, code-defined zoos, Younger releases)."""
