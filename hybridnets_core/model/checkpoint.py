"""Read and write weights: the official plain state_dict and our config-carrying checkpoints."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import torch

from ..errors import CheckpointError, ConfigError
from ..fileio import atomic_output
from . import HybridNets
from .config import BDD_CLASSES, ModelConfig
from .hybridnets import BIFPN_CELLS, BIFPN_CHANNELS
from .weights import cached_official_weights

CHECKPOINT_FORMAT = "hybridnets_ros.checkpoint/1"
SIGNATURE_KEYS = (
    "bifpn.0.conv6_up.pointwise_conv.conv.weight",
    "regressor.header.pointwise_conv.conv.weight",
    "classifier.header.pointwise_conv.conv.weight",
    "segmentation_head.0.weight",
)
BUILTIN_WEIGHTS = Path(__file__).parent / "builtin" / "default.pth"
UNSAFE_PICKLE = "Unsupported global"  # torch's weights_only refusal of a pickled object


def default_weights_path() -> Path:
    """The built-in default model, else the official weights if already downloaded."""
    for candidate in (BUILTIN_WEIGHTS, cached_official_weights()):
        if candidate.is_file():
            return candidate
    raise CheckpointError(
        "no weights given and no default model available; pass --weights PATH or run "
        "`hybridnets weights download` to fetch the official hybridnets.pth"
    )


def save_checkpoint(
    path: str | Path, model: HybridNets, config: ModelConfig, half: bool = False, **extra: Any
) -> None:
    """Write model weights plus their config atomically (no half-written file on failure).

    `half` stores floating-point tensors as fp16 (half the size; they load back into fp32).
    """
    state = model.state_dict()
    if half:
        state = {k: v.half() if v.is_floating_point() else v for k, v in state.items()}
    payload = {"format": CHECKPOINT_FORMAT, "config": config.to_dict(), "model": state, **extra}
    atomic_torch_save(payload, Path(path))


def atomic_torch_save(payload: Any, path: Path) -> None:
    """torch.save that leaves either the complete file or nothing."""
    with atomic_output(path) as temporary:
        torch.save(payload, temporary)


def load_torch_file(path: str | Path) -> Any:
    """torch.load of a file with `weights_only=True` (tensors and plain data only: no code runs).

    The one loader for every weights and checkpoint file; CheckpointError in one line for a
    missing, truncated, foreign or unsafe file (pickled objects are refused, never executed).
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(
            f"weights file {path} not found; check the path or run `hybridnets weights download`"
        )
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if UNSAFE_PICKLE in str(exc):
            raise CheckpointError(
                f"{path} is refused: it holds pickled Python objects, not only tensors, so "
                "loading it could run code; use weights written by `hybridnets train` or "
                "torch.save of a state_dict"
            ) from None
        raise _unreadable(path, exc) from None
    except Exception as exc:  # torch.load raises many types on foreign or damaged files
        raise _unreadable(path, exc) from None


def _unreadable(path: Path, exc: Exception) -> CheckpointError:
    return CheckpointError(
        f"cannot read {path} as a PyTorch checkpoint ({type(exc).__name__}): the file is "
        "truncated, corrupt or not a .pth file; download or export it again"
    )


def read_checkpoint(path: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, Any] | None]:
    """Return (state_dict, saved config or None) from an official or our own checkpoint file."""
    data = load_torch_file(path)
    if isinstance(data, dict) and isinstance(data.get("model"), dict):
        return data["model"], data.get("config")
    if isinstance(data, dict) and data and all(isinstance(v, torch.Tensor) for v in data.values()):
        return data, None
    raise CheckpointError(
        f"{path} holds a {type(data).__name__}, not a HybridNets state_dict or checkpoint"
    )


def infer_config(state_dict: dict[str, torch.Tensor], **overrides: Any) -> ModelConfig:
    """Derive coefficient, class count and seg channels from tensor shapes; overrides win."""
    missing = [key for key in SIGNATURE_KEYS if key not in state_dict]
    if missing:
        sample = ", ".join(list(state_dict)[:3])
        raise CheckpointError(
            f"not a HybridNets checkpoint: it lacks {missing[0]!r} (its keys start {sample}); "
            "pass the official hybridnets.pth or a checkpoint written by `hybridnets train`"
        )
    channels = state_dict[SIGNATURE_KEYS[0]].shape[0]
    cells = len({key.split(".")[1] for key in state_dict if key.startswith("bifpn.")})
    matches = [
        coef
        for coef in range(len(BIFPN_CHANNELS))
        if (BIFPN_CHANNELS[coef], BIFPN_CELLS[coef]) == (channels, cells)
    ]
    if not matches:
        raise CheckpointError(
            f"BiFPN of {cells} cells x {channels} channels matches no compound coefficient 0-8"
        )
    has_p8 = "bifpn.0.conv8_down.pointwise_conv.conv.weight" in state_dict
    coef = matches[-1] if has_p8 else matches[0]
    num_anchors = state_dict[SIGNATURE_KEYS[1]].shape[0] // 4
    num_classes = state_dict[SIGNATURE_KEYS[2]].shape[0] // max(num_anchors, 1)
    seg_channels = state_dict[SIGNATURE_KEYS[3]].shape[0]
    inferred: dict[str, Any] = {"compound_coef": coef}
    if num_classes == 1:
        inferred["obj_list"] = ["car"]
    elif num_classes == len(BDD_CLASSES):
        inferred["obj_list"] = BDD_CLASSES
    else:
        inferred["obj_list"] = [f"class{i}" for i in range(num_classes)]
    if seg_channels == 1:
        inferred.update(seg_mode="binary", seg_list=["road"])
    else:
        names = (
            ["road", "lane"] if seg_channels == 3 else [f"seg{i}" for i in range(1, seg_channels)]
        )
        inferred.update(seg_mode="multiclass", seg_list=names)
    inferred.update({k: v for k, v in overrides.items() if v is not None})
    config = ModelConfig.from_dict(inferred)
    if config.num_anchors != num_anchors:
        raise CheckpointError(
            f"checkpoint has {num_anchors} anchors per location but the anchor settings give "
            f"{config.num_anchors}; pass matching anchor_scales/anchor_ratios"
        )
    return config


def describe_mismatch(model: HybridNets, state_dict: dict[str, torch.Tensor]) -> str:
    """One line naming missing, unexpected and wrongly shaped keys (first few of each)."""
    expected = model.state_dict()
    missing = [k for k in expected if k not in state_dict]
    unexpected = [k for k in state_dict if k not in expected]
    shapes = [
        f"{k} {tuple(state_dict[k].shape)} vs {tuple(v.shape)}"
        for k, v in expected.items()
        if k in state_dict and state_dict[k].shape != v.shape
    ]
    parts = []
    for label, items in (("missing", missing), ("unexpected", unexpected), ("wrong shape", shapes)):
        if items:
            parts.append(f"{len(items)} {label} ({', '.join(items[:3])})")
    return "; ".join(parts)


def load_model(path: str | Path | None = None, **overrides: Any) -> tuple[HybridNets, ModelConfig]:
    """Build the network a checkpoint describes and load it strictly.

    `path` None uses the default model. Overrides (obj_list, seg_list, seg_mode, anchors,
    input_size, ...) replace what the checkpoint says or what its shapes imply.
    """
    path = default_weights_path() if path in (None, "") else Path(path)
    state_dict, saved = read_checkpoint(path)
    try:
        if saved is not None:
            config = ModelConfig.from_dict(
                {**saved, **{k: v for k, v in overrides.items() if v is not None}}
            )
        else:
            config = infer_config(state_dict, **overrides)
    except ConfigError as exc:
        raise CheckpointError(f"{path}: {exc}") from exc
    model = HybridNets.from_config(config)
    problems = describe_mismatch(model, state_dict)
    if problems:
        raise CheckpointError(
            f"{path} does not fit HybridNets coef {config.compound_coef} with "
            f"{config.num_classes} classes: {problems}"
        )
    model.load_state_dict(state_dict, strict=True)
    return model.eval(), config
