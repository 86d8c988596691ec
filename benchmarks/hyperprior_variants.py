"""The two hyperprior variants at equal training: scale-only (Ballé et al. 2018) against
mean-scale (Minnen et al. 2018), on Kodak with real files.

    .venv/bin/python benchmarks/hyperprior_variants.py --train ../shared/train \
        --kodak ../shared/kodak [--lmbda 0.0067] [--steps 3000] [--threads 1] \
        [--work runs/variants] [--out benchmarks/results/hyperprior_variants.md]

Both start from the same shipped factorized codec (rd_lambda{lmbda}.pt), with the same
seed, recipe (`aecodec.recipes.HYPERPRIOR`) and number of steps; the only difference is
whether the hyper-decoder also predicts the means. Each is then scored on the 24 Kodak
images with real .aec files: bpp from len(bytes), PSNR of the 8-bit decoded image, and the
training objective lambda * 255^2 * MSE + bpp that both minimise (lower is better).

Training checkpoints go to --work and a rerun resumes them, so the run can be
interrupted. Holds only the measurement; the variants are `HyperpriorConfig.predict_means`.
"""

import argparse
import platform
from dataclasses import replace
from pathlib import Path

import torch

from aecodec import recipes
from aecodec.checkpoint import load_model
from aecodec.data import load_folder
from aecodec.evaluation import file_scores, score_change
from aecodec.kodak import load_kodak
from aecodec.zoo import codec_path

REPO = Path(__file__).resolve().parents[1]
VARIANTS = {"scale-only": False, "mean-scale": True}  # name -> predict_means


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train", required=True, help="folder of training photos")
    parser.add_argument("--kodak", default=None, help="Kodak folder ($AECODEC_KODAK)")
    parser.add_argument("--lmbda", type=float, default=0.0067)
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--limit", type=int, default=24, help="score on the first N Kodak images")
    parser.add_argument("--work", default=str(REPO / "runs" / "variants"))
    parser.add_argument("--out", default=str(REPO / "benchmarks/results/hyperprior_variants.md"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    factorized = load_model(codec_path(args.lmbda, "factorized"))
    photos = list(load_folder(args.train).values())
    kodak = dict(list(load_kodak(args.kodak).items())[: args.limit])
    Path(args.work).mkdir(parents=True, exist_ok=True)
    results = {}
    for name, predict_means in VARIANTS.items():
        recipe = replace(recipes.HYPERPRIOR,
                         model=replace(recipes.HYPERPRIOR.model, predict_means=predict_means))
        path = Path(args.work) / f"{name}_lambda{args.lmbda}_{args.steps}steps.pt"
        model = recipes.train_hyperprior(factorized, photos, steps=args.steps, recipe=recipe,
                                         checkpoint=path, resume=True)
        model = load_model(path)  # with the coding tables built for these weights
        results[name] = file_scores(model, kodak)
        results[name]["parameters"] = sum(p.numel() for p in model.parameters())
        print(name, results[name], flush=True)

    base, test = results["scale-only"], results["mean-scale"]
    lines = [
        "# Hyperprior variants at equal training (Kodak, real files)",
        "",
        f"Command: `.venv/bin/python benchmarks/hyperprior_variants.py --lmbda {args.lmbda} "
        f"--steps {args.steps} --threads {args.threads}`; "
        f"{platform.processor() or platform.machine()}, "
        f"torch {torch.__version__}.",
        "",
        f"Both warm-started from rd_lambda{args.lmbda}.pt, {args.steps} steps of "
        f"`recipes.HYPERPRIOR` (batch {recipes.HYPERPRIOR.batch_size} x "
        f"{recipes.HYPERPRIOR.patch_size}^2), same seed.",
        "",
        "| variant | parameters | bpp | PSNR (dB) | lambda*255^2*MSE + bpp |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, r in results.items():
        lines.append(f"| {name} | {r['parameters']:,} | {r['bpp']:.4f} | {r['psnr']:.2f} | "
                     f"{r['objective']:.4f} |")
    lines += ["", f"Mean-scale against scale-only: {score_change(base, test)}.", ""]
    Path(args.out).write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
