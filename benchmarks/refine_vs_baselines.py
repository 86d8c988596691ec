"""The refined curves of `refine_gain.py` beside WebP and optimized JPEG on the same images.

    .venv/bin/python benchmarks/refine_vs_baselines.py [--kodak DIR] [--limit 4] \
        [--points benchmarks/results/refine_gain.json] [--out FILE.md]

Reads the (bpp, PSNR) points `refine_gain.py` measured on the first --limit Kodak images
(mean over those images, per lambda), codes the same images with Pillow's WebP (method 6)
and JPEG (optimized Huffman tables) at `aecodec.evaluation`'s qualities, and gives the
BD-rate of every aecodec curve against each. A few images only: a sign of where the
refined codecs stand, not the Kodak result (`aecodec evaluate` is, without refinement).
"""

import argparse
import json
from pathlib import Path

from aecodec.baselines import decode_image_bytes, encode_jpeg, encode_webp
from aecodec.evaluation import JPEG_QUALITIES, WEBP_QUALITIES, bd_rate
from aecodec.kodak import load_kodak
from aecodec.metrics import bpp, psnr

REPO = Path(__file__).resolve().parents[1]


def baseline_curve(images: list, encode, qualities) -> list[tuple[float, float]]:
    """Mean (bpp, PSNR) over the images at each quality."""
    curve = []
    for quality in qualities:
        points = []
        for x in images:
            data = encode(x, quality)
            points.append((bpp(len(data), *x.shape[-2:]), psnr(x, decode_image_bytes(data))))
        curve.append(tuple(sum(p[i] for p in points) / len(points) for i in range(2)))
    return curve


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kodak", default=None, help="Kodak folder ($AECODEC_KODAK)")
    parser.add_argument("--limit", type=int, default=4, help="the images refine_gain.py used")
    parser.add_argument("--points", default=str(REPO / "benchmarks/results/refine_gain.json"))
    parser.add_argument("--out", default=str(REPO / "benchmarks/results/refine_vs_baselines.md"))
    args = parser.parse_args()
    images = list(load_kodak(args.kodak).values())[: args.limit]
    baselines = {"WebP": baseline_curve(images, encode_webp, WEBP_QUALITIES),
                 "JPEG": baseline_curve(images, encode_jpeg, JPEG_QUALITIES)}
    curves = json.loads(Path(args.points).read_text())
    lines = ["# Refined aecodec curves beside WebP and JPEG, on the same Kodak images", "",
             f"Command: `.venv/bin/python benchmarks/refine_vs_baselines.py --limit {args.limit}`;"
             f" points from `{Path(args.points).name}`, the first {args.limit} Kodak images.", "",
             "| codec, refine steps | BD-rate vs WebP | BD-rate vs JPEG |", "|---|---:|---:|"]
    for name, points in curves.items():
        curve = [(b, p) for b, p, _ in points]
        lines.append(f"| {name} | {bd_rate(baselines['WebP'], curve):+.1f}% | "
                     f"{bd_rate(baselines['JPEG'], curve):+.1f}% |")
    lines.append("")
    Path(args.out).write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
