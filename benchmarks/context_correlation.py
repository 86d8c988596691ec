"""What the hyperprior leaves: how much of a latent's normalized residual (y - mu) / sigma
its neighbours and its sibling channels could still predict, in the shipped variable-rate
hyperprior codec on Kodak (issue 25: measure before choosing a context model).

For each image and lambda it fits, by least squares, two linear predictors of r = (y - mu)/sigma
and of |r| (which carries scale information) at the checkerboard's non-anchor positions:
    checkerboard   from the 4 anchor neighbours (up, down, left, right), all C channels
    channel groups from the first C/2 channels at the same position (for the last C/2)
and reports the fraction of variance explained (R^2). The predictors read only what a
decoder would have: the decoded residuals r_hat = (y_hat - mu) / sigma = round(y - mu) / sigma
of the anchors (or of the first C/2 channels), not the unquantized y, which the decoder never
sees; the target is the coded value's own r. The checkerboard predictor has more inputs (4C
against C/2), so R^2 is measured on held-out images (fit on the first half, measured on the
other) so that the larger predictor cannot win by overfitting.

    python benchmarks/context_correlation.py --kodak ../shared/kodak \
        --out benchmarks/results/context_correlation.md
"""

import argparse
import glob
import os
from pathlib import Path

import torch

from aecodec import zoo
from aecodec.entropy import SCALE_BOUND
from aecodec.images import load_image


def held_out_r2(fit: tuple[torch.Tensor, torch.Tensor],
                test: tuple[torch.Tensor, torch.Tensor]) -> float:
    """R^2 on `test` (inputs (P, K), targets (P, T)) of a least-squares fit on `fit`."""
    def ones(inputs):
        return torch.cat([inputs, torch.ones(len(inputs), 1)], 1)  # (P, K + 1)
    solution = torch.linalg.lstsq(ones(fit[0]).double(), fit[1].double()).solution
    error = ones(test[0]).double() @ solution - test[1].double()  # (P, T)
    return float(1 - error.pow(2).sum() / (test[1] - test[1].mean(0)).pow(2).sum())


def features(model, x: torch.Tensor) -> dict:
    """{predictor name: (inputs (P, K), targets (P, T))} at one image's non-anchors; the
    inputs are decoded residuals r_hat, what a decoder has, the targets the coded r."""
    with torch.no_grad():
        y = model.encode(x)  # (1, C, h, w)
        means, scales = model.hyper_decode(torch.round(model.hyper_encode(y)))
    scales = scales.clamp_min(SCALE_BOUND)  # (1, C, h, w)
    r = ((y - means) / scales)[0]  # (C, h, w): what is coded
    r_hat = (torch.round(y - means) / scales)[0]  # (C, h, w): (y_hat - mu) / sigma, decoded
    c, h, w = r.shape
    padded = torch.nn.functional.pad(r_hat, (1, 1, 1, 1))  # (C, h + 2, w + 2)
    neighbours = torch.cat([padded[:, :-2, 1:-1], padded[:, 2:, 1:-1],
                            padded[:, 1:-1, :-2], padded[:, 1:-1, 2:]])  # (4C, h, w)
    i, j = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    odd = ((i + j) % 2 == 1).flatten()  # the non-anchors
    target = r.reshape(c, -1)[:, odd].T  # (P, C)
    decoded = r_hat.reshape(c, -1)[:, odd].T  # (P, C)
    spatial = neighbours.reshape(4 * c, -1)[:, odd].T  # (P, 4C)
    half = c // 2
    out = {}
    for name, t, d, s in (("r", target, decoded, spatial),
                          ("|r|", target.abs(), decoded.abs(), spatial.abs())):
        out[f"checkerboard {name}"] = (s, t)
        out[f"channel groups {name}"] = (d[:, :half], t[:, half:])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("--kodak", default=os.environ.get("AECODEC_KODAK", "../shared/kodak"))
    parser.add_argument("--images", type=int, default=8)
    parser.add_argument("--out", default="benchmarks/results/context_correlation.md")
    args = parser.parse_args()
    torch.set_num_threads(1)
    model = zoo.load_variable_rate().eval()
    files = sorted(glob.glob(os.path.join(args.kodak, "*.png")))[: args.images]
    if not files:
        raise SystemExit(f"no PNG images in {args.kodak}")
    lines = ["# What the hyperprior leaves (shipped vr_hyperprior.pt, "
             f"{len(files)} Kodak images)", "",
             "Held-out R^2 of linear predictors of the non-anchors' r = (y - mu) / sigma and |r|,",
             "from what a decoder has: the decoded residuals (y_hat - mu) / sigma of the 4",
             "neighbouring anchors (checkerboard) or of the first half of the channels at the",
             f"same position (channel groups); fit on {len(files) // 2} images, scored on the "
             f"other {len(files) - len(files) // 2}",
             f"(`python benchmarks/context_correlation.py --images {args.images}`).", "",
             "| lambda | checkerboard r | channel groups r | checkerboard abs r | "
             "channel groups abs r |", "|---|---|---|---|---|"]
    for lmbda in (0.0018, 0.0067, 0.013):
        with model.at_lambda(lmbda):
            rows = [features(model, load_image(f)[None]) for f in files]
        # fit on the first half of the images, measure on the other half
        half = len(rows) // 2
        pooled = [{k: tuple(torch.cat([r[k][i] for r in part]) for i in (0, 1)) for k in rows[0]}
                  for part in (rows[:half], rows[half:])]
        mean = {k: held_out_r2(pooled[0][k], pooled[1][k]) for k in rows[0]}
        lines.append(f"| {lmbda} | {mean['checkerboard r']:.3f} | {mean['channel groups r']:.3f}"
                     f" | {mean['checkerboard |r|']:.3f} | {mean['channel groups |r|']:.3f} |")
        print(lines[-1], flush=True)
    out = Path(args.out)
    partial = out.with_name(out.name + ".partial")
    partial.write_text("\n".join(lines) + "\n")
    partial.replace(out)  # atomic: a reader sees the old table or the new one


if __name__ == "__main__":
    main()
