"""Benchmark: aecodec's classroom recipe against the field's published recipe.

Every curve is trained from scratch under the same wall-clock budget, in the same run, on
the same photos and the same CPU threads; then all are evaluated on Kodak with real files
(bytes written and read back), beside Pillow JPEG, WebP and AVIF, and the script prints
BD-rate against JPEG and against each other.

- aecodec: `aecodec.recipes.train_rd_curve` with `RD_SMALL`, the classroom recipe (notebook
  07's training cell, `aecodec train --lambda`).
- aecodec + refine N: the same codecs, each Kodak image's latents refined for N = --refine
  steps at encode time (`aecodec.refine`), into ordinary .aec files.
- aecodec previous: the recipe before this edition's (`PREVIOUS`: RD_SMALL with its old
  learning rate), for the comparison; `--previous no` leaves it out.
- reference: CompressAI's `FactorizedPrior` (Ballé et al. 2017; N=128, M=192) with its
  published settings: Adam lr 1e-4, batch 8, 128x128 crops, its auxiliary loss for the
  quantiles (lr 1e-3). CompressAI is an optional extra for this benchmark only:
  `make bench-recipe` installs it. Without it, `--reference none` leaves it out.
  Given the same curve budget, each lambda is warm-started from the previous one, as in
  aecodec's recipe (kinder to the reference than training every point from scratch).

Run:  make bench-recipe          (12 minutes per curve, 2 threads: about 55 minutes)
or:   python benchmarks/rd_recipe.py --minutes 12 --threads 2 --data ../shared/train \
          --kodak ../shared/kodak
"""

import argparse
import json
import os
import platform
import time
from dataclasses import replace
from pathlib import Path

import torch
import torch.nn.functional as F
from tqdm import tqdm

from aecodec.codec import compress, decompress
from aecodec.data import PatchDataset, load_folder
from aecodec.evaluation import codec_runs, evaluate_codecs, rd_figure, results_markdown
from aecodec.kodak import load_kodak
from aecodec.layers import flush_denormal
from aecodec.losses import rd_loss
from aecodec.recipes import RD_LAMBDAS, RD_SMALL, curve_shares, train_rd_curve
from aecodec.refine import refine_latents

REPO = Path(__file__).resolve().parents[1]
PREVIOUS = replace(RD_SMALL, lr=2e-3)  # the classroom recipe until this edition


# --- the reference recipe (CompressAI) ----------------------------------------------------


def train_reference_curve(images: list[torch.Tensor], lambdas: tuple[float, ...],
                          minutes: float, seed: int = 0) -> dict[float, torch.nn.Module]:
    """CompressAI's FactorizedPrior with its published settings, one warm-started chain."""
    from compressai.models import FactorizedPrior

    dataset = PatchDataset(images, patch_size=128, patches_per_image=8, seed=seed)
    torch.manual_seed(seed)
    model, models = FactorizedPrior(128, 192), {}
    order = sorted(lambdas, reverse=True)
    for lmbda, share in zip(order, curve_shares(len(order))):
        _train_reference(model, dataset, lmbda, minutes * share)
        models[lmbda] = _frozen_copy(model)
    return models


def _train_reference(model, dataset, lmbda: float, minutes: float) -> None:
    main = [p for n, p in model.named_parameters() if not n.endswith(".quantiles")]
    aux = [p for n, p in model.named_parameters() if n.endswith(".quantiles")]
    optimizer, aux_optimizer = torch.optim.Adam(main, lr=1e-4), torch.optim.Adam(aux, lr=1e-3)
    loader = torch.utils.data.DataLoader(dataset, batch_size=8, shuffle=True)
    model.train()
    start = time.perf_counter()
    bar = tqdm(total=round(60 * minutes), desc=f"reference lambda={lmbda}", unit="s")
    while time.perf_counter() - start < 60 * minutes:
        for x in loader:  # (8, 3, 128, 128)
            if time.perf_counter() - start >= 60 * minutes:
                break
            out = model(x)
            bpp = sum(-torch.log2(lik).sum() for lik in out["likelihoods"].values()) \
                / (x.shape[0] * x.shape[-2] * x.shape[-1])
            loss = rd_loss(F.mse_loss(out["x_hat"], x), bpp, lmbda)
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(main, 1.0)  # as in CompressAI's example
            optimizer.step()
            aux_optimizer.zero_grad()
            model.aux_loss().backward()
            aux_optimizer.step()
            bar.n = round(min(time.perf_counter() - start, 60 * minutes))
            bar.set_postfix(loss=f"{loss.item():.3f}", refresh=False)
            bar.update(0)
    bar.close()


def _frozen_copy(model):
    import copy

    frozen = copy.deepcopy(model).eval()
    frozen.update(force=True)
    return frozen


def reference_codec(model):
    """run(x) -> (bytes, x_hat): CompressAI's own range coder, plus 8 bytes for the size."""
    def run(x: torch.Tensor) -> tuple[int, torch.Tensor]:
        height, width = x.shape[-2:]
        pad = (0, -width % 16, 0, -height % 16)
        with torch.no_grad():
            out = model.compress(F.pad(x[None], pad, mode="replicate"))
            x_hat = model.decompress(out["strings"], out["shape"])["x_hat"]
        num_bytes = sum(len(s[0]) for s in out["strings"]) + 8
        return num_bytes, x_hat[0, :, :height, :width].clamp(0, 1)
    return run


# --- encode-time refinement ----------------------------------------------------------------


def refined_codec(model, steps: int):
    """run(x) -> (bytes, x_hat): an .aec file of latents refined for `steps` steps."""
    def run(x: torch.Tensor) -> tuple[int, torch.Tensor]:
        torch.manual_seed(0)  # soft rounding draws noise: the same file on every run
        data = compress(model, x, latents=refine_latents(model, x, steps, progress=False))
        return len(data), decompress(model, data)
    return run


# --- the run ------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=12.0, help="budget per curve")
    parser.add_argument("--data", help="training photos ($AECODEC_TRAIN, ../shared/train)",
                        default=os.environ.get("AECODEC_TRAIN", REPO.parent / "shared" / "train"))
    parser.add_argument("--kodak", default=None, help="Kodak folder (default: $AECODEC_KODAK "
                        "or ../shared/kodak)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--refine", type=int, default=20,
                        help="encode-time refinement steps for the refined curve (0: none)")
    parser.add_argument("--previous", choices=["yes", "no"], default="yes",
                        help="also train the previous recipe, PREVIOUS")
    parser.add_argument("--limit", type=int, default=None, help="only the first N Kodak images")
    parser.add_argument("--reference", choices=["compressai", "none"], default="compressai")
    parser.add_argument("--out", default=REPO / "runs" / "bench_recipe")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    images = list(load_folder(args.data).values())
    kodak_dir = args.kodak or os.environ.get("AECODEC_KODAK") or REPO.parent / "shared" / "kodak"
    kodak = dict(list(load_kodak(kodak_dir).items())[: args.limit])

    models = train_rd_curve(images, RD_LAMBDAS, minutes=args.minutes, recipe=RD_SMALL,
                            out_dir=out / "aecodec")
    others = {}
    if args.refine:
        others[f"aecodec + refine {args.refine}"] = {
            f"lambda={lm}": refined_codec(m, args.refine) for lm, m in models.items()}
    if args.previous == "yes":
        previous = train_rd_curve(images, RD_LAMBDAS, minutes=args.minutes, recipe=PREVIOUS,
                                  out_dir=out / "previous")
        others["aecodec previous"] = codec_runs({f"lambda={lm}": m for lm, m in previous.items()})
    if args.reference == "compressai":
        with flush_denormal():  # as aecodec's training does
            reference = train_reference_curve(images, RD_LAMBDAS, args.minutes)
        others["reference"] = {f"lambda={lm}": reference_codec(m) for lm, m in reference.items()}
    results = evaluate_codecs(kodak, {f"lambda={lm}": m for lm, m in models.items()},
                              others=others)
    results["machine"] = dict(cpu=platform.processor() or platform.machine(),
                              threads=args.threads, torch=torch.__version__,
                              minutes_per_curve=args.minutes, refine_steps=args.refine)
    markdown = results_markdown(results)
    (out / "results.json").write_text(json.dumps(results, indent=1))
    (out / "results.md").write_text(markdown)
    rd_figure(results, title=f"Kodak, {args.minutes:g} minutes per curve, {args.threads} "
              f"thread(s)").savefig(out / "results.png", dpi=100)
    print(markdown)
    print(f"\nwritten: {out / 'results.md'}")


if __name__ == "__main__":
    main()
