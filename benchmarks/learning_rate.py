"""The classroom recipe's peak learning rate: short runs from scratch, one per rate.

    .venv/bin/python benchmarks/learning_rate.py --train ../shared/train \
        --kodak ../shared/kodak [--minutes 5] [--lrs 2e-3 3e-3 4.5e-3 7e-3] \
        [--threads 2] [--limit 8] [--out benchmarks/results/learning_rate.md]

For each peak learning rate, `RD_SMALL` with only that rate changed is trained from scratch
at lambda 0.0067 for --minutes of wall-clock time (same seed, same patches, everything else
the recipe's), then scored on the first --limit Kodak images with real .aec files: bpp from
len(bytes), PSNR, and the objective lambda * 255^2 * MSE + bpp that training minimises
(lower is better). Equal time, not equal steps: a faster rate is worth what it gets done in
the minutes a class has.

Holds only the measurement; the recipe is `aecodec.recipes.RD_SMALL`.
"""

import argparse
import platform
from dataclasses import replace
from pathlib import Path

import torch

from aecodec.data import load_folder
from aecodec.evaluation import file_scores
from aecodec.kodak import load_kodak
from aecodec.recipes import RD_SMALL
from aecodec.training import fit

REPO = Path(__file__).resolve().parents[1]
LAMBDA = 0.0067


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train", default=str(REPO.parent / "shared" / "train"))
    parser.add_argument("--kodak", default=None, help="Kodak folder ($AECODEC_KODAK)")
    parser.add_argument("--minutes", type=float, default=5.0, help="budget of each run")
    parser.add_argument("--lrs", type=float, nargs="+", default=[2e-3, 3e-3, 4.5e-3, 7e-3])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--limit", type=int, default=8, help="the first N Kodak images")
    parser.add_argument("--out", default=str(REPO / "benchmarks/results/learning_rate.md"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    images = list(load_folder(args.train).values())
    kodak = dict(list(load_kodak(args.kodak).items())[: args.limit])

    lines = [
        "# The peak learning rate of the classroom recipe", "",
        f"Command: `.venv/bin/python benchmarks/learning_rate.py --minutes {args.minutes:g} "
        f"--threads {args.threads} --limit {args.limit}`; {platform.machine()}, torch "
        f"{torch.__version__}. RD_SMALL from scratch, lambda {LAMBDA}, {args.minutes:g} "
        f"minutes each; the first {len(kodak)} Kodak images, real files.", "",
        "| peak learning rate | steps | bpp | PSNR (dB) | lambda*255^2*MSE + bpp |",
        "|---:|---:|---:|---:|---:|",
    ]
    for lr in args.lrs:
        recipe = replace(RD_SMALL, lr=lr)
        torch.manual_seed(0)
        model = recipe.build(lmbda=LAMBDA)
        history = fit(model, recipe.dataset(images), minutes=args.minutes, device="cpu",
                      progress=False, **recipe.fit_settings())
        model.eval().prior.update_tables()
        scores = file_scores(model, kodak, progress=False)
        lines.append(f"| {lr:g} | {history['step'][-1]:,} | {scores['bpp']:.4f} "
                     f"| {scores['psnr']:.2f} | {scores['objective']:.4f} |")
        print(lines[-1], flush=True)
    Path(args.out).write_text("\n".join(lines) + "\n")
    print(f"written: {args.out}")


if __name__ == "__main__":
    main()
