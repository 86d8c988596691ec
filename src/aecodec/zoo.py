"""The shipped models: a family of trained autoencoders, one per latent size.

Holds: `SHIPPED` (the family), `models_dir`, `shipped_path`, `load_shipped` and
`train_shipped`, the one recipe that made the committed files in `data/models/`
(run it with `aecodec zoo-train --data ../shared/train`).

All shipped models downsample k = 3 times (y is 8x smaller than x in each direction)
and differ in latent channels C, so the ratio of 8-bit pixel values to 8-bit latent
values is 3 * 64 / C: from 96:1 (C = 2) to 6:1 (C = 32).
"""

import os
import time
from pathlib import Path

import torch

from aecodec.checkpoint import load_model
from aecodec.data import PatchDataset, load_folder
from aecodec.errors import CheckpointError
from aecodec.models import Autoencoder
from aecodec.training import fit

MODELS_ENV = "AECODEC_MODELS"
LATENT_CHANNELS = (2, 4, 8, 16, 32)
DOWNSAMPLINGS = 3
HIDDEN_CHANNELS = 64
# (latent_channels, downsamplings) of every shipped model
SHIPPED = tuple((c, DOWNSAMPLINGS) for c in LATENT_CHANNELS)
# the recipe
RECIPE = dict(steps=3000, batch_size=16, patch_size=128, patches_per_image=8, lr=1e-3, seed=0)


def models_dir() -> Path:
    """Where the shipped models are: $AECODEC_MODELS, else data/models in the repository."""
    env = os.environ.get(MODELS_ENV)
    return Path(env) if env else Path(__file__).resolve().parents[2] / "data" / "models"


def shipped_path(latent_channels: int, downsamplings: int = DOWNSAMPLINGS) -> Path:
    return models_dir() / f"ae_c{latent_channels}_k{downsamplings}.pt"


def load_shipped(latent_channels: int, downsamplings: int = DOWNSAMPLINGS) -> Autoencoder:
    """A shipped, trained model (eval mode, CPU).

    Args:
        latent_channels: C, one of `LATENT_CHANNELS`.
        downsamplings: k (3 for all shipped models).
    """
    if (latent_channels, downsamplings) not in SHIPPED:
        raise CheckpointError(
            f"no shipped model with C={latent_channels}, k={downsamplings}; "
            f"shipped: {', '.join(f'C={c} k={k}' for c, k in SHIPPED)}"
        )
    return load_model(shipped_path(latent_channels, downsamplings))


def train_shipped(
    data: str | os.PathLike, out_dir: str | os.PathLike | None = None,
    steps: int = RECIPE["steps"], channels: tuple[int, ...] = LATENT_CHANNELS,
) -> None:
    """Train the shipped family with the fixed recipe, one checkpoint per latent size.

    Args:
        data: a folder of training photos (the kit uses ../shared/train).
        out_dir: where to write (default: `models_dir()`).
        steps: optimizer steps per model.
        channels: which latent sizes to train.
    """
    out_dir = Path(out_dir) if out_dir is not None else models_dir()
    images = list(load_folder(data).values())
    dataset = PatchDataset(images, RECIPE["patch_size"], RECIPE["patches_per_image"],
                           seed=RECIPE["seed"])
    for c in channels:
        torch.manual_seed(RECIPE["seed"])
        model = Autoencoder(c, DOWNSAMPLINGS, HIDDEN_CHANNELS)
        path = out_dir / f"ae_c{c}_k{DOWNSAMPLINGS}.pt"
        start = time.perf_counter()
        fit(model, dataset, steps=steps, batch_size=RECIPE["batch_size"], lr=RECIPE["lr"],
            checkpoint=path, save_every=steps, seed=RECIPE["seed"], device="cpu")
        minutes = (time.perf_counter() - start) / 60
        print(f"C={c}: {steps} steps in {minutes:.1f} min on {torch.get_num_threads()} "
              f"thread(s) -> {path}", flush=True)
