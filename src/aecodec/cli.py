"""The `aecodec` command: train, reconstruct, compress, decompress, info, download-kodak,
zoo-train, zoo-table, classroom build.

Each subcommand is a small function that parses nothing itself: `build_parser` declares
the arguments, `main` dispatches and turns user mistakes (`AecodecError`) into one line on
stderr and exit status 1, with no traceback.
"""

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import torch

from aecodec._atomic import atomic_write
from aecodec.checkpoint import load_checkpoint, load_model
from aecodec.codec import compress, decompress, read_header
from aecodec.data import PatchDataset, load_folder, load_samples
from aecodec.errors import AecodecError
from aecodec.images import load_image, save_image
from aecodec.kodak import KODAK_URL, download_kodak
from aecodec.metrics import bpp, psnr
from aecodec.models import (
    Autoencoder,
    AutoencoderConfig,
    RateDistortionAutoencoder,
    RateDistortionConfig,
)
from aecodec.quantize import reconstruct_8bit
from aecodec.training import RD_RECIPE, RD_RECIPE_WIDE, fit
from aecodec.zoo import RD_MINUTES, find_model


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
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


def build_model(args: argparse.Namespace) -> Autoencoder:
    """A plain `Autoencoder`, or a `RateDistortionAutoencoder` when --lambda is given;
    unset sizes take that model's defaults."""
    cls, config = Autoencoder, AutoencoderConfig()
    if args.lmbda is not None:
        cls, config = RateDistortionAutoencoder, RateDistortionConfig(lmbda=args.lmbda)
    sizes = {name: getattr(args, name) for name in (*SIZE_OPTIONS, "gdn")}
    settings = {**vars(config), **{k: v for k, v in sizes.items() if v is not None}}
    return cls(**settings)


# The model-size options of `aecodec train` and `aecodec zoo-train-rd`: metavar, help
SIZE_OPTIONS = dict(latent_channels=("C", "channels of the latent y"),
                    downsamplings=("K", "stride-2 layers: y is 2^K times smaller per side"),
                    hidden_channels=("N", "width of the hidden layers"))


def option(name: str) -> str:
    """The command-line flag of a setting: latent_channels -> --latent-channels."""
    return "--" + name.replace("_", "-")


# `aecodec train` without --lambda; with --lambda, unset options come from RD_RECIPE
# (None: the plain `AutoencoderConfig`'s default)
PLAIN_RECIPE = dict(latent_channels=None, downsamplings=None, hidden_channels=None, gdn=None,
                    batch_size=16, patch_size=128, lr=1e-3, warmup=0.0, clip_norm=None)


def fill_in_recipe(args: argparse.Namespace) -> argparse.Namespace:
    """Options left unset take the plain recipe's values, or RD_RECIPE's with --lambda."""
    recipe = RD_RECIPE if args.lmbda is not None else PLAIN_RECIPE
    for name in PLAIN_RECIPE:  # clip_norm has no option: it always comes from the recipe
        if getattr(args, name, None) is None:
            setattr(args, name, recipe[name])
    return args


class DefaultsHelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows each option's default, except None: those options say theirs in words."""

    def _get_help_string(self, action: argparse.Action) -> str:
        return action.help if action.default is None else super()._get_help_string(action)


def recipe_defaults(name: str) -> str:
    """Help text for an option `fill_in_recipe` fills in: its plain default and RD_RECIPE's."""
    plain = PLAIN_RECIPE[name]
    if plain is None:
        plain = getattr(AutoencoderConfig(), name)
    return f"(default: {plain}, or RD_RECIPE's {RD_RECIPE[name]} with --lambda)"


def cmd_train(args: argparse.Namespace) -> None:
    args = fill_in_recipe(args)
    data = getattr(args, "data", None)
    images = load_folder(data) if data else load_samples()
    source = data or "the embedded sample photos"
    print(f"training on {len(images)} images from {source}", file=sys.stderr)
    dataset = PatchDataset(list(images.values()), args.patch_size, args.patches_per_image,
                           seed=args.seed)
    torch.manual_seed(args.seed)
    model = build_model(args)
    start = time.perf_counter()
    steps = 2000 if args.steps is None and args.minutes is None else args.steps
    history = fit(model, dataset, steps=steps, minutes=args.minutes,
                  batch_size=args.batch_size, lr=args.lr, warmup=args.warmup,
                  clip_norm=args.clip_norm, checkpoint=args.out, save_every=args.save_every,
                  resume=args.resume, seed=args.seed, device=getattr(args, "device", None),
                  num_workers=args.workers)
    minutes = (time.perf_counter() - start) / 60
    tail = history["loss"][-50:]
    print(f"done: {len(history['loss'])} steps, final loss {sum(tail) / len(tail):.5f} "
          f"(mean of last {len(tail)}), {minutes:.1f} min; saved {args.out}")


@torch.no_grad()
def cmd_reconstruct(args: argparse.Namespace) -> None:
    model = load_model(args.model)
    x = load_image(args.input).unsqueeze(0)  # (1, 3, H, W)
    x_hat, num_bytes = reconstruct_8bit(model, x)  # latents stored in 8 bits, as counted
    save_image(x_hat[0], args.output)
    height, width = x.shape[-2:]
    c, h, w = model.latent_shape(height, width)
    print(f"{args.input} ({width}x{height}) -> {args.output}")
    print(f"PSNR {psnr(x, x_hat):.2f} dB")
    print(f"latent y: {c}x{h}x{w} = {c * h * w} values, {num_bytes} bytes in 8 bits; "
          f"compression ratio {model.compression_ratio(height, width):.1f}:1 "
          "(8-bit pixels vs 8-bit latent values)")


def _rd_model(path) -> RateDistortionAutoencoder:
    model = load_model(path)
    if not isinstance(model, RateDistortionAutoencoder):
        raise AecodecError(f"{path}: a plain autoencoder has no entropy model to write files; "
                           "train one with `aecodec train --lambda ...`")
    return model


def cmd_compress(args: argparse.Namespace) -> None:
    model = _rd_model(args.model)
    x = load_image(args.input)  # (3, H, W)
    data = compress(model, x)
    with atomic_write(args.output) as f:
        f.write(data)
    height, width = x.shape[-2:]
    print(f"{args.input} ({width}x{height}) -> {args.output}: {len(data):,} bytes, "
          f"{bpp(len(data), height, width):.4f} bpp, ratio {3 * height * width / len(data):.1f}:1 "
          "against raw 8-bit RGB")


def cmd_decompress(args: argparse.Namespace) -> None:
    data = read_file(args.input)
    header = read_header(data)
    model = _rd_model(args.model) if args.model else find_model(header["model_id"])
    x_hat = decompress(model, data)
    save_image(x_hat[0], args.output)
    height, width = header["height"], header["width"]
    print(f"{args.input} ({len(data):,} bytes, {bpp(len(data), height, width):.4f} bpp) -> "
          f"{args.output} ({width}x{height})")


def read_file(path) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        raise AecodecError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise AecodecError(f"{path}: is a folder, not a file") from None


def cmd_info(args: argparse.Namespace) -> None:
    state = load_checkpoint(args.checkpoint)
    model = load_model(args.checkpoint)
    training = state.get("training") or {}
    params = sum(p.numel() for p in model.parameters())
    c, h, w = model.latent_shape(512, 768)
    print(f"checkpoint: {args.checkpoint}")
    for key, value in state["config"].items():
        print(f"  {key}: {value}")
    print(f"  parameters: {params:,}")
    print(f"  trained steps: {training.get('step', 'unknown')}")
    print(f"  latent for a 768x512 image: {c}x{h}x{w} = {c * h * w} values, "
          f"compression ratio {model.compression_ratio(512, 768):.1f}:1")


def cmd_download_kodak(args: argparse.Namespace) -> None:
    dest = download_kodak(args.dest, base_url=args.url)
    print(f"Kodak images verified in {dest}")


def cmd_zoo_train(args: argparse.Namespace) -> None:
    from aecodec import zoo

    if args.threads:
        torch.set_num_threads(args.threads)
    zoo.train_shipped(args.data, args.out_dir, steps=args.steps)


def cmd_zoo_table(args: argparse.Namespace) -> None:
    import json

    from aecodec import zoo
    from aecodec._atomic import atomic_write
    from aecodec.kodak import load_kodak

    rows = zoo.kodak_results(load_kodak(args.kodak))
    print(zoo.results_table(rows))
    if args.json:
        with atomic_write(args.json) as f:
            f.write(json.dumps(rows, indent=1).encode())


def cmd_evaluate(args: argparse.Namespace) -> None:
    import json

    from aecodec import zoo
    from aecodec.data import load_folder
    from aecodec.evaluation import evaluate_codecs, rd_figure, results_markdown
    from aecodec.kodak import load_kodak
    from aecodec.viz import figure_to_png

    images = load_folder(args.images) if args.images else load_kodak()
    if args.models:
        models = {Path(p).stem: _rd_model(p) for p in args.models}
    else:
        models = zoo.load_shipped_rd()
    results = evaluate_codecs(images, models)
    out = Path(args.out)
    markdown = results_markdown(results)
    with atomic_write(out / "results.json") as f:
        f.write(json.dumps(results, indent=1).encode())
    with atomic_write(out / "results.md") as f:
        f.write(markdown.encode())
    with atomic_write(out / "rd.png") as f:
        f.write(figure_to_png(rd_figure(results, f"{len(images)} images"), dpi=100))
    print(markdown)
    print(f"\nwritten: {out / 'results.json'}, {out / 'results.md'}, {out / 'rd.png'}")


def cmd_zoo_train_rd(args: argparse.Namespace) -> None:
    from aecodec import zoo

    if args.threads:
        torch.set_num_threads(args.threads)
    sizes = {name: getattr(args, name) for name in SIZE_OPTIONS}
    zoo.train_shipped_rd(args.data, args.out_dir, minutes=args.minutes,
                         recipe=dict(RD_RECIPE_WIDE, **sizes))


def cmd_classroom_build(args: argparse.Namespace) -> None:
    from aecodec import classroom

    written = classroom.build(args.out_dir, args.notebooks, overwrite=args.force)
    for path, exercises in written.items():
        print(f"wrote {path} ({exercises} exercise{'' if exercises == 1 else 's'} to do)")
    print(f"student edition of {len(written)} notebooks in {args.out_dir}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="aecodec", description="Learned image compression with convolutional autoencoders."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("train", help="train an autoencoder and save a checkpoint",
                       formatter_class=DefaultsHelpFormatter)
    p.add_argument("--data", metavar="DIR", default=argparse.SUPPRESS,
                   help="folder of PNG/JPEG images (default: the embedded sample photos)")
    p.add_argument("--lambda", dest="lmbda", type=positive_float, default=None,
                   help="train a rate-distortion model (a real codec) with loss "
                   "lambda * 255^2 * MSE + bpp; without it, a plain autoencoder")
    for name, (metavar, text) in SIZE_OPTIONS.items():
        p.add_argument(option(name), type=positive_int, default=None, metavar=metavar,
                       help=f"{text} {recipe_defaults(name)}")
    p.add_argument("--gdn", action=argparse.BooleanOptionalAction, default=None,
                   help="GDN instead of ReLU between layers (default: only with --lambda)")
    p.add_argument("--steps", type=positive_int, default=None, metavar="N",
                   help="optimizer steps (default: 2000, or as many as fit in --minutes)")
    p.add_argument("--minutes", type=positive_float, default=None, metavar="M",
                   help="a wall-clock budget: the learning-rate schedule follows the clock "
                   "and training stops and saves when the time is up")
    p.add_argument("--batch-size", type=positive_int, default=None, metavar="N",
                   help="patches per step " + recipe_defaults("batch_size"))
    p.add_argument("--patch-size", type=positive_int, default=None, metavar="PX",
                   help="side of the random square training patches "
                   + recipe_defaults("patch_size"))
    p.add_argument("--patches-per-image", type=positive_int, default=8, metavar="N",
                   help="patches cut from each image per epoch")
    p.add_argument("--lr", type=positive_float, default=None,
                   help="peak learning rate " + recipe_defaults("lr"))
    p.add_argument("--warmup", type=fraction, default=None, metavar="F",
                   help="fraction of the budget spent warming the learning rate up "
                   + recipe_defaults("warmup"))
    p.add_argument("--seed", type=int, default=0, help="seed of weights, patches and order")
    p.add_argument("--save-every", type=positive_int, default=500, metavar="N",
                   help="steps between checkpoints")
    p.add_argument("--resume", action="store_true", help="continue from --out if it exists")
    p.add_argument("--workers", type=int, default=0, metavar="N",
                   help="data loader worker processes")
    p.add_argument("--device", default=argparse.SUPPRESS,
                   help="cpu, cuda or mps (default: the best one found)")
    p.add_argument("--out", required=True, metavar="CKPT", help="checkpoint file to write")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("reconstruct", help="encode and decode an image with a model")
    p.add_argument("--model", required=True, metavar="CKPT")
    p.add_argument("input", metavar="IN", help="image file to read")
    p.add_argument("output", metavar="OUT", help="image file to write (.png keeps it exact)")
    p.set_defaults(func=cmd_reconstruct)

    p = sub.add_parser("compress", help="compress an image into an .aec file")
    p.add_argument("input", metavar="IN", help="image file (PNG, JPEG, ...)")
    p.add_argument("output", metavar="OUT", help=".aec file to write")
    p.add_argument("--model", required=True, metavar="CKPT",
                   help="a rate-distortion model (trained with --lambda)")
    p.set_defaults(func=cmd_compress)

    p = sub.add_parser("decompress", help="decode an .aec file into an image")
    p.add_argument("input", metavar="IN", help=".aec file")
    p.add_argument("output", metavar="OUT", help="image to write (.png keeps it exact)")
    p.add_argument("--model", default=None, metavar="CKPT",
                   help="the model that wrote the file (default: found among the shipped "
                   "models by the id in the file)")
    p.set_defaults(func=cmd_decompress)

    p = sub.add_parser("info", help="describe a checkpoint")
    p.add_argument("checkpoint", metavar="CKPT")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("download-kodak", help="download the 24 Kodak images, verified")
    p.add_argument("dest", metavar="DIR", help="folder to put them in, e.g. data/kodak")
    p.add_argument("--url", default=KODAK_URL, help="where to fetch from")
    p.set_defaults(func=cmd_download_kodak)

    p = sub.add_parser("zoo-train", help="train the shipped model family (the fixed recipe)")
    p.add_argument("--data", required=True, metavar="DIR", help="training photos")
    p.add_argument("--out-dir", default=None, help="default: data/models")
    p.add_argument("--steps", type=positive_int, default=3000, help="steps per model")
    p.add_argument("--threads", type=positive_int, default=None, help="torch CPU threads")
    p.set_defaults(func=cmd_zoo_train)

    p = sub.add_parser("zoo-train-rd", help="train the shipped rate-distortion family",
                       formatter_class=DefaultsHelpFormatter)
    p.add_argument("--data", required=True, metavar="DIR", help="training photos")
    p.add_argument("--out-dir", default=None,
                   help="where to write rd_lambda*.pt (default: data/models)")
    p.add_argument("--threads", type=positive_int, default=None, help="torch CPU threads")
    p.add_argument("--minutes", type=positive_float, default=RD_MINUTES,
                   help="time budget for the whole curve")
    for name, (metavar, text) in SIZE_OPTIONS.items():  # the rest of the recipe is fixed
        p.add_argument(option(name), type=positive_int, default=RD_RECIPE_WIDE[name],
                       metavar=metavar, help=text)
    p.set_defaults(func=cmd_zoo_train_rd)

    p = sub.add_parser("evaluate", help="rate-distortion of the models beside JPEG and WebP")
    p.add_argument("--images", default=None, metavar="DIR",
                   help="folder of test images (default: Kodak, from $AECODEC_KODAK)")
    p.add_argument("--models", nargs="+", default=None, metavar="CKPT",
                   help="rate-distortion models (default: the shipped family)")
    p.add_argument("--out", default="results", metavar="DIR",
                   help="folder for results.json, results.md and rd.png")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("zoo-table", help="score the shipped models on Kodak, beside JPEG")
    p.add_argument("--kodak", default=None, metavar="DIR", help="default: $AECODEC_KODAK")
    p.add_argument("--json", default=None, metavar="FILE", help="also write the numbers here")
    p.set_defaults(func=cmd_zoo_table)

    p = sub.add_parser("classroom", help="the student edition of the notebooks")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = actions.add_parser("build", help="write the notebooks with each solution replaced by "
                           "a stub raising NotImplementedError, exercise outputs cleared")
    p.add_argument("out_dir", metavar="OUT_DIR", help="folder to write them to, e.g. student")
    p.add_argument("--notebooks", default=None, metavar="DIR",
                   help="the solution notebooks (default: notebooks/ of this checkout)")
    p.add_argument("--force", action="store_true",
                   help="overwrite student notebooks that were changed since they were built")
    p.set_defaults(func=cmd_classroom_build)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the `aecodec` command. Returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except AecodecError as e:
        print(f"aecodec: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("aecodec: interrupted", file=sys.stderr)
        return 130
    return 0
