"""Mixed-precision (bfloat16) training against float32: the time of a step, and the
rate-distortion of two models trained for the same number of steps.

    .venv/bin/python benchmarks/bf16_training.py --train ../shared/train \
        --kodak ../shared/kodak [--steps 1500] [--threads 1] \
        [--out benchmarks/results/bf16_training.md]

1. Step time: one training step (`aecodec.training.train_step`, forward, backward and
   Adam) of the RD_SMALL, RD_WIDE and HYPERPRIOR recipes at their batch and patch size, in
   float32 and with `torch.autocast(bfloat16)` + channels-last; the median of 5 steps after
   2 untimed ones.
2. Equal steps: RD_SMALL trained from scratch (same seed, same patches, lambda 0.0067) with
   each precision for --steps steps, then scored on Kodak with real .aec files (bpp from
   len(bytes), PSNR, and the objective lambda * 255^2 * MSE + bpp).

The answer depends on the CPU: `aecodec.training.fast_bfloat16()` says whether it has
native bfloat16 (AMX or AVX512-BF16); without it bfloat16 is emulated and slower.
"""

import argparse
import platform
import statistics
import time
from pathlib import Path

import torch

from aecodec import recipes
from aecodec.data import load_folder
from aecodec.evaluation import file_scores, score_change
from aecodec.kodak import load_kodak
from aecodec.training import fast_bfloat16, fit, train_step

REPO = Path(__file__).resolve().parents[1]

RECIPES = {"RD_SMALL": recipes.RD_SMALL, "RD_WIDE": recipes.RD_WIDE,
           "HYPERPRIOR": recipes.HYPERPRIOR}


def step_ms(recipe: recipes.Recipe, bfloat16: bool, timed: int = 5) -> float:
    """Median milliseconds of one training step of `recipe` on random patches (`timed`
    steps after 2 untimed ones)."""
    torch.manual_seed(0)
    model = recipe.build()
    x = torch.rand(recipe.batch_size, 3, recipe.patch_size, recipe.patch_size)
    if bfloat16:
        model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    times = []
    for _ in range(2 + timed):
        start = time.perf_counter()
        train_step(model, x, optimizer, recipe.clip_norm, bfloat16)
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times[2:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train", required=True, help="folder of training photos")
    parser.add_argument("--kodak", default=None, help="Kodak folder ($AECODEC_KODAK)")
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--timed", type=int, default=5, help="timed steps per recipe")
    parser.add_argument("--limit", type=int, default=24, help="score on the first N Kodak images")
    parser.add_argument("--out", default=str(REPO / "benchmarks/results/bf16_training.md"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    cpu = platform.processor() or platform.machine()
    lines = ["# bfloat16 mixed precision against float32", "",
             f"Command: `.venv/bin/python benchmarks/bf16_training.py --steps {args.steps} "
             f"--threads {args.threads}`; {cpu}, torch {torch.__version__}, CPU capability "
             f"{torch.backends.cpu.get_cpu_capability()}, native bfloat16 "
             f"(`fast_bfloat16()`): {fast_bfloat16('cpu')}.", "",
             "| recipe | batch | float32 step (ms) | bfloat16 step (ms) | bfloat16 / float32 |",
             "|---|---|---:|---:|---:|"]
    for name, recipe in RECIPES.items():
        fp32, bf16 = step_ms(recipe, False, args.timed), step_ms(recipe, True, args.timed)
        lines.append(f"| {name} | {recipe.batch_size} x {recipe.patch_size}^2 | {fp32:.0f} | "
                     f"{bf16:.0f} | {bf16 / fp32:.2f} |")
        print(lines[-1], flush=True)

    photos = list(load_folder(args.train).values())
    kodak = dict(list(load_kodak(args.kodak).items())[: args.limit])
    recipe = recipes.RD_SMALL
    lines += ["", f"Equal steps: RD_SMALL from scratch, lambda 0.0067, {args.steps} steps, "
              "same seed; Kodak, real files.", "",
              "| precision | minutes | bpp | PSNR (dB) | lambda*255^2*MSE + bpp |",
              "|---|---:|---:|---:|---:|"]
    scores = {}
    for precision, bfloat16 in (("float32", False), ("bfloat16", True)):
        torch.manual_seed(0)
        model = recipe.build(lmbda=0.0067)
        start = time.perf_counter()
        fit(model, recipe.dataset(photos), steps=args.steps, bfloat16=bfloat16, device="cpu",
            **recipe.fit_settings())
        minutes = (time.perf_counter() - start) / 60
        model = model.to(memory_format=torch.contiguous_format).eval()
        model.prior.update_tables()
        scores[precision] = s = file_scores(model, kodak)
        lines.append(f"| {precision} | {minutes:.1f} | {s['bpp']:.4f} | {s['psnr']:.2f} | "
                     f"{s['objective']:.4f} |")
        print(lines[-1], flush=True)
    base, test = scores["float32"], scores["bfloat16"]
    lines += ["", f"bfloat16 against float32 at equal steps: {score_change(base, test)}.", ""]
    Path(args.out).write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
