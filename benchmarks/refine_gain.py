"""What encode-time refinement buys and costs: BD-rate against the encoder's own latents,
and encode time, for a few step counts, with both shipped codec families.

    .venv/bin/python benchmarks/refine_gain.py [--kodak DIR] [--limit 4] \
        [--steps 20 80] [--threads 1] [--out benchmarks/results/refine_gain.md]

For each family and each shipped lambda, the first --limit Kodak images are compressed
with `refine_latents(model, x, steps)` for every step count (0: the plain encoder), into
real .aec files decoded by the unchanged decoder. The BD-rate of each refined curve is
measured against the curve of step count 0 (negative: fewer bits at equal PSNR). Encode
time is the whole `compress` including refinement, per image, on --threads threads.

Holds only the measurement; refinement is `aecodec.refine`.
"""

import argparse
import json
import platform
import time
from pathlib import Path

import torch
from tqdm import tqdm

from aecodec import zoo
from aecodec.checkpoint import load_model
from aecodec.codec import compress, decompress
from aecodec.evaluation import bd_psnr, bd_rate
from aecodec.kodak import load_kodak
from aecodec.metrics import bpp, psnr
from aecodec.recipes import RD_LAMBDAS
from aecodec.refine import refine_latents

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kodak", default=None, help="Kodak folder ($AECODEC_KODAK)")
    parser.add_argument("--limit", type=int, default=4, help="the first N Kodak images")
    parser.add_argument("--steps", type=int, nargs="+", default=[20, 80])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default=str(REPO / "benchmarks/results/refine_gain.md"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    images = dict(list(load_kodak(args.kodak).items())[: args.limit])
    step_counts = [0, *args.steps]
    families = [f for f in zoo.shipped_families() if f in zoo.FAMILIES]  # the fixed-rate ones
    runs = [(f, s, lmbda) for f in families for s in step_counts
            for lmbda in RD_LAMBDAS]
    points: dict = {}  # (family, steps) -> [(bpp, psnr, seconds per image), ...]
    for family, steps, lmbda in tqdm(runs, desc="settings"):
        model = load_model(zoo.codec_path(lmbda, family))
        rows = []
        for x in images.values():
            torch.manual_seed(0)
            start = time.perf_counter()
            latents = refine_latents(model, x, steps, progress=False) if steps else None
            data = compress(model, x, latents=latents)
            seconds = time.perf_counter() - start
            rows.append((bpp(len(data), *x.shape[-2:]), psnr(x, decompress(model, data)),
                         seconds))
        points.setdefault((family, steps), []).append(
            tuple(sum(r[i] for r in rows) / len(rows) for i in range(3)))

    names = ", ".join(images)
    lines = ["# Encode-time refinement: what it buys and what it costs", "",
             f"Command: `.venv/bin/python benchmarks/refine_gain.py --limit {args.limit} "
             f"--steps {' '.join(map(str, args.steps))} --threads {args.threads}`; "
             f"{platform.processor() or platform.machine()}, torch {torch.__version__}. "
             f"Kodak images {names}; the 4 shipped lambdas of each family; real files.", "",
             "| family | refine steps | BD-rate vs no refinement | BD-PSNR | encode s/image "
             "| mean bpp | mean PSNR (dB) |", "|---|---:|---:|---:|---:|---:|---:|"]
    for family in families:
        anchor = [(b, p) for b, p, _ in points[(family, 0)]]
        for steps in step_counts:
            curve = points[(family, steps)]
            test = [(b, p) for b, p, _ in curve]
            seconds = sum(c[2] for c in curve) / len(curve)
            gain = "—" if steps == 0 else f"{bd_rate(anchor, test):+.1f}%"
            dpsnr = "—" if steps == 0 else f"{bd_psnr(anchor, test):+.2f} dB"
            lines.append(f"| {family} | {steps} | {gain} | {dpsnr} | {seconds:.1f} | "
                         f"{sum(b for b, _ in test) / len(test):.3f} | "
                         f"{sum(p for _, p in test) / len(test):.2f} |")
    lines.append("")
    Path(args.out).write_text("\n".join(lines))
    Path(args.out).with_suffix(".json").write_text(json.dumps(
        {f"{f} {s}": v for (f, s), v in points.items()}, indent=1))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
