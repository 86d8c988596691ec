"""The `aecodec` command: compress, decompress, models, train, reconstruct, info, evaluate,
download-kodak, zoo-train, zoo-train-rd, zoo-train-hp,
zoo-train-vr, zoo-train-default, classroom build.

Each subcommand is a `cmd_*` function, and its arguments are declared by an `add_*`
function beside it; `COMMANDS` lists them with the line `aecodec --help` shows. `main`
dispatches and turns user mistakes (`AecodecError`) into one line on stderr and exit
status 1, with no traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from aecodec._atomic import atomic_write
from aecodec.errors import AecodecError

if TYPE_CHECKING:  # names for type hints only
    from aecodec.models import Codec
    from aecodec.recipes import Recipe

# Each command imports what it uses inside its functions: PyTorch alone takes seconds to
# import, and `aecodec --help`, a mistake in the arguments or `aecodec classroom build`
# should answer at once. Only the command being run has its arguments declared (see
# `build_parser`), so only its imports happen.


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def steps_or_zero(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a number of steps >= 0, got {text}")
    return value


def positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def fraction(text: str) -> float:
    value = float(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got {text}")
    return value


def option(name: str) -> str:
    """The command-line flag of a setting: latent_channels -> --latent-channels."""
    return "--" + name.replace("_", "-")


def read_file(path) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        raise AecodecError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise AecodecError(f"{path}: is a folder, not a file") from None


def _codec(path) -> Codec:
    from aecodec import zoo
    from aecodec.checkpoint import load_model

    model = load_model(path)
    if not isinstance(model, zoo.Codec):
        raise AecodecError(f"{path}: a plain autoencoder has no entropy model to write files; "
                           "train one with `aecodec train --lambda ...`")
    return model


# --- compress, decompress, models -----------------------------------------------------


def add_compress(p: argparse.ArgumentParser) -> None:
    from aecodec import catalogue as zoo  # the names and numbers only: no PyTorch for --help

    p.add_argument("input", metavar="IN", help="image file (PNG, JPEG, ...)")
    p.add_argument("output", metavar="OUT", help=".aec file to write")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--quality", type=int, choices=sorted(zoo.DEFAULT_QUALITIES),
                       default=None, help="1 (smallest files) to "
                       f"{len(zoo.DEFAULT_QUALITIES)} (best quality) for the default codec, 1 "
                       f"to {len(zoo.QUALITIES)} for the course's families; default "
                       f"{zoo.DEFAULT_CODEC_QUALITY} (lambda 0.0067; see `aecodec models`)")
    which.add_argument("--model", default=None, metavar="CKPT",
                       help="any rate-distortion checkpoint instead (trained with --lambda)")
    p.add_argument("--lambda", dest="lmbda", type=positive_float, default=None, metavar="L",
                   help="any rate-distortion trade-off in a variable-rate codec's range "
                   "instead of a quality (the default codec: 0.0009 to 0.026); the file "
                   "stores it")
    p.add_argument("--family", choices=zoo.ALL_FAMILIES, default=None,
                   help=f"which shipped codec (default: {zoo.DEFAULT_FAMILY}, the default "
                   "codec; the others are the course's)")
    p.add_argument("--refine", type=steps_or_zero, default=0, metavar="STEPS",
                   help="optimise this image's latents for STEPS steps before coding "
                   "(slower encoding; it searches for a lower rate-distortion loss: usually a "
                   "better file for its size, not always a smaller one; the same decoder; see "
                   "docs/codec.md); default 0")
    p.set_defaults(func=cmd_compress)


def cmd_compress(args: argparse.Namespace) -> None:
    from aecodec import zoo
    from aecodec.codec import compress
    from aecodec.errors import CheckpointError
    from aecodec.images import load_image
    from aecodec.metrics import bpp
    from aecodec.refine import refine_latents

    if args.model and args.family:
        raise AecodecError("--model names the codec to use; --family picks a shipped one: "
                           "give one or the other")
    x = load_image(args.input)  # (3, H, W)
    if args.model:
        model = _codec(args.model)
        if args.lmbda is not None:
            if not model.variable_rate:
                raise AecodecError(f"{args.model}: a fixed-rate codec (lambda "
                                   f"{model.config.lmbda}) has no --lambda knob; only a "
                                   "variable-rate one does")
            if not model.in_range(args.lmbda):
                low, high = model.config.lambdas[0], model.config.lambdas[-1]
                raise AecodecError(f"--lambda {args.lmbda} is outside {args.model}'s trained "
                                   f"range {low} to {high}")
            model.set_lambda(args.lmbda)
    else:
        try:
            model = zoo.load_codec(args.quality, args.family or zoo.DEFAULT_FAMILY, args.lmbda)
        except (CheckpointError, ValueError) as e:
            raise AecodecError(str(e)) from None
    latents = refine_latents(model, x, args.refine) if args.refine else None
    data = compress(model, x, latents=latents)
    with atomic_write(args.output) as f:
        f.write(data)
    height, width = x.shape[-2:]
    print(f"{args.input} ({width}x{height}) -> {args.output}: {len(data):,} bytes, "
          f"{bpp(len(data), height, width):.4f} bpp, ratio {3 * height * width / len(data):.1f}:1 "
          "against raw 8-bit RGB")


def add_decompress(p: argparse.ArgumentParser) -> None:
    p.add_argument("input", metavar="IN", help=".aec file")
    p.add_argument("output", metavar="OUT", help="image to write (.png keeps it exact)")
    p.add_argument("--model", default=None, metavar="CKPT",
                   help="the model that wrote the file (default: found among the shipped "
                   "models by the id in the file)")
    p.set_defaults(func=cmd_decompress)


def cmd_decompress(args: argparse.Namespace) -> None:
    from aecodec import zoo
    from aecodec.codec import decompress, read_header
    from aecodec.images import save_image
    from aecodec.metrics import bpp

    data = read_file(args.input)
    header = read_header(data)
    model = _codec(args.model) if args.model else zoo.find_model(header["model_id"])
    save_image(decompress(model, data), args.output)
    height, width = header["height"], header["width"]
    print(f"{args.input} ({len(data):,} bytes, {bpp(len(data), height, width):.4f} bpp) -> "
          f"{args.output} ({width}x{height})")


def add_models(p: argparse.ArgumentParser) -> None:
    p.set_defaults(func=cmd_models)


def cmd_models(args: argparse.Namespace) -> None:
    from aecodec import zoo
    from aecodec.recipes import PLAIN_LATENT_CHANNELS

    for family in zoo.shipped_families():
        rows = zoo.codec_scores(family)
        qualities = zoo.qualities(family)
        knob = (f", or --lambda L from {min(qualities.values())} to {max(qualities.values())}"
                if family in zoo.VARIABLE_FAMILIES else "")
        print(f"{'the default codec' if family == zoo.DEFAULT_FAMILY else family} "
              f"(`aecodec compress --family {family} --quality Q`{knob}):")
        if not rows:
            print("quality  lambda   (no Kodak scores stored yet: `aecodec evaluate`)")
            for quality, lmbda in qualities.items():
                print(f"{quality:>7}  {lmbda}")
            continue
        print(f"quality  lambda   bpp    PSNR (dB)  MS-SSIM   (mean over the {rows[0]['images']} "
              "Kodak images, real files)")
        for r in rows:
            default = "  (default)" if (family == zoo.DEFAULT_FAMILY
                                        and r["quality"] == zoo.default_quality(family)) else ""
            print(f"{r['quality']:>7}  {r['lmbda']:<7}  {r['bpp']:.3f}  {r['psnr']:9.2f}  "
                  f"{r['ms_ssim']:.4f}{default}")
    print(f"in {zoo.models_dir()}; plain autoencoders there too: C = "
          f"{', '.join(map(str, PLAIN_LATENT_CHANNELS))} (`aecodec reconstruct`)")


# --- train, reconstruct, info ---------------------------------------------------------

SIZE_OPTIONS = dict(latent_channels=("C", "channels of the latent y"),
                    downsamplings=("K", "stride-2 layers: y is 2^K times smaller per side"),
                    hidden_channels=("N", "width of the hidden layers"))
TRAIN_OPTIONS = dict(batch_size=("N", positive_int, "patches per step"),
                     patch_size=("PX", positive_int, "side of the random square patches"),
                     lr=("LR", positive_float, "peak learning rate"),
                     warmup=("F", fraction, "fraction of the budget spent warming the "
                             "learning rate up"))


def _defaults(name: str) -> str:
    """Help text for a recipe setting: PLAIN's value and RD_SMALL's (with --lambda)."""
    from aecodec.catalogue import RECIPE_SETTINGS  # the recipes' numbers, without PyTorch

    plain, small = RECIPE_SETTINGS["PLAIN"][name], RECIPE_SETTINGS["RD_SMALL"][name]
    return f"(default: {plain}, or RD_SMALL's {small} with --lambda)"


def add_train(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", metavar="DIR", default=None,
                   help="folder of PNG/JPEG images (default: the embedded sample photos)")
    p.add_argument("--lambda", dest="lmbda", type=positive_float, default=None,
                   help="train a rate-distortion model (a real codec) with loss "
                   "lambda * 255^2 * MSE + bpp; without it, a plain autoencoder")
    for name, (metavar, text) in SIZE_OPTIONS.items():
        p.add_argument(option(name), type=positive_int, default=None, metavar=metavar,
                       help=f"{text} {_defaults(name)}")
    p.add_argument("--gdn", action=argparse.BooleanOptionalAction, default=None,
                   help="GDN instead of ReLU between layers (default: only with --lambda)")
    p.add_argument("--steps", type=positive_int, default=None, metavar="N",
                   help="optimizer steps (default: 2000, or as many as fit in --minutes)")
    p.add_argument("--minutes", type=positive_float, default=None, metavar="M",
                   help="a wall-clock budget: the learning-rate schedule follows the clock "
                   "and training stops and saves when the time is up")
    for name, (metavar, kind, text) in TRAIN_OPTIONS.items():
        p.add_argument(option(name), type=kind, default=None, metavar=metavar,
                       help=f"{text} {_defaults(name)}")
    p.add_argument("--patches-per-image", type=positive_int, default=8, metavar="N",
                   help="patches cut from each image per epoch (default: 8)")
    p.add_argument("--seed", type=int, default=0, help="seed of weights, patches and order")
    p.add_argument("--save-every", type=positive_int, default=500, metavar="N",
                   help="steps between checkpoints (default: 500)")
    p.add_argument("--resume", action="store_true", help="continue from --out if it exists")
    p.add_argument("--workers", type=int, default=0, metavar="N",
                   help="data loader worker processes (default: 0)")
    p.add_argument("--device", default=None,
                   help="cpu, cuda or mps (default: the best one found)")
    p.add_argument("--out", required=True, metavar="CKPT", help="checkpoint file to write")
    p.set_defaults(func=cmd_train)


def recipe_from_args(args: argparse.Namespace) -> Recipe:
    """PLAIN (or RD_SMALL with --lambda), with the options the user set."""
    from aecodec.recipes import PLAIN, RD_SMALL

    base = RD_SMALL if args.lmbda is not None else PLAIN
    sizes = {name: getattr(args, name) for name in (*SIZE_OPTIONS, "gdn", "lmbda")}
    settings = {name: getattr(args, name) for name in TRAIN_OPTIONS}
    model = replace(base.model, **{k: v for k, v in sizes.items() if v is not None})
    return replace(base, model=model, patches_per_image=args.patches_per_image,
                   **{k: v for k, v in settings.items() if v is not None})


def cmd_train(args: argparse.Namespace) -> None:
    import torch

    from aecodec.data import load_folder, load_samples
    from aecodec.training import fit

    recipe = recipe_from_args(args)
    images = load_folder(args.data) if args.data else load_samples()
    print(f"training on {len(images)} images from {args.data or 'the embedded sample photos'}",
          file=sys.stderr)
    torch.manual_seed(args.seed)
    model = recipe.build()
    steps = 2000 if args.steps is None and args.minutes is None else args.steps
    start = time.perf_counter()
    history = fit(model, recipe.dataset(list(images.values()), seed=args.seed), steps=steps,
                  minutes=args.minutes, checkpoint=args.out, save_every=args.save_every,
                  resume=args.resume, recipe=recipe.as_dict(), seed=args.seed,
                  device=args.device, num_workers=args.workers, **recipe.fit_settings())
    if os.environ.get("RANK", "0") != "0":
        return  # under torchrun, the first process reports
    tail = history["loss"][-50:]
    print(f"done: {len(history['loss'])} steps, final loss {sum(tail) / len(tail):.5f} "
          f"(mean of last {len(tail)}), {(time.perf_counter() - start) / 60:.1f} min; "
          f"saved {args.out}")


def add_reconstruct(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", required=True, metavar="CKPT")
    p.add_argument("input", metavar="IN", help="image file to read")
    p.add_argument("output", metavar="OUT", help="image file to write (.png keeps it exact)")
    p.set_defaults(func=cmd_reconstruct)


def cmd_reconstruct(args: argparse.Namespace) -> None:
    import torch

    from aecodec.checkpoint import load_model
    from aecodec.images import load_image, save_image
    from aecodec.latents8bit import reconstruct_8bit
    from aecodec.metrics import psnr

    model = load_model(args.model)
    x = load_image(args.input)[None]  # (1, 3, H, W)
    with torch.no_grad():
        x_hat, num_bytes = reconstruct_8bit(model, x)  # latents stored in 8 bits, as counted
    save_image(x_hat[0], args.output)
    height, width = x.shape[-2:]
    c, h, w = model.latent_shape(height, width)
    print(f"{args.input} ({width}x{height}) -> {args.output}")
    print(f"PSNR {psnr(x, x_hat):.2f} dB")
    print(f"latent y: {c}x{h}x{w} = {c * h * w} values, {num_bytes} bytes in 8 bits; "
          f"compression ratio {model.compression_ratio(height, width):.1f}:1 "
          "(8-bit pixels vs 8-bit latent values)")


def add_info(p: argparse.ArgumentParser) -> None:
    p.add_argument("checkpoint", metavar="CKPT")
    p.set_defaults(func=cmd_info)


def cmd_info(args: argparse.Namespace) -> None:
    from aecodec.checkpoint import load_checkpoint, load_model

    state = load_checkpoint(args.checkpoint)
    model = load_model(args.checkpoint)
    training = state.get("training") or {}
    c, h, w = model.latent_shape(512, 768)
    print(f"checkpoint: {args.checkpoint}")
    for key, value in state["config"].items():
        print(f"  {key}: {value}")
    print(f"  parameters: {sum(p.numel() for p in model.parameters()):,}")
    print(f"  trained steps: {training.get('step', 'unknown')}")
    print(f"  latent for a 768x512 image: {c}x{h}x{w} = {c * h * w} values, "
          f"compression ratio {model.compression_ratio(512, 768):.1f}:1")


# --- evaluation, data, the shipped families, the classroom ----------------------------


def add_evaluate(p: argparse.ArgumentParser) -> None:
    p.add_argument("--images", default=None, metavar="DIR",
                   help="folder of test images (default: Kodak, from $AECODEC_KODAK)")
    p.add_argument("--models", nargs="+", default=None, metavar="CKPT",
                   help="models to evaluate (default: the shipped ones)")
    p.add_argument("--plain", action="store_true",
                   help="plain autoencoders with 8-bit latents, beside the best JPEG no larger")
    p.add_argument("--out", default="results", metavar="DIR",
                   help="folder for the results (results.json, results.md and rd.png; "
                   "plain.json and plain.md with --plain)")
    p.set_defaults(func=cmd_evaluate)


def cmd_evaluate(args: argparse.Namespace) -> None:
    from aecodec import zoo
    from aecodec.checkpoint import load_model
    from aecodec.data import load_folder
    from aecodec.evaluation import (
        codec_runs,
        evaluate_codecs,
        evaluate_plain_models,
        plain_markdown,
        rd_figure,
        results_markdown,
    )
    from aecodec.kodak import load_kodak
    from aecodec.recipes import PLAIN_LATENT_CHANNELS
    from aecodec.viz import figure_to_png

    images = load_folder(args.images) if args.images else load_kodak()
    out = Path(args.out)
    if args.plain:
        models = ({Path(p).stem: load_model(p) for p in args.models} if args.models else
                  {f"C={c}": zoo.load_plain(c) for c in PLAIN_LATENT_CHANNELS})
        rows = evaluate_plain_models(images, models)
        files = {"plain.json": json.dumps(rows, indent=1), "plain.md": plain_markdown(rows)}
    else:
        if args.models:
            models, others = {Path(p).stem: _codec(p) for p in args.models}, {}
        else:  # each shipped family a curve of its own ("aecodec": the factorized one)
            families = [f for f in zoo.shipped_families() if f != "factorized"]
            models = zoo.load_codecs("factorized")
            others = {zoo.CURVES[f]: codec_runs(zoo.load_codecs(f)) for f in families}
        results = evaluate_codecs(images, models, others=others)
        files = {"results.json": json.dumps(results, indent=1),
                 "results.md": results_markdown(results)}
        with atomic_write(out / "rd.png") as f:
            f.write(figure_to_png(rd_figure(results, f"{len(images)} images"), dpi=100))
    for name, text in files.items():
        with atomic_write(out / name) as f:
            f.write(text.encode())
    print(files["plain.md" if args.plain else "results.md"])
    print(f"\nwritten to {out}: {', '.join(files)}{'' if args.plain else ', rd.png'}")


def add_download_kodak(p: argparse.ArgumentParser) -> None:
    from aecodec.kodak import KODAK_URL

    p.add_argument("dest", metavar="DIR", help="folder to put them in, e.g. data/kodak")
    p.add_argument("--url", default=KODAK_URL, help="where to fetch from")
    p.set_defaults(func=cmd_download_kodak)


def cmd_download_kodak(args: argparse.Namespace) -> None:
    from aecodec.kodak import download_kodak

    dest = download_kodak(args.dest, base_url=args.url)
    print(f"Kodak images verified in {dest}")


def add_zoo_train(p: argparse.ArgumentParser) -> None:
    from aecodec.catalogue import PLAIN_STEPS

    p.add_argument("--data", required=True, metavar="DIR", help="training photos")
    p.add_argument("--out-dir", default=None, help="default: the shipped models' folder")
    p.add_argument("--steps", type=positive_int, default=PLAIN_STEPS,
                   help=f"steps per model (default: {PLAIN_STEPS})")
    p.add_argument("--threads", type=positive_int, default=None, help="torch CPU threads")
    p.set_defaults(func=cmd_zoo_train)


def cmd_zoo_train(args: argparse.Namespace) -> None:
    import torch

    from aecodec import zoo
    from aecodec.recipes import train_plain_family

    if args.threads:
        torch.set_num_threads(args.threads)
    train_plain_family(args.data, args.out_dir or zoo.models_dir(), steps=args.steps)


def add_zoo_train_rd(p: argparse.ArgumentParser) -> None:
    from aecodec.catalogue import RD_MINUTES, RECIPE_SETTINGS

    p.add_argument("--data", required=True, metavar="DIR", help="training photos")
    p.add_argument("--out-dir", default=None,
                   help="where to write rd_lambda*.pt (default: the shipped models' folder)")
    p.add_argument("--threads", type=positive_int, default=None, help="torch CPU threads")
    p.add_argument("--minutes", type=positive_float, default=RD_MINUTES,
                   help=f"time budget for the whole curve (default: {RD_MINUTES})")
    for name, (metavar, text) in SIZE_OPTIONS.items():  # the rest of the recipe is fixed
        default = RECIPE_SETTINGS["RD_WIDE"][name]
        p.add_argument(option(name), type=positive_int, default=default, metavar=metavar,
                       help=f"{text} (default: {default})")
    p.set_defaults(func=cmd_zoo_train_rd)


def cmd_zoo_train_rd(args: argparse.Namespace) -> None:
    import torch

    from aecodec import zoo
    from aecodec.recipes import RD_WIDE, train_rd_family

    if args.threads:
        torch.set_num_threads(args.threads)
    model = replace(RD_WIDE.model, **{name: getattr(args, name) for name in SIZE_OPTIONS})
    train_rd_family(args.data, args.out_dir or zoo.models_dir(), minutes=args.minutes,
                    recipe=replace(RD_WIDE, model=model))


def add_zoo_train_hp(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", required=True, metavar="DIR", help="training photos")
    p.add_argument("--out-dir", default=None,
                   help="where to write hp_lambda*.pt (default: the shipped models' folder)")
    p.add_argument("--threads", type=positive_int, default=None, help="torch CPU threads")
    p.add_argument("--minutes", type=positive_float, required=True,
                   help="time budget for the whole family (a quarter for each lambda); "
                   "run again to continue an interrupted family")
    p.set_defaults(func=cmd_zoo_train_hp)


def cmd_zoo_train_hp(args: argparse.Namespace) -> None:
    import torch

    from aecodec import zoo
    from aecodec.recipes import train_hyperprior_family

    if args.threads:
        torch.set_num_threads(args.threads)
    train_hyperprior_family(args.data, zoo.models_dir(), args.out_dir or zoo.models_dir(),
                            minutes=args.minutes)


def add_zoo_train_vr(p: argparse.ArgumentParser) -> None:
    from aecodec.catalogue import VARIABLE_RATE_MINUTES

    p.add_argument("--data", required=True, metavar="DIR", help="training photos")
    p.add_argument("--out", default=None, metavar="FILE",
                   help="the trained model (default: vr_hyperprior.pt in the shipped models' "
                   "folder)")
    p.add_argument("--threads", type=positive_int, default=None, help="torch CPU threads")
    p.add_argument("--minutes", type=positive_float, default=VARIABLE_RATE_MINUTES,
                   help=f"time budget (default {VARIABLE_RATE_MINUTES}); interrupted, run the "
                   "same command again to continue")
    p.set_defaults(func=cmd_zoo_train_vr)


def cmd_zoo_train_vr(args: argparse.Namespace) -> None:
    import torch

    from aecodec import zoo
    from aecodec.recipes import train_variable_rate_model

    if args.threads:
        torch.set_num_threads(args.threads)
    out = Path(args.out) if args.out else zoo.variable_rate_path()
    train_variable_rate_model(args.data, out, minutes=args.minutes)
    print(f"wrote {out}")


def add_zoo_train_default(p: argparse.ArgumentParser) -> None:
    from aecodec.catalogue import RECIPE_SETTINGS

    batch, patch, lr = (RECIPE_SETTINGS["DEFAULT_CODEC"][k]
                        for k in ("batch_size", "patch_size", "lr"))
    p.add_argument("--data", required=True, metavar="DIR", help="training photos")
    p.add_argument("--out", default=None, metavar="FILE",
                   help="the trained model (default: vr_context.pt in the shipped models' "
                   "folder)")
    p.add_argument("--start", default=None, metavar="CKPT",
                   help="a variable-rate hyperprior to warm-start from, or a default codec to "
                   "go on training (default: the shipped vr_hyperprior.pt)")
    p.add_argument("--minutes", type=positive_float, required=True,
                   help="time budget of the whole job; interrupted, run the same command "
                   "again to continue")
    p.add_argument("--device", default=None, help="cpu or cuda (default: cuda if there is one)")
    p.add_argument("--threads", type=positive_int, default=None, help="torch CPU threads")
    p.add_argument("--batch-size", type=positive_int, default=None,
                   help=f"patches per step (default: the recipe's {batch})")
    p.add_argument("--patch-size", type=positive_int, default=None,
                   help=f"side of the patches (default: the recipe's {patch})")
    p.add_argument("--lr", type=positive_float, default=None,
                   help=f"peak learning rate (default: the recipe's {lr:g}; lower it to "
                   "fine-tune a trained default codec given as --start)")
    p.set_defaults(func=cmd_zoo_train_default)


def cmd_zoo_train_default(args: argparse.Namespace) -> None:
    import torch

    from aecodec import zoo
    from aecodec.recipes import train_default_codec

    if args.threads:
        torch.set_num_threads(args.threads)
    if args.device == "cuda" and not torch.cuda.is_available():
        raise AecodecError("--device cuda: PyTorch sees no CUDA GPU here")
    out = Path(args.out) if args.out else zoo.default_path()
    train_default_codec(args.data, out, minutes=args.minutes, start=args.start,
                        device=args.device, batch_size=args.batch_size,
                        patch_size=args.patch_size, lr=args.lr)
    print(f"wrote {out}")


def add_classroom(p: argparse.ArgumentParser) -> None:
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = actions.add_parser("build", help="write the notebooks with each solution replaced by "
                           "a stub raising NotImplementedError, exercise outputs cleared")
    p.add_argument("out_dir", metavar="OUT_DIR", help="folder to write them to, e.g. student")
    p.add_argument("--notebooks", default=None, metavar="DIR",
                   help="the solution notebooks (default: the course's own)")
    p.add_argument("--force", action="store_true",
                   help="overwrite student notebooks that were changed since they were built")
    p.set_defaults(func=cmd_classroom_build)


def cmd_classroom_build(args: argparse.Namespace) -> None:
    from aecodec.course import classroom

    written = classroom.build(args.out_dir, args.notebooks, overwrite=args.force)
    for path, exercises in written.items():
        print(f"wrote {path} ({exercises} exercise{'' if exercises == 1 else 's'} to do)")
    print(f"student edition of {len(written)} notebooks in {args.out_dir}")


# name: (the line `aecodec --help` shows, the function declaring its arguments)
COMMANDS = {
    "compress": ("compress an image into an .aec file", add_compress),
    "decompress": ("decode an .aec file into an image", add_decompress),
    "models": ("the shipped codecs, with their rate and quality on Kodak", add_models),
    "train": ("train an autoencoder and save a checkpoint", add_train),
    "reconstruct": ("encode and decode an image with a plain model, latents stored as 8-bit "
                    "values", add_reconstruct),
    "info": ("describe a checkpoint", add_info),
    "evaluate": ("rate-distortion of the codecs beside JPEG and WebP (or, with --plain, the "
                 "plain autoencoders beside JPEG)", add_evaluate),
    "download-kodak": ("download the 24 Kodak images, verified", add_download_kodak),
    "zoo-train": ("train the shipped plain autoencoders (recipe PLAIN)", add_zoo_train),
    "zoo-train-rd": ("train the shipped codecs (recipe RD_WIDE)", add_zoo_train_rd),
    "zoo-train-hp": ("train the hyperprior codecs (recipe HYPERPRIOR), each warm-started from "
                     "the factorized codec of its lambda", add_zoo_train_hp),
    "zoo-train-vr": ("train the variable-rate codec (recipe VARIABLE_RATE), warm-started from "
                     "the middle hyperprior codec", add_zoo_train_vr),
    "zoo-train-default": ("train the default codec (variable rate, checkerboard context), "
                          "warm-started from the variable-rate codec", add_zoo_train_default),
    "classroom": ("the student edition of the notebooks", add_classroom),
}


def build_parser(commands: Iterable[str] = tuple(COMMANDS)) -> argparse.ArgumentParser:
    """The command line's parser.

    Args:
        commands: the commands whose arguments are declared (default: all); the others are
            listed by name and help line only, so that what they import is not imported.
    """
    parser = argparse.ArgumentParser(
        prog="aecodec", description="Learned image compression with convolutional autoencoders.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (line, add) in COMMANDS.items():
        p = sub.add_parser(name, help=line)
        if name in commands:
            add(p)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the `aecodec` command. Returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    command = next((word for word in argv if not word.startswith("-")), None)
    args = build_parser([command] if command else []).parse_args(argv)
    try:
        args.func(args)
    except AecodecError as e:
        print(f"aecodec: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("aecodec: interrupted", file=sys.stderr)
        return 130
    return 0
