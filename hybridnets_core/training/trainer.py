"""The training loop: data, optimisation, validation, checkpoints and logs for one run."""

from __future__ import annotations

import copy
import math
from typing import Any

import torch
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler
from tqdm import tqdm

from ..data import Sample, TrainDataset, ValDataset, checked_samples, collate_train
from ..errors import CheckpointError, ConfigError
from ..evaluation import Evaluation, evaluate, format_summary, write_report
from ..inference.pipeline import Pipeline
from ..inference.transform import ImageTransform
from ..model import HybridNets
from ..model.checkpoint import load_torch_file, read_checkpoint, save_checkpoint
from ..model.config import ModelConfig
from . import distributed
from .autoanchor import tune_anchors
from .distributed import Context
from .freeze import freeze, train_mode
from .logs import EpochLog
from .losses import detection_losses, segmentation_loss
from .options import OPTIMIZERS, TrainOptions

SGD_MOMENTUM = 0.9
PLATEAU_PATIENCE = 3
LOSS_KEYS = ("cls_loss", "box_loss", "seg_loss")
METRIC_KEYS = ("mAP50", "mAP50_95", "recall", "drivable_miou", "lane_iou", "lane_accuracy")


def load_start_weights(model: HybridNets, path: str) -> tuple[int, int]:
    """Copy every tensor whose name and shape match (official weights included); returns
    (loaded, skipped). Heads of another class count are skipped, not an error."""
    state, _ = read_checkpoint(path)
    own = model.state_dict()
    matching = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
    if not matching:
        raise CheckpointError(
            f"no tensor of {path} fits this network (coefficient {model.compound_coef}); "
            "pass -c with the coefficient the weights were trained with"
        )
    model.load_state_dict(matching, strict=False)
    return len(matching), len(own) - len(matching)


class Trainer:
    """One training run (one stage of the recipe), resumable from its `last.pth`."""

    def __init__(self, options: TrainOptions, context: Context) -> None:
        self.options = options
        self.context = context
        self.run_dir = options.run_dir
        self.device = context.device
        self.resume = options.weights == "last"
        checkpoint = self._resume_checkpoint() if self.resume else None
        if options.project.need_autoanchor and checkpoint is None:
            self._autoanchor()
        self.config = (
            ModelConfig.from_dict(checkpoint["config"])
            if checkpoint
            else options.project.model_config(options.compound_coef, options.input_size)
        )
        torch.manual_seed(options.seed)
        self.model = HybridNets.from_config(self.config)
        if options.weights and not self.resume:
            loaded, skipped = load_start_weights(self.model, options.weights)
            self._say(f"loaded {loaded} tensors from {options.weights} ({skipped} not matching)")
        freeze(self.model, options.freeze)
        self.model.to(self.device)
        self.optimizer = self._optimizer()
        self.scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
            self.optimizer, patience=PLATEAU_PATIENCE
        )
        self.amp_dtype = torch.float16 if self.device.type == "cuda" else torch.bfloat16
        self.scaler = torch.amp.GradScaler(
            self.device.type, enabled=options.amp and self.device.type == "cuda"
        )
        self.epoch, self.step, self.best_fitness = 0, 0, -math.inf
        if checkpoint:
            self._restore(checkpoint)
        self.network: torch.nn.Module = self.model
        if context.distributed:
            ids = [self.device.index] if self.device.type == "cuda" else None
            self.network = DistributedDataParallel(self.model, device_ids=ids)
        self.transform = ImageTransform.for_config(self.config)
        self.train_set, self.val_set = self._datasets()
        self.normalise = tuple(
            torch.from_numpy(v).to(self.device).view(1, 3, 1, 1) for v in self.transform.scale_shift
        )

    def _say(self, text: str) -> None:
        if self.context.is_main:
            tqdm.write(text)

    def _autoanchor(self) -> None:
        """Replace the project's anchors by ones fitted to its training boxes."""
        options = self.options
        fitted, report = tune_anchors(
            options.project,
            options.compound_coef,
            options.input_size,
            options.skip_invalid,
            options.max_images,
            options.seed,
        )
        self._say(f"need_autoanchor: {report}")
        options.project.anchor_scales = fitted.scales
        options.project.anchor_ratios = fitted.ratios

    def _resume_checkpoint(self) -> dict[str, Any]:
        """This run's last.pth, read by the one checkpoint loader and checked to hold a
        resumable training state (weights, config, optimizer, counters)."""
        path = self.run_dir / "last.pth"
        if not path.is_file():
            raise CheckpointError(f"-w last: {path} does not exist; start without -w or use --name")
        data = load_torch_file(path)
        needed = (
            "model", "config", "optimizer", "scheduler", "scaler", "epoch", "step", "best_fitness",
            "seed",
        )  # fmt: skip
        missing = [k for k in needed if not isinstance(data, dict) or k not in data]
        if missing or not isinstance(data["config"], dict) or not isinstance(data["model"], dict):
            raise CheckpointError(
                f"-w last: {path} is not a training checkpoint of `hybridnets train` (it lacks "
                f"{repr(missing[0]) if missing else 'a config and weights'}); to start from its "
                f"weights pass -w {path} with a new --name"
            )
        if tuple(data.get("freeze", ())) != tuple(self.options.freeze):
            raise ConfigError(
                f"{path} was trained with freeze {data.get('freeze')} but this run asks for "
                f"{list(self.options.freeze)}; for a new stage pass -w {path} with a new --name"
            )
        return data

    def _optimizer(self) -> torch.optim.Optimizer:
        params = [p for p in self.model.parameters() if p.requires_grad]
        if self.options.optim == "adamw":
            return torch.optim.AdamW(params, lr=self.options.lr)
        if self.options.optim == "sgd":
            return torch.optim.SGD(params, lr=self.options.lr, momentum=SGD_MOMENTUM, nesterov=True)
        raise ConfigError(f"--optim must be one of {OPTIMIZERS}, got {self.options.optim!r}")

    def _restore(self, checkpoint: dict[str, Any]) -> None:
        """Model, optimizer, scheduler, scaler, counters and best fitness of a saved run."""
        self.model.load_state_dict(checkpoint["model"])
        self.optimizer.load_state_dict(checkpoint["optimizer"])
        self.scheduler.load_state_dict(checkpoint["scheduler"])
        self.scaler.load_state_dict(checkpoint["scaler"])
        self.epoch, self.step = checkpoint["epoch"], checkpoint["step"]
        self.best_fitness = checkpoint["best_fitness"]
        self.options.seed = checkpoint["seed"]
        self._say(f"resuming {self.run_dir / 'last.pth'} at epoch {self.epoch}, step {self.step}")

    def _datasets(self) -> tuple[TrainDataset, ValDataset | None]:
        """Check both splits once (the summary is printed by the main process only)."""
        project, options = self.options.project, self.options
        multiclass = self.config.seg_mode == "multiclass"
        paths = project.require_paths()

        def checked(split: str) -> list[Sample]:
            samples, report = checked_samples(
                project, split, options.skip_invalid, 4, options.max_images
            )
            self._say(report.summary())
            return samples

        train = checked(paths.train_split)
        val_set = None
        if options.val_interval > 0:
            val_set = ValDataset(checked(paths.val_split), self.transform, multiclass)
        return TrainDataset(
            train, self.transform, multiclass, project.augment, options.seed
        ), val_set

    def _losses(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Forward one batch; losses of frozen tasks are not computed."""
        scale, shift = self.normalise
        images = batch["image"].to(self.device, non_blocking=True).float() * scale - shift
        with torch.autocast(self.device.type, self.amp_dtype, enabled=self.options.amp):
            regression, classification, segmentation = self.network(images)
        parts = {}
        if "det" not in self.options.freeze:
            parts["cls_loss"], parts["box_loss"] = detection_losses(
                regression,
                classification,
                self.model.anchors(*images.shape[2:]),
                batch["boxes"].to(self.device),
                batch["classes"].to(self.device),
            )
        if "seg" not in self.options.freeze:
            parts["seg_loss"] = segmentation_loss(
                segmentation, batch["masks"].to(self.device), self.config.seg_mode
            )
        return parts

    def train_epoch(self) -> dict[str, float]:
        """One pass over this process's share of the data; returns mean losses over all ranks."""
        options, context = self.options, self.context
        torch.manual_seed(options.seed * 100003 + self.epoch * 1009 + context.rank)
        self.train_set.epoch = self.epoch
        sampler = DistributedSampler(
            self.train_set, context.world_size, context.rank, shuffle=True, seed=options.seed
        )
        sampler.set_epoch(self.epoch)
        loader = DataLoader(
            self.train_set,
            batch_size=options.batch_size,
            sampler=sampler,
            num_workers=options.workers,
            collate_fn=collate_train,
            pin_memory=self.device.type == "cuda",
        )
        train_mode(self.model, options.freeze)
        totals = dict.fromkeys(("loss", *LOSS_KEYS), 0.0)
        batches = 0
        bar = tqdm(
            loader,
            desc=f"epoch {self.epoch + 1}/{options.num_epochs}",
            disable=not (context.is_main and options.progress),
        )
        for batch in bar:
            parts = self._losses(batch)
            loss = sum(parts.values())
            if not torch.isfinite(loss):
                raise ConfigError(
                    f"loss became {loss.item()} at step {self.step}; lower --lr or drop --amp"
                )
            self.optimizer.zero_grad(set_to_none=True)
            self.scaler.scale(loss).backward()
            self.scaler.step(self.optimizer)
            self.scaler.update()
            self.step += 1
            batches += 1
            totals["loss"] += loss.item()
            for key, value in parts.items():
                totals[key] += value.item()
            bar.set_postfix({k: f"{v.item():.4f}" for k, v in parts.items()})
        return {
            key: distributed.mean_across(value / max(batches, 1), context)
            for key, value in totals.items()
        }

    def validate(self) -> Evaluation:
        """Evaluate a copy of the current weights through the user-facing Pipeline (main
        process); the copy keeps the runtime's eval mode and memory format off the DDP model."""
        pipeline = Pipeline.from_model(
            copy.deepcopy(self.model),
            self.config,
            device=str(self.device),
            detection=self.options.val,
        )
        options = self.options
        return evaluate(
            pipeline, self.val_set, options.batch_size, options.workers, options.progress
        )

    def save(self, name: str) -> None:
        save_checkpoint(
            self.run_dir / name,
            self.model,
            self.config,
            optimizer=self.optimizer.state_dict(),
            scheduler=self.scheduler.state_dict(),
            scaler=self.scaler.state_dict(),
            epoch=self.epoch,
            step=self.step,
            best_fitness=self.best_fitness,
            seed=self.options.seed,
            freeze=list(self.options.freeze),
        )

    def _finish_epoch(self, losses: dict[str, float], due: bool) -> dict[str, Any]:
        """Main process: validate if due, keep best/last checkpoints, return the log row."""
        metrics: dict[str, float | None] = dict.fromkeys((*METRIC_KEYS, "fitness"))
        if due:
            evaluation = self.validate()
            write_report(evaluation, self.config.obj_list, self.run_dir / "val")
            tqdm.write(format_summary(evaluation))
            det, seg = evaluation.summary["detection"], evaluation.summary["segmentation"]
            metrics.update({k: det[k] for k in ("mAP50", "mAP50_95", "recall")})
            metrics.update({k: seg["paper"].get(k) for k in METRIC_KEYS[3:]})
            metrics["fitness"] = evaluation.fitness
            if evaluation.fitness > self.best_fitness:
                self.best_fitness = evaluation.fitness
                self.save("best.pth")
        self.save("last.pth")
        lr = self.optimizer.param_groups[0]["lr"]
        return {"epoch": self.epoch, "step": self.step, "lr": lr, **losses, **metrics}

    def run(self) -> list[dict[str, Any]]:
        """Train to `num_epochs`, validating every `val_interval` epochs; returns logged rows."""
        options, context = self.options, self.context
        log = EpochLog(self.run_dir, self.epoch) if context.is_main else None
        rows = []
        while self.epoch < options.num_epochs:
            losses = self.train_epoch()
            self.scheduler.step(losses["loss"])
            self.epoch += 1
            last = self.epoch == options.num_epochs
            due = options.val_interval > 0 and (self.epoch % options.val_interval == 0 or last)
            if log is not None:
                rows.append(self._finish_epoch(losses, due))
                log.add(rows[-1], plot=due or last)
            distributed.barrier(context)
        if log is not None:
            log.close()
        return rows
