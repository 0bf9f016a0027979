"""ONNX export: raw and end-to-end graphs, fp16 and INT8 variants, with embedded metadata.

The file's names and metadata are defined in `hybridnets_core.runtime.onnx_format`, which the
ONNX Runtime backend reads without importing this package (torch, onnx).
"""
