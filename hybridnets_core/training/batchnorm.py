"""Re-estimate BatchNorm running statistics from training images.

The official BatchNorm momentum (0.01) makes running statistics trail the weights by hundreds
of steps, so a short training run looks far worse in eval mode than it is. Averaging the
batch statistics over a few dozen batches with the final weights removes that lag.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch.optim.swa_utils import update_bn
from torch.utils.data import DataLoader

from ..data import TrainDataset, collate_train
from ..model import HybridNets


def normalised_batches(
    dataset: TrainDataset, batch_size: int, batches: int, workers: int
) -> Iterator[torch.Tensor]:
    """Up to `batches` normalised float NCHW batches of training examples, as the trainer feeds
    them (the dataset's transform normalises)."""
    loader = DataLoader(
        dataset, batch_size=batch_size, shuffle=True, num_workers=workers, collate_fn=collate_train
    )
    scale, shift = (torch.from_numpy(v).view(1, 3, 1, 1) for v in dataset.transform.scale_shift)
    for index, batch in enumerate(loader):
        if index == batches:
            return
        yield batch["image"].float() * scale - shift


def recalibrate_batchnorm(model: HybridNets, batches: Iterator[torch.Tensor]) -> HybridNets:
    """Replace every BatchNorm's running mean/var by their exact average over `batches`."""
    update_bn(batches, model)
    return model.eval()
