"""Every training recipe in one place, and the training of the shipped model families.

A `Recipe` is a model config plus the settings `fit` trains it with. The recipes:
    PLAIN     the plain autoencoders (`aecodec train` without --lambda; the shipped
              ae_c{C}_k3.pt files, one per latent size in PLAIN_LATENT_CHANNELS, each
              trained PLAIN_STEPS steps)
    RD_SMALL  a rate-distortion codec that learns fast: minutes on a CPU (`aecodec train
              --lambda`, notebook 07's 2-minute codec, `make bench-recipe`)
    RD_WIDE   the shipped codecs: wider, slower to learn, better after an hour or more
              (the rd_lambda{lambda}.pt files, one per lambda in RD_LAMBDAS, RD_MINUTES
              for the whole curve)
The measurements behind these choices are in docs/training.md.

Holds: the recipes, `train_plain_family` (`aecodec zoo-train`), `train_rd_curve` (a whole
rate-distortion curve for one time budget) and `train_rd_family` (`aecodec zoo-train-rd`).
Does not hold: the loop itself (`aecodec.training.fit`) or where the shipped files live
(`aecodec.zoo`).
"""

import copy
import os
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch

from aecodec.checkpoint import save_checkpoint
from aecodec.data import PatchDataset, load_folder
from aecodec.models import (
    Autoencoder,
    AutoencoderConfig,
    RateDistortionAutoencoder,
    RateDistortionConfig,
)
from aecodec.training import TrainingState, fit, training_record


@dataclass(frozen=True)
class Recipe:
    """A model and how to train it.

    Args:
        model: the model's config (`RateDistortionConfig` for a codec).
        batch_size: patches per step.
        patch_size: side of the random square training patches, in pixels.
        patches_per_image: patches cut from each photo per epoch.
        lr: peak learning rate (see `aecodec.training.learning_rate`).
        warmup: fraction of the budget spent warming the learning rate up.
        clip_norm: cap on the gradient norm, or None.
    """

    model: AutoencoderConfig
    batch_size: int
    patch_size: int
    patches_per_image: int = 8
    lr: float = 1e-3
    warmup: float = 0.0
    clip_norm: float | None = None

    def build(self, **changes) -> Autoencoder:
        """An untrained model of this recipe, with `changes` to its config (e.g. lmbda=)."""
        config = replace(self.model, **changes)
        cls = RateDistortionAutoencoder if isinstance(config, RateDistortionConfig) else Autoencoder
        return cls.from_config(config)

    def dataset(self, images: list[torch.Tensor], seed: int = 0) -> PatchDataset:
        """This recipe's training patches from photos x (3, H, W)."""
        return PatchDataset(images, self.patch_size, self.patches_per_image, seed=seed)

    def fit_settings(self) -> dict:
        """The keyword arguments of `fit` that this recipe sets."""
        return dict(batch_size=self.batch_size, lr=self.lr, warmup=self.warmup,
                    clip_norm=self.clip_norm)

    def as_dict(self) -> dict:
        """Plain data, as stored in checkpoints."""
        return asdict(self)


PLAIN = Recipe(AutoencoderConfig(), batch_size=16, patch_size=128)
PLAIN_LATENT_CHANNELS = (2, 4, 8, 16, 32)
PLAIN_STEPS = 3000

# Chosen by measurement on a 2-core CPU: a small model that takes many quick steps on
# small patches learns faster per minute than a big one on big patches.
RD_SMALL = Recipe(RateDistortionConfig(latent_channels=32, downsamplings=3, hidden_channels=32),
                  batch_size=8, patch_size=64, lr=2e-3, warmup=0.05, clip_norm=1.0)
# For long budgets a wider model pays off: it learns more slowly but ends higher.
RD_WIDE = replace(RD_SMALL, model=RateDistortionConfig(latent_channels=64, hidden_channels=64))
RD_LAMBDAS = (0.0018, 0.0035, 0.0067, 0.013)  # low to high quality
RD_MINUTES = 95  # the shipped curve's budget, on 1 CPU thread


def train_plain_family(data: str | os.PathLike, out_dir: str | os.PathLike,
                       steps: int = PLAIN_STEPS,
                       channels: tuple[int, ...] = PLAIN_LATENT_CHANNELS, seed: int = 0) -> None:
    """Train the shipped plain autoencoders with `PLAIN`, one checkpoint per latent size.

    Args:
        data: a folder of training photos (the kit uses ../shared/train).
        out_dir: where to write ae_c{C}_k{k}.pt.
        steps: optimizer steps per model.
        channels: which latent sizes C to train.
        seed: seed of the weights, patches and data order.
    """
    dataset = PLAIN.dataset(list(load_folder(data).values()), seed=seed)
    for c in channels:
        torch.manual_seed(seed)
        model = PLAIN.build(latent_channels=c)
        start = time.perf_counter()
        history = fit(model, dataset, steps=steps, seed=seed, device="cpu",
                      **PLAIN.fit_settings())
        path = Path(out_dir) / f"ae_c{c}_k{model.config.downsamplings}.pt"
        _save_shipped(path, model, history, time.perf_counter() - start,
                      dict(PLAIN.as_dict(), steps=steps, seed=seed))
        print(f"C={c}: {steps} steps on {torch.get_num_threads()} thread(s) -> {path}",
              flush=True)


def curve_shares(count: int) -> list[float]:
    """How `train_rd_curve` splits one budget over `count` lambdas: half for the first
    model (trained from scratch), the other half evenly over the warm-started ones."""
    return [1.0] if count == 1 else [0.5] + [0.5 / (count - 1)] * (count - 1)


def train_rd_curve(
    images: list[torch.Tensor],
    lambdas: tuple[float, ...] = RD_LAMBDAS,
    *,
    minutes: float,
    recipe: Recipe = RD_SMALL,
    out_dir: str | os.PathLike | None = None,
    seed: int = 0,
    device: torch.device | str | None = None,
    progress: bool = True,
) -> dict[float, RateDistortionAutoencoder]:
    """A whole rate-distortion curve for one time budget, with one recipe.

    The model for the largest lambda (the most detail to learn) is trained from scratch
    for half the budget; each smaller lambda then starts from the previous model's weights
    and only has to learn to drop bits, for an equal share of the other half.

    Args:
        images: training photos x (3, H, W).
        lambdas: the points of the curve.
        minutes: the budget for the whole curve.
        recipe: the model and its training settings.
        out_dir: if given, each model is saved there as rd_lambda{lambda}.pt.
        seed: seed of the weights, patches and data order.
        device: where to train (default: `aecodec.training.default_device()`).
        progress: show progress bars.

    Returns:
        {lambda: trained model in eval mode, with its coding tables}, low to high lambda.
    """
    dataset = recipe.dataset(images, seed=seed)
    torch.manual_seed(seed)
    models, previous = {}, None
    for i, (lmbda, share) in enumerate(zip(sorted(lambdas, reverse=True),
                                           curve_shares(len(lambdas)))):
        model = recipe.build(lmbda=lmbda)
        if previous is not None:
            model.load_state_dict(previous.state_dict())  # the warm start
        start = time.perf_counter()
        history = fit(model, dataset, minutes=minutes * share, seed=seed + i, device=device,
                      progress=progress, **recipe.fit_settings())
        model.cpu().eval().prior.update_tables()
        models[lmbda] = previous = copy.deepcopy(model)
        if out_dir is not None:
            _save_shipped(Path(out_dir) / f"rd_lambda{lmbda}.pt", model, history,
                          time.perf_counter() - start,
                          dict(recipe.as_dict(), minutes=minutes * share, warm_start=i > 0))
    return dict(sorted(models.items()))


def train_rd_family(data: str | os.PathLike, out_dir: str | os.PathLike,
                    minutes: float = RD_MINUTES, recipe: Recipe = RD_WIDE) -> None:
    """Train the shipped rate-distortion curve (`aecodec zoo-train-rd`).

    Args:
        data: a folder of training photos (the kit uses ../shared/train).
        out_dir: where to write rd_lambda{lambda}.pt.
        minutes: the budget for the whole curve.
        recipe: the model and its training settings.
    """
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    train_rd_curve(list(load_folder(data).values()), RD_LAMBDAS, minutes=minutes,
                   recipe=recipe, out_dir=out_dir)


def _save_shipped(path: Path, model: Autoencoder, history: dict, seconds: float,
                  recipe: dict) -> None:
    """Weights and how they were made, without the optimizer state (a third of the size)."""
    state = TrainingState(step=len(history["loss"]), seconds=seconds, history=history)
    save_checkpoint(path, model, training_record(state, recipe))
