"""Encode-time refinement on the default codec, over the whole Kodak set: its BD-rate
against the unrefined default codec, WebP and AVIF, from real files.

    .venv/bin/python benchmarks/refine_default.py [--kodak DIR] [--steps 80] \
        [--limit 24] [--threads 1] [--out benchmarks/results/refine_default.md]

For each of the default codec's qualities (its trained lambdas) and each of the first
--limit Kodak images, the image is compressed twice into real .aec files: with the
encoder's own latents and with `refine_latents(model, x, --steps)`; each file is decoded by
the unchanged decoder and scored (bpp from len(bytes), PSNR of the decoded 8-bit image).
The BD-rate of the refined curve is given against the unrefined one and against WebP
(method 6) and AVIF (4:4:4), the curves `aecodec evaluate` stored for the same images.

Refinement costs about a minute per image at 80 steps on one thread, so a full run is
hours: it is resumable. Every (lambda, image) pair is written to the results JSON as soon
as it is measured (atomically); run the same command again after an interruption. The
Markdown summary is written once every pair is in.

Holds only the measurement; refinement is `aecodec.refine`.
"""

import argparse
import json
import platform
import time
from pathlib import Path
from statistics import fmean

import torch
from default_codec import _mean_over, write
from tqdm import tqdm

from aecodec import zoo
from aecodec.codec import compress, decompress
from aecodec.evaluation import bd_rate, measure
from aecodec.kodak import load_kodak
from aecodec.refine import refine_latents

REPO = Path(__file__).resolve().parents[1]


def pair_key(lmbda: float, name: str) -> str:
    """The results JSON's key of one (lambda, Kodak image) pair: "0.0009/kodim01"."""
    return f"{lmbda:.6g}/{Path(name).stem}"


def measure_pair(model, x: torch.Tensor, steps: int) -> dict:
    """bpp, PSNR and encode seconds of one image, unrefined and refined for `steps` steps."""
    out = {}
    for label, n in (("plain", 0), ("refined", steps)):
        torch.manual_seed(0)  # the Gumbel noise of the annealed rounding
        start = time.perf_counter()
        latents = refine_latents(model, x, n, progress=False) if n else None
        data = compress(model, x, latents=latents)
        seconds = time.perf_counter() - start
        x_hat = decompress(model, data)  # (3, H, W), the decoded 8-bit image in [0, 1]
        out[label] = dict(measure(x, x_hat, len(data), with_ms_ssim=False),
                          encode_seconds=seconds)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kodak", default=None, help="Kodak folder ($AECODEC_KODAK)")
    parser.add_argument("--steps", type=int, default=80, help="refinement steps")
    parser.add_argument("--limit", type=int, default=24, help="the first N Kodak images")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default=str(REPO / "benchmarks/results/refine_default.md"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    images = dict(list(load_kodak(args.kodak).items())[: args.limit])
    names = [Path(name).stem for name in images]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    results_path = out.with_suffix(".json")
    results = json.loads(results_path.read_text()) if results_path.exists() else {}
    if results and results.get("steps") != args.steps:
        raise SystemExit(f"{results_path} holds a run of {results.get('steps')} steps, not "
                         f"{args.steps}: move it away or give --out another name")
    results.update(steps=args.steps, threads=args.threads,
                   machine=platform.processor() or platform.machine(), torch=torch.__version__)
    pairs = results.setdefault("pairs", {})  # "lambda/image" -> measure_pair's dict
    qualities = zoo.qualities("context")  # {quality: lambda}
    todo = [(q, lmbda, name) for q, lmbda in qualities.items() for name in images
            if pair_key(lmbda, name) not in pairs]
    for quality, lmbda, name in tqdm(todo, desc=f"refine {args.steps} steps"):
        model = zoo.load_default(quality)
        pairs[pair_key(lmbda, name)] = measure_pair(model, images[name], args.steps)
        write(results_path, json.dumps(results, indent=1) + "\n")
    if len(pairs) < len(qualities) * len(images):
        return
    curves = {label: [(fmean(pairs[pair_key(lmbda, n)][label]["bpp"] for n in names),
                       fmean(pairs[pair_key(lmbda, n)][label]["psnr"] for n in names))
                      for lmbda in qualities.values()] for label in ("plain", "refined")}
    stored = json.loads((REPO / "data/results/results.json").read_text())["curves"]
    baselines = {b: [_mean_over(p["images"], names) for p in stored[b]]
                 for b in ("WebP", "AVIF 4:4:4")}
    summary = {label: {"vs plain": bd_rate(curves["plain"], curve),
                       **{f"vs {b}": bd_rate(points, curve) for b, points in baselines.items()},
                       "encode seconds": fmean(p[label]["encode_seconds"]
                                               for p in pairs.values())}
               for label, curve in curves.items()}
    results.update(curves=curves, summary=summary)
    write(results_path, json.dumps(results, indent=1) + "\n")
    write(out, _markdown(results, args, len(images)))
    print(out.read_text())


def _markdown(results: dict, args, count: int) -> str:
    lines = ["# Encode-time refinement on the default codec", "",
             f"Command: `.venv/bin/python benchmarks/refine_default.py --steps {args.steps} "
             f"--limit {args.limit} --threads {args.threads}`; {count} Kodak images, the "
             f"default codec's 6 qualities, real files; {results['machine']}, torch "
             f"{results['torch']}.", "",
             "BD-rate: negative = fewer bits at equal PSNR (PCHIP, over the common PSNR range). "
             "WebP is method 6, AVIF 4:4:4 (the curves of data/results/results.json).", "",
             "| encoder | BD-rate vs unrefined | vs WebP | vs AVIF | encode s/image |",
             "|---|---:|---:|---:|---:|"]
    for label, row in results["summary"].items():
        name = "the encoder's latents" if label == "plain" else f"refined, {args.steps} steps"
        lines.append(f"| {name} | {row['vs plain']:+.1f}% | {row['vs WebP']:+.1f}% | "
                     f"{row['vs AVIF 4:4:4']:+.1f}% | {row['encode seconds']:.1f} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
