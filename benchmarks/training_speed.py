"""Training throughput on this CPU: patches per second for the learning-path autoencoders
and for the two rate-distortion codec recipes (the small one notebook 07 trains in
minutes, the wide one of the shipped codecs), each built as its recipe builds it.

    .venv/bin/python benchmarks/training_speed.py [--kodak DIR] [--steps N] [--out FILE]

(`make bench` runs it.) Each model takes optimizer steps exactly as `aecodec.training.fit`
does (`train_step`: forward, loss, backward, Adam), on batches from a `PatchDataset` of
the Kodak images with the recipe's batch and patch sizes. A few warm-up steps are not
timed; then `--steps` steps are, data loading included. PyTorch uses its default number
of threads unless `--threads` is given.

Holds only the measurement; the recipes are `aecodec.recipes.PLAIN`, `RD_SMALL` and
`RD_WIDE`.
"""

import argparse
import os
import time
from pathlib import Path

import torch
from tqdm import tqdm

from aecodec.data import PatchDataset
from aecodec.images import load_image
from aecodec.layers import flush_denormal
from aecodec.recipes import PLAIN, PLAIN_LATENT_CHANNELS, RD_LAMBDAS, RD_SMALL, RD_WIDE
from aecodec.training import make_loader, train_step

REPO = Path(__file__).resolve().parents[1]
WARM_UP = 3


def models() -> list[tuple[str, torch.nn.Module, int, int]]:
    """(name, untrained model, batch size, patch size), as the shipped recipes build them."""
    plain = [(f"Autoencoder C={c}, k={PLAIN.model.downsamplings}",
              PLAIN.build(latent_channels=c), PLAIN.batch_size, PLAIN.patch_size)
             for c in PLAIN_LATENT_CHANNELS]
    codecs = [(codec_name(r.model), r.build(lmbda=RD_LAMBDAS[0]), r.batch_size, r.patch_size)
              for r in (RD_SMALL, RD_WIDE)]
    return [*plain, *codecs]


def codec_name(config) -> str:
    """How the table names a rate-distortion recipe's model."""
    return (f"RateDistortionAutoencoder C={config.latent_channels}, k={config.downsamplings}, "
            f"N={config.hidden_channels}")


def throughput(model: torch.nn.Module, images: list[torch.Tensor], batch_size: int,
               patch_size: int, steps: int) -> float:
    """Seconds per optimizer step, over `steps` timed steps after a warm-up."""
    dataset = PatchDataset(images, patch_size, patches_per_image=64, seed=0)
    batches = iter(make_loader(dataset, batch_size, seed=0))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.train()
    for _ in range(WARM_UP):
        train_step(model, next(batches), optimizer)
    start = time.perf_counter()
    for _ in range(steps):
        train_step(model, next(batches), optimizer)  # (N, 3, P, P) patches
    return (time.perf_counter() - start) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kodak", default=os.environ.get(
        "AECODEC_KODAK", str(REPO.parent / "shared" / "kodak")), help="folder with kodim*.png")
    parser.add_argument("--steps", type=int, default=30, help="timed steps per model")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--out", default=None, help="also write the markdown here")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    images = [load_image(path) for path in sorted(Path(args.kodak).glob("kodim*.png"))]
    load_before = os.getloadavg()[0]
    lines = ["| model | parameters | batch | patch | s/step | patches/s |",
             "|---|---|---|---|---|---|"]
    for name, model, batch, patch in tqdm(models(), desc="models", unit="model"):
        with flush_denormal():  # as fit() does
            seconds = throughput(model, images, batch, patch, args.steps)
        params = sum(p.numel() for p in model.parameters())
        lines.append(f"| {name} | {params:,} | {batch} | {patch}x{patch} | {seconds:.3f} "
                     f"| {batch / seconds:.1f} |")
    report = "\n\n".join([
        f"{args.steps} timed steps per model after {WARM_UP} warm-up steps, "
        f"{torch.get_num_threads()} threads, torch {torch.__version__}.",
        "\n".join(lines),
        f"Load average (1 min) {load_before:.2f} before, {os.getloadavg()[0]:.2f} after.",
    ])
    print(report)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(report + "\n")


if __name__ == "__main__":
    main()
