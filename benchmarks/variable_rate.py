"""One variable-rate codec against the separately trained hyperprior family, at the same
training budget, on Kodak with real files.

    .venv/bin/python benchmarks/variable_rate.py --kodak ../shared/kodak \
        [--model data/models/vr_hyperprior.pt] [--threads 1] \
        [--out benchmarks/results/variable_rate.md]

The variable-rate codec (`aecodec.models.VariableRateHyperprior`, `aecodec zoo-train-vr`)
is scored at the four lambdas it was trained at and at the three lambdas halfway between
them in log lambda (gains interpolated, never trained at); the family
(hp_lambda{lambda}.pt) at its four. Every point is the mean over the 24 Kodak images of
real .aec files: bpp from len(bytes), PSNR of the 8-bit decoded image. The BD-rate of the
variable-rate curve (its four trained lambdas) against the family's is the headline; the
JPEG, WebP and AVIF curves are the ones `aecodec evaluate` stored in
data/results/results.json (Pillow's best ordinary settings: optimized JPEG Huffman tables,
WebP method 6, AVIF 4:4:4), measured on the same images.

Holds only the measurement; the model is `aecodec.models.VariableRateHyperprior`.
"""

import argparse
import json
import math
import platform
from pathlib import Path

import torch
from matplotlib.figure import Figure

from aecodec import zoo
from aecodec.checkpoint import load_checkpoint, load_model
from aecodec.evaluation import bd_psnr, bd_rate, file_scores
from aecodec.kodak import load_kodak

REPO = Path(__file__).resolve().parents[1]
BASELINES = ("JPEG", "WebP", "AVIF 4:4:4")


def halfway(lambdas: tuple[float, ...]) -> list[float]:
    """The trained lambdas and the geometric means of each neighbouring pair, sorted."""
    middles = [math.sqrt(a * b) for a, b in zip(lambdas[:-1], lambdas[1:])]
    return sorted([*lambdas, *middles])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kodak", default=None, help="Kodak folder ($AECODEC_KODAK)")
    parser.add_argument("--model", default=None, help="the variable-rate codec "
                        "(default: the shipped vr_hyperprior.pt)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--limit", type=int, default=24, help="the first N Kodak images only")
    parser.add_argument("--out", default=str(REPO / "benchmarks/results/variable_rate.md"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    path = Path(args.model) if args.model else zoo.variable_rate_path()
    model = load_model(path)
    training = load_checkpoint(path).get("training") or {}
    images = dict(list(load_kodak(args.kodak).items())[: args.limit])
    trained = model.config.lambdas
    variable = {}
    for lmbda in halfway(trained):
        with model.at_lambda(lmbda):
            variable[lmbda] = file_scores(model, images)
        print(f"variable rate, lambda {lmbda:.5f}: {variable[lmbda]}", flush=True)
    family = {}
    for lmbda, codec in zip(trained, zoo.load_codecs("hyperprior").values()):
        family[lmbda] = file_scores(codec, images)
        print(f"family, lambda {lmbda}: {family[lmbda]}", flush=True)

    points = {name: [(p["bpp"], p["psnr"]) for p in runs.values()]
              for name, runs in (("variable", variable), ("family", family))}
    at_trained = [(variable[v]["bpp"], variable[v]["psnr"]) for v in trained]
    stored = json.loads((REPO / "data/results/results.json").read_text())["curves"]
    names = [Path(name).stem for name in images]  # the same images as the codecs
    baselines = {name: [_mean_over(p["images"], names) for p in stored[name]]
                 for name in BASELINES}
    summary = dict(
        model=str(path), steps=training.get("step"), minutes=(training.get("seconds") or 0) / 60,
        variable={f"{v:.6g}": p for v, p in variable.items()},
        family={f"{v:.6g}": p for v, p in family.items()},
        bd_rate_vs_family=bd_rate(points["family"], at_trained),
        bd_psnr_vs_family=bd_psnr(points["family"], at_trained),
        bd_rate_vs={name: bd_rate(curve, at_trained) for name, curve in baselines.items()},
        family_bd_rate_vs={name: bd_rate(curve, points["family"])
                           for name, curve in baselines.items()},
    )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(summary, indent=1) + "\n")
    _figure(points, baselines, variable, trained).savefig(out.with_suffix(".png"), dpi=90)
    out.write_text(_markdown(summary, variable, family, trained, args))
    print(out.read_text())


def _mean_over(per_image: dict, names: list[str]) -> tuple[float, float]:
    """(bpp, PSNR) of one baseline setting, averaged over the images `names`."""
    return (sum(per_image[n]["bpp"] for n in names) / len(names),
            sum(per_image[n]["psnr"] for n in names) / len(names))


def _figure(points, baselines, variable, trained) -> Figure:
    fig = Figure(figsize=(7, 4.6), layout="constrained")
    ax = fig.subplots()
    for name, curve in baselines.items():
        ax.plot(*zip(*curve), "--", marker=".", label=f"{name} (Pillow)", alpha=0.7)
    ax.plot(*zip(*points["family"]), "s-", label="hyperprior family (4 models)")
    ax.plot(*zip(*points["variable"]), "o-", label="variable rate (1 model)")
    between = [(p["bpp"], p["psnr"]) for v, p in variable.items() if v not in trained]
    ax.plot(*zip(*between), "o", markerfacecolor="white", color="C4",
            label="variable rate, between trained lambdas")
    ax.set(xlabel="bits per pixel (real files)", ylabel="PSNR (dB)", xlim=(0, 1.2),
           ylim=(24, 36), title="Kodak, 24 images: one model for every rate")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return fig


def _markdown(summary, variable, family, trained, args) -> str:
    lines = [
        "# One variable-rate codec against the separately trained family (Kodak, real files)",
        "",
        f"Command: `.venv/bin/python benchmarks/variable_rate.py --threads {args.threads}"
        f"{'' if args.limit == 24 else f' --limit {args.limit}'}`; "
        f"{platform.processor() or platform.machine()}, torch {torch.__version__}. The model: "
        f"{summary['steps']} steps, {summary['minutes']:.1f} minutes of its own training "
        "(after the warm start).",
        "",
        "| codec | lambda | bpp | PSNR (dB) | λ·255²·MSE + bpp |",
        "|---|---:|---:|---:|---:|",
    ]
    for lmbda, p in variable.items():
        kind = "variable rate" + ("" if lmbda in trained else " (between)")
        lines.append(f"| {kind} | {lmbda:.5f} | {p['bpp']:.4f} | {p['psnr']:.2f} | "
                     f"{p['objective']:.4f} |")
    for lmbda, p in family.items():
        lines.append(f"| family, hp_lambda{lmbda}.pt | {lmbda:.5f} | {p['bpp']:.4f} | "
                     f"{p['psnr']:.2f} | {p['objective']:.4f} |")
    lines += [
        "",
        "BD-rate of the variable-rate curve (its four trained lambdas), negative = fewer bits "
        "for the same PSNR:",
        "",
        f"- against the family: {summary['bd_rate_vs_family']:+.1f}% "
        f"(BD-PSNR {summary['bd_psnr_vs_family']:+.2f} dB)",
    ]
    for name, value in summary["bd_rate_vs"].items():
        lines.append(f"- against {name}: {value:+.1f}% (the family: "
                     f"{summary['family_bd_rate_vs'][name]:+.1f}%)")
    lines += ["", "![curves](variable_rate.png)", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
