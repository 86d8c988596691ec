"""The shipped models: where they are and how to load them.

Trained by `aecodec.recipes`:
    plain autoencoders  ae_c{C}_k3.pt, one per latent size C in (2, 4, 8, 16, 32): y is
                        8x smaller than x per side, so 3 * 64 / C pixel values per latent
                        value, from 96:1 (C = 2) to 6:1 (C = 32)
    context (default)   vr_context.pt (`aecodec.models.context.VariableRateCheckerboard`): one codec
                        for any lambda from 0.0009 to 0.026, `--quality 1..6` its trained
                        lambdas; it gets the whole training budget (docs/training.md)
    the course's codecs two fixed-rate families of four rate points, `--quality 1..4` from
                        the smallest files to the best quality:
                        factorized: rd_lambda{lambda}.pt (RateDistortionAutoencoder)
                        hyperprior: hp_lambda{lambda}.pt (HyperpriorAutoencoder)
                        and variable-rate: vr_hyperprior.pt (VariableRateHyperprior), one
                        codec for any lambda from 0.0018 to 0.013 (`--lambda`)

They live in the repository's data/models/ folder; an installed aecodec carries that folder
as the package `aecodec.shipped` (see pyproject.toml), read through `importlib.resources`.
Setting $AECODEC_MODELS to a folder makes aecodec use the models found there instead.
Their Kodak scores, written by `aecodec evaluate`, are in data/results/results.json.

Holds: the shipped families' constants (`PLAIN_LATENT_CHANNELS`, `RD_LAMBDAS`,
`QUALITIES`, `FAMILIES`, `ALL_FAMILIES`, `DEFAULT_QUALITIES`), `models_dir`, `load_plain`,
`load_default`, `load_codec`, `load_codecs`, `qualities`,
`find_model` (the model that wrote an .aec file), `shipped_families` and `codec_scores`
(what `aecodec models` prints). Does not hold, nor import: how they were trained
(`aecodec.recipes`, which imports this module): loading a model needs no training code.
"""

import json
import os
from importlib import resources
from pathlib import Path

from aecodec.checkpoint import load_model
from aecodec.codec import model_id
from aecodec.errors import CheckpointError
from aecodec.models import Autoencoder, Codec, VariableRateHyperprior
from aecodec.models.context import DEFAULT_LAMBDAS, VariableRateCheckerboard

MODELS_ENV = "AECODEC_MODELS"
PLAIN_LATENT_CHANNELS = (2, 4, 8, 16, 32)  # the shipped plain autoencoders' C
RD_LAMBDAS = (0.0018, 0.0035, 0.0067, 0.013)  # the shipped codecs' lambdas, low to high quality
DOWNSAMPLINGS = 3
QUALITIES = {quality: lmbda for quality, lmbda in enumerate(RD_LAMBDAS, start=1)}
DEFAULT_QUALITY = 3  # of a fixed-rate family
FAMILIES = {"factorized": "rd_lambda{}.pt", "hyperprior": "hp_lambda{}.pt"}  # fixed rate
VARIABLE_FAMILIES = ("context", "variable-rate")  # one model for a range of lambdas
ALL_FAMILIES = ("context", "variable-rate", "hyperprior", "factorized")
CURVES = {"factorized": "aecodec", "hyperprior": "aecodec hyperprior",  # in results.json
          "variable-rate": "aecodec variable rate", "context": "aecodec context"}
DEFAULT_FAMILY = "context"  # the default codec (docs/codec.md)


def _shipped() -> Path:
    return Path(str(resources.files("aecodec.shipped")))


def models_dir() -> Path:
    """Where the shipped models are: $AECODEC_MODELS if set, else the installed package's."""
    env = os.environ.get(MODELS_ENV)
    return Path(env) if env else _shipped() / "models"


def plain_path(latent_channels: int) -> Path:
    return models_dir() / f"ae_c{latent_channels}_k{DOWNSAMPLINGS}.pt"


def codec_path(lmbda: float, family: str = "hyperprior") -> Path:
    """The file of a fixed-rate family's codec of `lmbda`."""
    if family not in FAMILIES:
        raise CheckpointError(f"no codec family {family!r}: choose {' or '.join(FAMILIES)}")
    return models_dir() / FAMILIES[family].format(lmbda)


VARIABLE_RATE_FILE = "vr_hyperprior.pt"  # one hyperprior codec for every lambda


def variable_rate_path() -> Path:
    """Where the shipped variable-rate codec is (`VariableRateHyperprior`)."""
    return models_dir() / VARIABLE_RATE_FILE


def load_variable_rate() -> VariableRateHyperprior:
    """The shipped variable-rate codec (eval mode, CPU), coding at its middle lambda until
    `set_lambda` says otherwise."""
    path = variable_rate_path()
    if not path.is_file():
        raise CheckpointError(f"{path}: no variable-rate codec there; train one with "
                              "`aecodec zoo-train-vr` (docs/training.md)")
    return load_model(path)


DEFAULT_FILE = "vr_context.pt"  # the default codec: variable rate, checkerboard context
DEFAULT_QUALITIES = {quality: lmbda for quality, lmbda in enumerate(DEFAULT_LAMBDAS, start=1)}
DEFAULT_CODEC_QUALITY = 4  # lambda 0.0067, the old default's rate


def default_path() -> Path:
    """Where the default codec is (`aecodec.models.context.VariableRateCheckerboard`)."""
    return models_dir() / DEFAULT_FILE


def load_default(quality: int | None = None,
                 lmbda: float | None = None) -> VariableRateCheckerboard:
    """The default codec (eval mode, CPU): one model for every rate, coding at the lambda
    of `quality` (1 smallest files .. 6 best quality; default 4) or at `lmbda` (any
    value in its trained range 0.0009 .. 0.026).

    Args:
        quality: 1 .. 6, each a lambda it was trained at (`DEFAULT_QUALITIES`).
        lmbda: a lambda instead of a quality.
    """
    path = default_path()
    if not path.is_file():
        raise CheckpointError(f"{path}: no default codec there; train one with "
                              "`aecodec zoo-train-default` (docs/training.md)")
    if quality is not None and quality not in DEFAULT_QUALITIES:
        raise CheckpointError(f"no shipped codec of quality {quality}: choose 1 (smallest "
                              f"files) to {len(DEFAULT_QUALITIES)} (best quality)")
    model = load_model(path)
    if lmbda is None:
        lmbda = DEFAULT_QUALITIES[quality or DEFAULT_CODEC_QUALITY]
    model.set_lambda(lmbda)
    return model


def shipped_families() -> list[str]:
    """The codec families whose models are in `models_dir()`, the default first."""
    present = {"context": default_path().is_file(),
               "variable-rate": variable_rate_path().is_file()}
    for family in FAMILIES:
        present[family] = all(codec_path(lmbda, family).is_file() for lmbda in RD_LAMBDAS)
    return [family for family in ALL_FAMILIES if present[family]]


def load_plain(latent_channels: int) -> Autoencoder:
    """A shipped plain autoencoder (eval mode, CPU).

    Args:
        latent_channels: C, one of 2, 4, 8, 16, 32.
    """
    if latent_channels not in PLAIN_LATENT_CHANNELS:
        raise CheckpointError(f"no shipped plain model with C={latent_channels}; shipped: "
                              f"C = {', '.join(map(str, PLAIN_LATENT_CHANNELS))}")
    return load_model(plain_path(latent_channels))


def qualities(family: str = DEFAULT_FAMILY) -> dict[int, float]:
    """A family's qualities: {quality: lambda}, 1 the smallest files."""
    _check_family(family)
    if family == "context":
        return DEFAULT_QUALITIES
    if family == "variable-rate":
        return {q: lmbda for q, lmbda in enumerate(load_variable_rate().config.lambdas, 1)}
    return QUALITIES


def default_quality(family: str = DEFAULT_FAMILY) -> int:
    """The quality a family codes at when none is asked for (lambda 0.0067)."""
    return DEFAULT_CODEC_QUALITY if family == "context" else DEFAULT_QUALITY


def _check_family(family: str) -> None:
    if family not in ALL_FAMILIES:
        raise CheckpointError(f"no codec family {family!r}: choose one of "
                              f"{', '.join(ALL_FAMILIES)}")


def load_codec(quality: int | None = None, family: str = DEFAULT_FAMILY,
               lmbda: float | None = None) -> Codec:
    """A shipped codec (eval mode, CPU): by default the default codec at quality 4.

    Args:
        quality: 1 (smallest files) to 6 for "context", 1 to 4 for the others; default
            `default_quality(family)`.
        family: "context" (the default codec), "variable-rate", "hyperprior" or
            "factorized".
        lmbda: for the variable-rate families, any lambda in the model's range instead of
            a quality.
    """
    _check_family(family)
    if lmbda is not None and quality is not None:
        raise CheckpointError("a quality and a lambda both pick a rate: give one or the other")
    if family == "context":
        return load_default(quality, lmbda)
    if family == "variable-rate":
        model = load_variable_rate()
        if lmbda is None:
            lmbda = _quality_lambda(qualities(family), quality, family)
        if not model.in_range(lmbda):
            raise CheckpointError(f"lambda {lmbda} is outside the variable-rate codec's "
                                  f"trained range {model.config.lambdas[0]} to "
                                  f"{model.config.lambdas[-1]}")
        model.set_lambda(lmbda)
        return model
    if lmbda is not None:
        raise CheckpointError(f"the {family} codecs are fixed-rate: they have no lambda knob; "
                              "the context and variable-rate codecs do")
    return load_model(codec_path(_quality_lambda(QUALITIES, quality, family), family))


def _quality_lambda(table: dict[int, float], quality: int | None, family: str) -> float:
    quality = default_quality(family) if quality is None else quality
    if quality not in table:
        raise CheckpointError(f"no shipped codec of quality {quality} in the {family} family: "
                              f"choose 1 (smallest files) to {len(table)} (best quality)")
    return table[quality]


def load_codecs(family: str = DEFAULT_FAMILY) -> dict[str, Codec]:
    """A family as {"lambda=...": model}, low to high quality (a variable-rate family:
    one model per quality, each set to its lambda)."""
    return {f"lambda={lmbda}": (load_codec(lmbda=lmbda, family=family)
                                if family in VARIABLE_FAMILIES else
                                load_model(codec_path(lmbda, family)))
            for lmbda in qualities(family).values()}


def find_model(ident: bytes) -> Codec:
    """The shipped codec whose `codec.model_id` is `ident`."""
    for path in sorted(models_dir().glob("*.pt")):
        try:
            model = load_model(path)
        except CheckpointError:
            continue
        if isinstance(model, Codec) and model_id(model) == ident:
            return model
    raise CheckpointError(f"no shipped model made this file (model id {ident.hex()}); "
                          "pass the one that did with --model")


def codec_scores(family: str = DEFAULT_FAMILY) -> list[dict]:
    """Each quality's lambda, and mean bpp and PSNR on Kodak, from the results
    `aecodec evaluate` stored (data/results/results.json); [] if none are stored."""
    results = json.loads((_shipped() / "results" / "results.json").read_text())
    points = {p["setting"]: p for p in results["curves"].get(CURVES[family], [])}
    rows = []
    for quality, lmbda in qualities(family).items():
        point = points.get(f"lambda={lmbda}")
        if point is None:
            return []
        rows.append(dict(quality=quality, lmbda=lmbda, bpp=point["bpp"], psnr=point["psnr"],
                         ms_ssim=point["ms_ssim"], images=len(point["images"])))
    return rows
