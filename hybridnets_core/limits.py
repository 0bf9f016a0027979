"""Documented upper bounds on sizes that come from users' files and flags.

Each bound is far above real use and far below what exhausts a vehicle computer, so hostile or
mistyped input fails at once with a one-line error instead of a MemoryError minutes later.
"""

from __future__ import annotations

# Longest image or network side in pixels (8K video is 7680 wide). A network input of
# 8192x8192 already needs 3.3 million anchors; much more exhausts memory in anchor generation.
MAX_IMAGE_SIDE = 8192
# Longest side and most pixels of a camera frame (image messages, camera_info sizes, files):
# 8K video is 7680x4320 (33 Mpx); beyond this decoding alone costs gigabytes.
MAX_FRAME_SIDE = 16384
MAX_FRAME_PIXELS = 50_000_000

# Boxes of one image that training accepts. Anchor assignment compares every anchor with
# every box of the batch: about 0.9 MB per box and image at 640x384 (46,035 anchors), so a
# batch of 12 with one image of 500 boxes needs about 5.3 GB. BDD100K images hold ~20.
MAX_BOXES_PER_IMAGE = 500
# One training example combines at most 5 images (a 4-tile mosaic plus a mixup partner).
MAX_BOXES_PER_EXAMPLE = 5 * MAX_BOXES_PER_IMAGE

# A BDD100K detection label is a few KB; 500 boxes are about 60 KB.
MAX_LABEL_BYTES = 16 << 20

# Project YAML files: the paper's are about 2 KB with some 100 nodes and 3 levels.
MAX_PROJECT_BYTES = 1 << 20
MAX_YAML_DEPTH = 32
MAX_YAML_NODES = 100_000  # after expanding aliases (`*name`), which is what a reader walks
