"""The shipped models: plain autoencoders, one per latent size, and the codec family.

Holds: `SHIPPED` (the family), `models_dir`, `shipped_path`, `load_shipped`,
`train_shipped` (the one recipe that made the committed files in `data/models/`; run it
with `aecodec zoo-train --data ../shared/train`) and `kodak_results` / `results_table`
(their Kodak scores, with JPEG at the same bytes beside them: `aecodec zoo-table`).

The rate-distortion family (real codecs, `rd_lambda{λ}.pt`): `RD_LAMBDAS` and
`RD_RECIPE_WIDE` (from `aecodec.training`), `train_shipped_rd` (`aecodec zoo-train-rd`, one
time budget for the whole curve), `load_shipped_rd`, and `find_model`, which finds the
model that wrote an .aec file.

All shipped plain models downsample k = 3 times (y is 8x smaller than x in each direction)
and differ in latent channels C, so the ratio of 8-bit pixel values to 8-bit latent
values is 3 * 64 / C: from 96:1 (C = 2) to 6:1 (C = 32).
"""

import os
import time
from pathlib import Path

import torch
from tqdm.auto import tqdm

from aecodec.checkpoint import load_model, save_checkpoint
from aecodec.codec import model_id
from aecodec.data import PatchDataset, load_folder
from aecodec.errors import CheckpointError
from aecodec.jpeg import jpeg_at_most
from aecodec.metrics import ms_ssim, psnr
from aecodec.models import Autoencoder, RateDistortionAutoencoder
from aecodec.quantize import reconstruct_8bit
from aecodec.training import (  # noqa: F401
    RD_LAMBDAS,
    RD_RECIPE,
    RD_RECIPE_WIDE,
    fit,
    train_rd_curve,
)

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
        history = fit(model, dataset, steps=steps, batch_size=RECIPE["batch_size"],
                      lr=RECIPE["lr"], save_every=steps, seed=RECIPE["seed"], device="cpu")
        minutes = (time.perf_counter() - start) / 60
        # ship weights and a summary only (no optimizer state: a third of the size)
        save_checkpoint(path, model, training=dict(step=steps, recipe=dict(RECIPE, steps=steps),
                        minutes=minutes, threads=torch.get_num_threads(), history=history))
        print(f"C={c}: {steps} steps in {minutes:.1f} min on {torch.get_num_threads()} "
              f"thread(s) -> {path}", flush=True)


# --- the rate-distortion family (real codecs) ------------------------------------------

# The curve is trained by `aecodec.training.train_rd_curve` with `RD_RECIPE_WIDE`, for
# one time budget (the largest lambda first, each smaller one warm-started from it).
RD_MINUTES = 95  # the budget of the shipped curve, on 1 CPU thread


def rd_path(lmbda: float) -> Path:
    return models_dir() / f"rd_lambda{lmbda}.pt"


def load_shipped_rd() -> dict[str, RateDistortionAutoencoder]:
    """The shipped rate-distortion models as {"lambda=...": model}, low to high quality."""
    return {f"lambda={lmbda}": load_model(rd_path(lmbda)) for lmbda in RD_LAMBDAS}


def train_shipped_rd(
    data: str | os.PathLike, out_dir: str | os.PathLike | None = None,
    minutes: float = RD_MINUTES, recipe: dict = RD_RECIPE_WIDE,
) -> None:
    """Train the shipped rate-distortion curve (`aecodec zoo-train-rd`).

    Args:
        data: a folder of training photos (the kit uses ../shared/train).
        out_dir: where to write rd_lambda{lambda}.pt (default: `models_dir()`).
        minutes: the budget for the whole curve.
        recipe: the recipe (model sizes included) passed to `train_rd_curve`.
    """
    out_dir = Path(out_dir) if out_dir is not None else models_dir()
    out_dir.mkdir(parents=True, exist_ok=True)
    train_rd_curve(list(load_folder(data).values()), RD_LAMBDAS, minutes=minutes,
                   recipe=recipe, out_dir=out_dir)


def evaluate_image(model: Autoencoder, x: torch.Tensor) -> dict:
    """Scores of one model on one image x (3, H, W), latents stored in 8 bits, and of the
    best JPEG no larger than those latents."""
    batch = x[None]  # (1, 3, H, W)
    x_hat, num_bytes = reconstruct_8bit(model, batch)
    jpeg_hat, jpeg_bytes, quality = jpeg_at_most(x, num_bytes)
    height, width = x.shape[-2:]
    return dict(
        psnr=psnr(batch, x_hat), ms_ssim=ms_ssim(batch, x_hat),
        ratio=model.compression_ratio(height, width), latent_bytes=num_bytes,
        bpp=8 * num_bytes / (height * width), jpeg_bytes=jpeg_bytes, jpeg_quality=quality,
        jpeg_psnr=psnr(x, jpeg_hat), jpeg_ms_ssim=ms_ssim(x[None], jpeg_hat[None]),
    )


def kodak_results(images: dict[str, torch.Tensor]) -> list[dict]:
    """Each shipped model's scores averaged over `images` (Kodak), one dict per model."""
    rows = []
    for c, k in tqdm(SHIPPED, desc="models"):
        model = load_shipped(c, k)
        scores = [evaluate_image(model, x) for x in images.values()]
        mean = {key: sum(s[key] for s in scores) / len(scores) for key in scores[0]}
        rows.append(dict(latent_channels=c, downsamplings=k, images=len(scores), **mean))
    return rows


def results_table(rows: list[dict]) -> str:
    """A markdown table of `kodak_results`."""
    lines = [
        "| model | latent y (768x512 image) | ratio | bpp (8-bit y) | PSNR (dB) | MS-SSIM "
        "| JPEG, same bytes: PSNR | JPEG MS-SSIM |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        c, k = r["latent_channels"], r["downsamplings"]
        lines.append(
            f"| C={c}, k={k} | {c}x{512 >> k}x{768 >> k} | {r['ratio']:.0f}:1 | {r['bpp']:.3f} "
            f"| {r['psnr']:.2f} | {r['ms_ssim']:.4f} | {r['jpeg_psnr']:.2f} "
            f"| {r['jpeg_ms_ssim']:.4f} |"
        )
    return "\n".join(lines)


def find_model(ident: bytes) -> RateDistortionAutoencoder:
    """The shipped rate-distortion model whose `codec.model_id` is `ident`."""
    for path in sorted(models_dir().glob("*.pt")):
        try:
            model = load_model(path)
        except CheckpointError:
            continue
        if isinstance(model, RateDistortionAutoencoder) and model_id(model) == ident:
            return model
    raise CheckpointError(f"no shipped model made this file (model id {ident.hex()}); "
                          "pass the one that did with --model")
