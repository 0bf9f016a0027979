"""ONNX export: raw and end-to-end graphs, fp16 and INT8 variants, with embedded metadata.

Submodules are imported directly (`hybridnets_core.export.exporter`, `.metadata`, ...) so that
the ONNX Runtime backend can read metadata without loading torch's exporter.
"""
