"""From pixels to results: letterbox, normalisation, decoding, NMS and label maps (`Pipeline`)."""
