"""Does the checkerboard context gain, at the same CPU budget? A control for the default
codec's headline (issue 25): from the same start (the shipped variable-rate hyperprior,
its gains widened to the default codec's lambdas), the same seed, the same patches and the
same recipe, train

    context      `VariableRateCheckerboard` (aecodec.models.context)
    no context   `VariableRateHyperprior`, for as many more steps as the context's extra
                 cost per step buys (measured here first), so both get the same CPU time

then score both with real files on the first Kodak images at the lambdas they share. The
control lacks the parameter layers (`parameters_net`) as well as the context, so the BD-rate
measures the context together with the layers it needs; it does not separate them.

    .venv/bin/python benchmarks/context_control.py --kodak ../shared/kodak --steps 1000 \
        --out benchmarks/results/context_control.md

Holds only the measurement.
"""

import argparse
import json
import platform
import time
from pathlib import Path

import torch

from aecodec import zoo
from aecodec.data import load_folder
from aecodec.evaluation import bd_rate, file_scores
from aecodec.kodak import load_kodak
from aecodec.recipes import (
    DEFAULT_CODEC,
    DEFAULT_CONTEXT_LR,
    VARIABLE_RATE_GAIN_LR,
    default_codec_from,
)
from aecodec.training import fit

REPO = Path(__file__).resolve().parents[1]


def build(context: bool):
    torch.manual_seed(0)
    return default_codec_from(zoo.load_variable_rate(), context=context)


def groups(model) -> list[dict]:
    new = [p for n, p in model.named_parameters() if n.startswith(("context.", "parameters_net."))]
    gains = [model.log_gains, model.log_inverse_gains]
    rest = [p for n, p in model.named_parameters()
            if not n.startswith(("context.", "parameters_net.", "log_"))]
    out = [{"params": rest, "lr_scale": 1.0}, {"params": gains, "lr_scale": VARIABLE_RATE_GAIN_LR}]
    return out + ([{"params": new, "lr_scale": DEFAULT_CONTEXT_LR}] if new else [])


def seconds_per_step(model, repeats: int = 6) -> float:
    """Median wall time of a training step on batches like the recipe's."""
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-9)
    x = torch.rand(DEFAULT_CODEC.batch_size, 3, DEFAULT_CODEC.patch_size, DEFAULT_CODEC.patch_size)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        loss, _ = model.loss(x)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kodak", default=None)
    parser.add_argument("--data", default=str(REPO.parent / "shared/train"))
    parser.add_argument("--steps", type=int, default=1000, help="the context model's steps")
    parser.add_argument("--images", type=int, default=8)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default=str(REPO / "benchmarks/results/context_control.md"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    ratio = seconds_per_step(build(True)) / seconds_per_step(build(False))
    steps = {"context": args.steps, "no context": round(args.steps * ratio)}
    data = DEFAULT_CODEC.dataset(list(load_folder(args.data).values()), seed=0)
    images = dict(list(load_kodak(args.kodak).items())[: args.images])
    shared = (0.0018, 0.0035, 0.0067, 0.013)
    results = {}
    for name, context in (("context", True), ("no context", False)):
        model = build(context)
        start = time.perf_counter()
        fit(model, data, steps=steps[name], param_groups=groups(model), seed=0,
            **DEFAULT_CODEC.fit_settings())
        seconds = time.perf_counter() - start
        model.eval()
        model.z_prior.update_tables()
        model.gaussian.update_tables()
        points = {}
        for lmbda in shared:
            with model.at_lambda(lmbda):
                points[lmbda] = file_scores(model, images, progress=False)
        results[name] = dict(steps=steps[name], seconds=seconds, points=points)
        print(name, results[name], flush=True)
    curves = {k: [(p["bpp"], p["psnr"]) for p in r["points"].values()] for k, r in results.items()}
    summary = dict(ratio=ratio, images=len(images), threads=args.threads,
                   machine=platform.processor() or platform.machine(),
                   bd_rate_context_vs_no_context=bd_rate(curves["no context"], curves["context"]),
                   results={k: dict(v, points={f"{lm:.6g}": p for lm, p in v["points"].items()})
                            for k, v in results.items()})
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(summary, indent=1) + "\n")
    lines = ["# The checkerboard context at the same CPU budget (real files)", "",
             f"Command: `.venv/bin/python benchmarks/context_control.py --steps {args.steps} "
             f"--images {args.images} --threads {args.threads}`; {summary['machine']}, "
             f"torch {torch.__version__}; the first {len(images)} Kodak images.", "",
             f"A context step costs {ratio:.2f}x a step without it (measured here), so the "
             f"control trains {steps['no context']} steps against the context's "
             f"{steps['context']}.", "",
             "| model | steps | training s | lambda | bpp | PSNR (dB) |",
             "|---|---:|---:|---:|---:|---:|"]
    for name, r in results.items():
        for lmbda, p in r["points"].items():
            lines.append(f"| {name} | {r['steps']} | {r['seconds']:.0f} | {lmbda} | "
                         f"{p['bpp']:.4f} | {p['psnr']:.2f} |")
    lines += ["", f"BD-rate of the context model against the control: "
              f"{summary['bd_rate_context_vs_no_context']:+.2f}% (negative: the context "
              "saves bits at the same PSNR).", ""]
    out.write_text("\n".join(lines))
    print(out.read_text())


if __name__ == "__main__":
    main()
