"""The default codec's recipe, measured at a short budget instead of inherited: learning
rate, patch size, batch size and how lambda is drawn, each changed alone, against the
recipe and a second seed.

    .venv/bin/python benchmarks/default_recipe.py --train ../shared/train \
        --kodak ../shared/kodak [--steps 1000] [--threads 1] [--limit 24] \
        [--runs runs/recipe] [--out benchmarks/results/default_recipe.md]

Every run starts where the campaign's first run started (the shipped variable-rate
hyperprior, its context switched off) and is trained by `train_default_codec` with one
setting of `DEFAULT_CODEC` changed. The budget is equal work, not equal minutes: every run
sees the same number of training pixels (--steps steps of 8 patches of 128x128; a run with
batches of 16 gets half the steps), so the comparison holds on a machine whose load
changes from run to run. The wall-clock minutes each run took are reported beside it.

Each run is scored at the six trained lambdas on the first --limit Kodak images with real
.aec files (`aecodec.evaluation.score`), and its BD-rate is given against WebP (method 6,
the curve `aecodec evaluate` stored for the same images) and against the unchanged recipe.
The second seed of the unchanged recipe tells how far two runs differ by chance alone:
a change smaller than that is not shown to matter.

Resumable: finished runs are kept in --runs and their scores in the results JSON; run the
same command again after an interruption. Holds only the measurement.
"""

import argparse
import json
import platform
import time
from pathlib import Path

import torch
from default_codec import BASELINES, _mean_over, curve, write

from aecodec.checkpoint import load_checkpoint, load_model
from aecodec.evaluation import bd_rate
from aecodec.kodak import load_kodak
from aecodec.recipes import DEFAULT_CODEC, train_default_codec

REPO = Path(__file__).resolve().parents[1]
BASE_PIXELS = DEFAULT_CODEC.batch_size * DEFAULT_CODEC.patch_size ** 2  # per step
# name -> the settings changed from DEFAULT_CODEC (and the seed)
VARIANTS = {
    "recipe": {},
    "recipe, seed 1": {"seed": 1},
    "lr x3 (1.5e-3)": {"lr": 3 * DEFAULT_CODEC.lr},
    "lr /3 (1.7e-4)": {"lr": DEFAULT_CODEC.lr / 3},
    "patches 256x256, batch 2": {"patch_size": 256, "batch_size": 2},
    "batch 16": {"batch_size": 16},
    "lambdas log-uniform": {"lambda_sampling": "log-uniform"},
}


def run_steps(changes: dict, base_steps: int) -> int:
    """Steps that give a run as many training pixels as `base_steps` steps of the recipe."""
    pixels = (changes.get("batch_size", DEFAULT_CODEC.batch_size)
              * changes.get("patch_size", DEFAULT_CODEC.patch_size) ** 2)
    return round(base_steps * BASE_PIXELS / pixels)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train", default=str(REPO.parent / "shared" / "train"))
    parser.add_argument("--kodak", default=None, help="Kodak folder ($AECODEC_KODAK)")
    parser.add_argument("--steps", type=int, default=2500, help="steps of the recipe's batches")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--limit", type=int, default=24, help="the first N Kodak images")
    parser.add_argument("--runs", default=str(REPO / "runs" / "recipe"))
    parser.add_argument("--out", default=str(REPO / "benchmarks/results/default_recipe.md"))
    parser.add_argument("--only", nargs="*", default=None, help="run these variants only")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    images = dict(list(load_kodak(args.kodak).items())[: args.limit])
    names = [Path(name).stem for name in images]
    stored = json.loads((REPO / "data/results/results.json").read_text())["curves"]
    webp = [_mean_over(p["images"], names) for p in stored["WebP"]]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    results_path = out.with_suffix(".json")
    results = json.loads(results_path.read_text()) if results_path.exists() else {}
    for name, changes in VARIANTS.items():
        if (args.only and name not in args.only) or name in results:
            continue
        path = Path(args.runs) / (name.split(" (")[0].replace(" ", "_").replace(",", "")
                                  .replace("/", "div") + ".pt")
        steps = run_steps(changes, args.steps)
        if not path.exists():
            train_default_codec(args.train, path, steps=steps, **changes)
        seconds = load_checkpoint(Path(str(path) + ".training"))["training"]["seconds"]
        model = load_model(path)
        started = time.time()
        points = curve(model, images, model.config.lambdas)
        results[name] = dict(
            changes=changes, steps=steps, train_minutes=seconds / 60,
            score_minutes=(time.time() - started) / 60,
            curve={f"{k:.6g}": {m: v[m] for m in ("bpp", "psnr", "objective")}
                   for k, v in points.items()},
            bd_rate_vs_webp=bd_rate(webp, [(p["bpp"], p["psnr"]) for p in points.values()]))
        write(results_path, json.dumps(results, indent=1) + "\n")
    base = results.get("recipe")
    for row in results.values():
        row["bd_rate_vs_recipe"] = (bd_rate(_points(base), _points(row)) if base else None)
    summary = dict(images=len(images), base_steps=args.steps, threads=args.threads,
                   machine=platform.processor() or platform.machine(),
                   torch=torch.__version__, baselines=list(BASELINES))
    write(results_path, json.dumps(results, indent=1) + "\n")
    write(out, _markdown(results, summary, args))
    print(out.read_text())


def _points(row: dict) -> list[tuple[float, float]]:
    return [(p["bpp"], p["psnr"]) for p in row["curve"].values()]


def _markdown(results: dict, summary: dict, args) -> str:
    lines = ["# The default codec's recipe at a short budget", "",
             f"Command: `.venv/bin/python benchmarks/default_recipe.py --steps {args.steps} "
             f"--threads {args.threads} --limit {args.limit}`; {summary['images']} Kodak images, "
             f"real files; {summary['machine']}, torch {summary['torch']}.", "",
             "Every run starts from the shipped vr_hyperprior.pt (context off) and sees "
             f"{args.steps} x {BASE_PIXELS:,} training pixels. BD-rate: negative = fewer "
             "bits at equal PSNR (PCHIP, over the common PSNR range); WebP is method 6.", "",
             "| run | steps | training minutes | mean objective | BD-rate vs WebP "
             "| BD-rate vs the recipe |", "|---|---:|---:|---:|---:|---:|"]
    for name, row in results.items():
        objective = sum(p["objective"] for p in row["curve"].values()) / len(row["curve"])
        vs_recipe = ("—" if name == "recipe" or row.get("bd_rate_vs_recipe") is None
                     else f"{row['bd_rate_vs_recipe']:+.1f}%")
        lines.append(f"| {name} | {row['steps']} | {row['train_minutes']:.1f} | "
                     f"{objective:.4f} | {row['bd_rate_vs_webp']:+.1f}% | {vs_recipe} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
