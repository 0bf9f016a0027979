"""Where the network runs: torch or ONNX Runtime behind one runtime contract."""
