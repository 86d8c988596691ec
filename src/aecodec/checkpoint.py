"""Checkpoints: save and load a model with its config and training state, safely.

A checkpoint is a `torch.save` file holding only plain data (a dict of tensors, numbers,
strings and lists), so `torch.load(..., weights_only=True)` can read it without running
any code from the file. A file that needs anything else (a planted pickle) is refused.

Contents (format version 2):
    format        "aecodec-checkpoint"
    version       2
    architecture  the model class: "Autoencoder", "RateDistortionAutoencoder",
                  "HyperpriorAutoencoder", "VariableRateHyperprior" or
                  "VariableRateCheckerboard"
    config        the model's config as a dict: rebuilds the model with no code change
    model         the state dict (for a codec, with its entropy model's coding tables)
    training      absent, or how the weights were made:
                  {"step", "seconds", "history", "recipe" (dict or None), "threads",
                   "resume" (only in files training can continue from:
                             {"epoch", "batch_in_epoch", "seed", "optimizer"})}
Version-1 files (the first edition's) are read and upgraded in memory.
Files are written atomically: a crash never leaves a half-written checkpoint.
"""

import io
import os
import pickle
import warnings
from pathlib import Path
from typing import Any

import torch

from aecodec._atomic import atomic_write
from aecodec.errors import CheckpointError
from aecodec.models import (
    Autoencoder,
    HyperpriorAutoencoder,
    RateDistortionAutoencoder,
    VariableRateHyperprior,
)
from aecodec.models.context import VariableRateCheckerboard

ARCHITECTURES = {cls.__name__: cls for cls in (Autoencoder, RateDistortionAutoencoder,
                                               HyperpriorAutoencoder, VariableRateHyperprior,
                                               VariableRateCheckerboard)}

FORMAT = "aecodec-checkpoint"
VERSION = 2
# version 1 kept a codec's coding tables on the model itself
_V1_TABLE_KEYS = {name: "prior." + name for name in ("cdf_counts", "cdf_offsets", "cdf_lengths")}


def save_checkpoint(
    path: str | os.PathLike, model: Autoencoder, training: dict[str, Any] | None = None
) -> None:
    """Write model (config + weights) and optional training state to `path`, atomically.

    The model is saved as it is: a codec's coding tables are those it holds (build them
    first with `aecodec.entropy.build_coding_tables` when its densities changed; `fit`
    and the recipes do).

    Args:
        path: the file to write (conventionally `.pt`).
        model: the autoencoder.
        training: plain-data training record, with the keys listed in the module docstring.
    """
    state = {
        "format": FORMAT,
        "version": VERSION,
        "architecture": type(model).__name__,
        "config": vars(model.config).copy(),
        "model": model.state_dict(),
    }
    if training is not None:
        state["training"] = training
    buffer = io.BytesIO()
    torch.save(state, buffer)
    with atomic_write(path) as f:
        f.write(buffer.getvalue())


def load_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Read and check a checkpoint without executing anything from the file.

    Args:
        path: the checkpoint file.

    Returns:
        the checkpoint dict (tensors on the CPU).
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    try:
        with warnings.catch_warnings():  # foreign pickles make torch warn about protocols
            warnings.filterwarnings("ignore", message="Detected pickle protocol")
            state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        if "Unsupported global" in str(e):
            raise CheckpointError(
                f"{path}: refused, the file asks to build Python objects that could run code "
                "(an aecodec checkpoint holds only tensors and plain data)"
            ) from None
        raise CheckpointError(f"{path}: not a readable checkpoint (damaged or not one)") from None
    except Exception as e:  # torch raises RuntimeError, EOFError, ... for damaged files
        raise CheckpointError(f"{path}: not a readable checkpoint ({type(e).__name__})") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not an aecodec checkpoint")
    if state.get("version") == 1:
        state = _upgrade_v1(state)
    if state.get("version") != VERSION:
        raise CheckpointError(
            f"{path}: checkpoint format version {state.get('version')!r}, "
            f"this aecodec reads versions 1 and {VERSION}"
        )
    return state


def _upgrade_v1(state: dict[str, Any]) -> dict[str, Any]:
    """A version-1 checkpoint in version 2's layout (tables under prior., one training
    record)."""
    model = {_V1_TABLE_KEYS.get(name, name): tensor for name, tensor in state["model"].items()}
    state = dict(state, version=VERSION, model=model)
    old = state.get("training")
    if isinstance(old, dict):
        training = dict(step=old.get("step", 0), seconds=old.get("seconds", 60 * old.get(
            "minutes", 0.0)), history=old.get("history", {}), recipe=old.get("recipe"),
            threads=old.get("threads"))
        if "optimizer" in old:
            training["resume"] = {key: old[key] for key in
                                  ("epoch", "batch_in_epoch", "seed", "optimizer")}
        state["training"] = training
    return state


def load_model(path: str | os.PathLike) -> Autoencoder:
    """Rebuild the model stored in a checkpoint, in eval mode on the CPU.

    Args:
        path: the checkpoint file.
    """
    state = load_checkpoint(path)
    architecture = state.get("architecture", "Autoencoder")
    if architecture not in ARCHITECTURES:
        raise CheckpointError(f"{path}: unknown model architecture {architecture!r}")
    try:
        model = ARCHITECTURES[architecture].from_config(state["config"])
        model.load_state_dict(state["model"])
    except (KeyError, TypeError, ValueError, RuntimeError) as e:
        raise CheckpointError(f"{path}: config and weights do not fit together ({e})") from None
    return model.eval()
