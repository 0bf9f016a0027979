"""From the network's raw outputs to detections and label maps: box coding against the anchors,
exact class-wise NMS and segmentation label maps (numpy only; the runtimes decode with it)."""
