"""The class's five-minute exercise, measured: fine-tune the shipped default codec on a
photo set of the class's own, then score it on the photos it trained on and on photos it
did not see.

    .venv/bin/python benchmarks/finetune_exercise.py --photos ../shared/kodak \
        [--seen 12] [--minutes 5] [--lr 5e-5] [--threads 1] \
        [--out benchmarks/results/finetune_exercise.md]

The photos (sorted by name) are split in two: the first --seen are the class's training
set, the rest are held out. `train_default_codec(start=<shipped default codec>, lr=--lr,
minutes=--minutes)` fine-tunes on the first part, the command the exercise gives
(`aecodec zoo-train-default --data PHOTOS --start data/models/vr_context.pt --lr 5e-5
--minutes 5`). Both codecs, the shipped one and the fine-tuned one, are then scored at the
six trained lambdas on each part with real .aec files, and the BD-rate of the fine-tuned
curve against the shipped one is given per part (negative: fewer bits at equal PSNR).

With Kodak as the class's photos, Kodak is no longer a test set for the fine-tuned codec:
this measures what five minutes of fine-tuning do, not the kit's Kodak result.
Holds only the measurement.
"""

import argparse
import json
import platform
import shutil
import tempfile
from pathlib import Path

import torch
from default_codec import curve, write

from aecodec import zoo
from aecodec.checkpoint import load_checkpoint, load_model
from aecodec.data import list_images, load_folder
from aecodec.evaluation import bd_rate
from aecodec.recipes import train_default_codec

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", required=True, help="the class's photos (e.g. Kodak)")
    parser.add_argument("--seen", type=int, default=12, help="how many to fine-tune on")
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--steps", type=int, default=None, help="a step budget instead")
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--model", default=None, help="the fine-tuned codec, if trained already")
    parser.add_argument("--out", default=str(REPO / "benchmarks/results/finetune_exercise.md"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    paths = list_images(args.photos)
    if not 0 < args.seen < len(paths):
        raise SystemExit(f"--seen must leave photos on both sides: {len(paths)} photos, "
                         f"--seen {args.seen}")
    seen, unseen = paths[: args.seen], paths[args.seen:]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tuned_path = Path(args.model or out.with_suffix(".pt"))
    if not tuned_path.exists():
        with tempfile.TemporaryDirectory() as folder:
            for path in seen:
                shutil.copy(path, folder)
            train_default_codec(folder, tuned_path, minutes=args.minutes if not args.steps
                                else None, steps=args.steps, start=zoo.default_path(),
                                lr=args.lr)
    training = load_checkpoint(str(tuned_path) + ".training")["training"]
    everything = load_folder(args.photos)
    parts = {"seen": {p.stem: everything[p.stem] for p in seen},
             "held out": {p.stem: everything[p.stem] for p in unseen}}
    models = {"shipped": zoo.load_default(), "fine-tuned": load_model(tuned_path)}
    scores = {part: {name: curve(model, images, model.config.lambdas)
                     for name, model in models.items()} for part, images in parts.items()}
    summary = dict(
        photos=str(args.photos), seen=[p.name for p in seen], held_out=[p.name for p in unseen],
        minutes=training["seconds"] / 60, steps=training["step"], lr=args.lr,
        threads=args.threads, machine=platform.processor() or platform.machine(),
        torch=torch.__version__,
        parts={part: {name: {f"{k:.6g}": {m: v[m] for m in ("bpp", "psnr", "objective")}
                             for k, v in points.items()} for name, points in by_model.items()}
               for part, by_model in scores.items()},
        bd_rate_vs_shipped={part: bd_rate(_points(by_model["shipped"]),
                                          _points(by_model["fine-tuned"]))
                            for part, by_model in scores.items()})
    write(out.with_suffix(".json"), json.dumps(summary, indent=1) + "\n")
    write(out, _markdown(summary, args))
    print(out.read_text())


def _points(points: dict) -> list[tuple[float, float]]:
    return [(p["bpp"], p["psnr"]) for p in points.values()]


def _markdown(summary: dict, args) -> str:
    lines = ["# The five-minute fine-tuning exercise, measured", "",
             f"Command: `.venv/bin/python benchmarks/finetune_exercise.py --photos KODAK "
             f"--seen {args.seen} --minutes {args.minutes:g} --lr {args.lr:g} "
             f"--threads {args.threads}`; {summary['machine']}, torch {summary['torch']}.", "",
             f"Fine-tuned for {summary['minutes']:.1f} minutes ({summary['steps']} steps) on "
             f"{len(summary['seen'])} photos; {len(summary['held_out'])} held out. Real files, "
             "six lambdas; BD-rate of the fine-tuned codec against the shipped one "
             "(negative: fewer bits at equal PSNR).", "",
             "| photos | BD-rate vs shipped | shipped: mean bpp, PSNR "
             "| fine-tuned: mean bpp, PSNR |",
             "|---|---:|---:|---:|"]
    for part, by_model in summary["parts"].items():
        means = {name: tuple(sum(p[m] for p in pts.values()) / len(pts) for m in ("bpp", "psnr"))
                 for name, pts in by_model.items()}
        lines.append(f"| {part} | {summary['bd_rate_vs_shipped'][part]:+.2f}% | "
                     f"{means['shipped'][0]:.4f}, {means['shipped'][1]:.2f} dB | "
                     f"{means['fine-tuned'][0]:.4f}, {means['fine-tuned'][1]:.2f} dB |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
