"""Every training recipe in one place, and the training of the shipped model families.

A `Recipe` is a model config plus the settings `fit` trains it with. The recipes:
    PLAIN     the plain autoencoders (`aecodec train` without --lambda; the shipped
              ae_c{C}_k3.pt files, one per latent size in PLAIN_LATENT_CHANNELS, each
              trained PLAIN_STEPS steps)
    RD_SMALL  a rate-distortion codec that learns fast: minutes on a CPU (`aecodec train
              --lambda`, notebook 07's 2-minute codec, `make bench-recipe`)
    RD_WIDE   the shipped codecs: wider, slower to learn, better after an hour or more
              (the rd_lambda{lambda}.pt files, one per lambda in RD_LAMBDAS, RD_MINUTES
              for the whole curve)
    HYPERPRIOR  hyperprior codecs warm-started from the RD_WIDE ones (hp_lambda{lambda}.pt)
    VARIABLE_RATE  one hyperprior codec for every lambda, warm-started from the middle
              HYPERPRIOR one (vr_hyperprior.pt)
The measurements behind these choices are in docs/training.md.

Holds: the recipes, `train_plain_family` (`aecodec zoo-train`), `train_rd_curve` (a whole
rate-distortion curve for one time budget), `train_rd_family` (`aecodec zoo-train-rd`),
`train_hyperprior` and `train_hyperprior_family` (`aecodec zoo-train-hp`),
`train_variable_rate` (`aecodec zoo-train-vr`).
Does not hold: the loop itself (`aecodec.training.fit`) or where the shipped files live
(`aecodec.zoo`).
"""

import copy
import math
import os
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch

from aecodec import zoo
from aecodec.catalogue import PLAIN_STEPS, RD_MINUTES, VARIABLE_RATE_MINUTES  # the budgets
from aecodec.checkpoint import load_checkpoint, load_model, save_checkpoint
from aecodec.data import PatchDataset, load_folder
from aecodec.entropy import build_coding_tables
from aecodec.models import (
    Autoencoder,
    AutoencoderConfig,
    HyperpriorAutoencoder,
    HyperpriorConfig,
    RateDistortionAutoencoder,
    RateDistortionConfig,
    VariableRateConfig,
    VariableRateHyperprior,
    build_model,
)
from aecodec.models.context import DEFAULT_LAMBDAS, ContextConfig
from aecodec.training import TrainingState, fit, training_record
from aecodec.zoo import PLAIN_LATENT_CHANNELS, RD_LAMBDAS  # noqa: F401  (the shipped families')


@dataclass(frozen=True)
class Recipe:
    """A model and how to train it.

    Args:
        model: the model's config (`RateDistortionConfig` for a codec).
        batch_size: patches per step.
        patch_size: side of the random square training patches, in pixels.
        patches_per_image: patches cut from each photo per epoch.
        lr: peak learning rate (see `aecodec.training.learning_rate`).
        warmup: fraction of the budget spent warming the learning rate up.
        clip_norm: cap on the gradient norm, or None.
    """

    model: AutoencoderConfig
    batch_size: int
    patch_size: int
    patches_per_image: int = 8
    lr: float = 1e-3
    warmup: float = 0.0
    clip_norm: float | None = None

    def build(self, **changes) -> Autoencoder:
        """An untrained model of this recipe, with `changes` to its config (e.g. lmbda=)."""
        return build_model(replace(self.model, **changes))

    def dataset(self, images: list[torch.Tensor], seed: int = 0) -> PatchDataset:
        """This recipe's training patches from photos x (3, H, W)."""
        return PatchDataset(images, self.patch_size, self.patches_per_image, seed=seed)

    def fit_settings(self) -> dict:
        """The keyword arguments of `fit` that this recipe sets."""
        return dict(batch_size=self.batch_size, lr=self.lr, warmup=self.warmup,
                    clip_norm=self.clip_norm)

    def as_dict(self) -> dict:
        """Plain data, as stored in checkpoints."""
        return asdict(self)


PLAIN = Recipe(AutoencoderConfig(), batch_size=16, patch_size=128)

# The classroom recipe, chosen by measurement on a 2-core CPU: a small model that takes many
# quick steps on small patches learns faster per minute than a big one on big patches, and
# a high learning rate (7e-3; the shipped models used 2e-3) gets further in 12 minutes.
RD_SMALL = Recipe(RateDistortionConfig(latent_channels=32, downsamplings=3, hidden_channels=32),
                  batch_size=8, patch_size=64, lr=7e-3, warmup=0.05, clip_norm=1.0)
# For long budgets a wider model pays off: it learns more slowly but ends higher. The
# shipped models were trained at 2e-3; the higher rate was measured for 12 minutes only.
RD_WIDE = replace(RD_SMALL, model=RateDistortionConfig(latent_channels=64, hidden_channels=64),
                  lr=2e-3)


def train_plain_family(data: str | os.PathLike, out_dir: str | os.PathLike,
                       steps: int = PLAIN_STEPS,
                       channels: tuple[int, ...] = PLAIN_LATENT_CHANNELS, seed: int = 0) -> None:
    """Train the shipped plain autoencoders with `PLAIN`, one checkpoint per latent size.

    Args:
        data: a folder of training photos (the kit uses ../shared/train).
        out_dir: where to write ae_c{C}_k{k}.pt.
        steps: optimizer steps per model.
        channels: which latent sizes C to train.
        seed: seed of the weights, patches and data order.
    """
    dataset = PLAIN.dataset(list(load_folder(data).values()), seed=seed)
    for c in channels:
        torch.manual_seed(seed)
        model = PLAIN.build(latent_channels=c)
        start = time.perf_counter()
        history = fit(model, dataset, steps=steps, seed=seed, device="cpu",
                      **PLAIN.fit_settings())
        path = Path(out_dir) / f"ae_c{c}_k{model.config.downsamplings}.pt"
        _save_shipped(path, model, history, time.perf_counter() - start,
                      dict(PLAIN.as_dict(), steps=steps, seed=seed))
        print(f"C={c}: {steps} steps on {torch.get_num_threads()} thread(s) -> {path}",
              flush=True)


def curve_shares(count: int) -> list[float]:
    """How `train_rd_curve` splits one budget over `count` lambdas: half for the first
    model (trained from scratch), the other half evenly over the warm-started ones."""
    return [1.0] if count == 1 else [0.5] + [0.5 / (count - 1)] * (count - 1)


def train_rd_curve(
    images: list[torch.Tensor],
    lambdas: tuple[float, ...] = RD_LAMBDAS,
    *,
    minutes: float,
    recipe: Recipe = RD_SMALL,
    out_dir: str | os.PathLike | None = None,
    seed: int = 0,
    device: torch.device | str | None = None,
    progress: bool = True,
) -> dict[float, RateDistortionAutoencoder]:
    """A whole rate-distortion curve for one time budget, with one recipe.

    The model for the largest lambda (the most detail to learn) is trained from scratch
    for half the budget; each smaller lambda then starts from the previous model's weights
    and only has to learn to drop bits, for an equal share of the other half.

    Args:
        images: training photos x (3, H, W).
        lambdas: the points of the curve.
        minutes: the budget for the whole curve.
        recipe: the model and its training settings.
        out_dir: if given, each model is saved there as rd_lambda{lambda}.pt.
        seed: seed of the weights, patches and data order.
        device: where to train (default: `aecodec.training.default_device()`).
        progress: show progress bars.

    Returns:
        {lambda: trained model in eval mode, with its coding tables}, low to high lambda.
    """
    dataset = recipe.dataset(images, seed=seed)
    torch.manual_seed(seed)
    models, previous = {}, None
    for i, (lmbda, share) in enumerate(zip(sorted(lambdas, reverse=True),
                                           curve_shares(len(lambdas)))):
        model = recipe.build(lmbda=lmbda)
        if previous is not None:
            model.load_state_dict(previous.state_dict())  # the warm start
        start = time.perf_counter()
        history = fit(model, dataset, minutes=minutes * share, seed=seed + i, device=device,
                      progress=progress, **recipe.fit_settings())
        model.cpu().eval().prior.update_tables()
        models[lmbda] = previous = copy.deepcopy(model)
        if out_dir is not None:
            _save_shipped(Path(out_dir) / f"rd_lambda{lmbda}.pt", model, history,
                          time.perf_counter() - start,
                          dict(recipe.as_dict(), minutes=minutes * share, warm_start=i > 0))
    return dict(sorted(models.items()))


def train_rd_family(data: str | os.PathLike, out_dir: str | os.PathLike,
                    minutes: float = RD_MINUTES, recipe: Recipe = RD_WIDE) -> None:
    """Train the shipped rate-distortion curve (`aecodec zoo-train-rd`).

    Args:
        data: a folder of training photos (the kit uses ../shared/train).
        out_dir: where to write rd_lambda{lambda}.pt.
        minutes: the budget for the whole curve.
        recipe: the model and its training settings.
    """
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    train_rd_curve(list(load_folder(data).values()), RD_LAMBDAS, minutes=minutes,
                   recipe=recipe, out_dir=out_dir)


# The hyperprior codecs start from the shipped factorized ones: their encoder and decoder
# are kept, and the new hyper path (hyper_encoder, hyper_decoder, z_prior) first learns,
# with them frozen, to predict their latents; then everything fine-tunes, the warm-started
# transforms at a tenth of the learning rate.
HYPERPRIOR = Recipe(HyperpriorConfig(), batch_size=8, patch_size=128, lr=1e-3, warmup=0.03,
                    clip_norm=1.0)
HYPERPRIOR_FREEZE = 0.3  # fraction of the budget with the warm-started transforms frozen
HYPERPRIOR_FINE_TUNE = 0.1  # their learning-rate scale after that


def train_hyperprior(factorized: RateDistortionAutoencoder, images: list[torch.Tensor], *,
                     minutes: float | None = None, steps: int | None = None,
                     recipe: Recipe = HYPERPRIOR, seed: int = 0,
                     checkpoint: str | os.PathLike | None = None, resume: bool = False,
                     progress: bool = True) -> HyperpriorAutoencoder:
    """A hyperprior codec warm-started from a trained factorized one (same lambda).

    Args:
        factorized: the trained codec whose encoder and decoder are kept.
        images: training photos x (3, H, W).
        minutes, steps: the budget (at least one).
        recipe: the model and its training settings (the scale-only variant:
            `replace(HYPERPRIOR, model=HyperpriorConfig(predict_means=False))`).
        seed: seed of the new weights, patches and data order.
        checkpoint, resume: where `fit` saves, and whether to continue from it.
        progress: show a progress bar.
    """
    torch.manual_seed(seed)
    model = recipe.build(lmbda=factorized.config.lmbda)
    model.encoder.load_state_dict(factorized.encoder.state_dict())
    model.decoder.load_state_dict(factorized.decoder.state_dict())
    warm = [*model.encoder.parameters(), *model.decoder.parameters()]
    fresh = [*model.hyper_encoder.parameters(), *model.hyper_decoder.parameters(),
             *model.z_prior.parameters()]
    groups = [{"params": warm, "lr_scale": lambda progress: 0.0 if progress < HYPERPRIOR_FREEZE
               else HYPERPRIOR_FINE_TUNE}, {"params": fresh, "lr_scale": 1.0}]
    fit(model, recipe.dataset(images, seed=seed), minutes=minutes, steps=steps,
        param_groups=groups,
        checkpoint=checkpoint, resume=resume, recipe=dict(recipe.as_dict(), warm_start=True),
        seed=seed, progress=progress, **recipe.fit_settings())
    return model.eval()


def train_hyperprior_family(data: str | os.PathLike, factorized_dir: str | os.PathLike,
                            out_dir: str | os.PathLike, minutes: float,
                            lambdas: tuple[float, ...] = RD_LAMBDAS) -> None:
    """Train one hyperprior codec per lambda, each warm-started from the factorized codec
    of that lambda, `minutes / len(lambdas)` each (`aecodec zoo-train-hp`). Interrupted,
    it continues where it stopped when run again.

    Args:
        data: a folder of training photos (the kit uses ../shared/train).
        factorized_dir: where rd_lambda{lambda}.pt are.
        out_dir: where to write hp_lambda{lambda}.pt.
        minutes: the budget for the whole family.
        lambdas: the rate points.
    """
    images = list(load_folder(data).values())
    for lmbda in lambdas:
        factorized = load_model(Path(factorized_dir) / f"rd_lambda{lmbda}.pt")
        path = Path(out_dir) / f"hp_lambda{lmbda}.pt"
        train_hyperprior(factorized, images, minutes=minutes / len(lambdas), checkpoint=path,
                         resume=True)


# The variable-rate codec starts from the shipped hyperprior codec of the middle lambda
# (all its weights) and learns gain vectors for every lambda of the family while the shared
# network adapts to all of them. The gains, new, learn at ten times the network's rate.
VARIABLE_RATE = Recipe(VariableRateConfig(), batch_size=8, patch_size=128, lr=5e-4,
                       warmup=0.03, clip_norm=1.0)
VARIABLE_RATE_GAIN_LR = 10.0  # learning-rate scale of the gain vectors
# Its budget, VARIABLE_RATE_MINUTES, is in aecodec.catalogue with the other budgets.


def train_variable_rate(hyperprior: HyperpriorAutoencoder, images: list[torch.Tensor], *,
                        minutes: float | None = None, steps: int | None = None,
                        lambdas: tuple[float, ...] = RD_LAMBDAS,
                        recipe: Recipe = VARIABLE_RATE, seed: int = 0,
                        checkpoint: str | os.PathLike | None = None, resume: bool = False,
                        progress: bool = True) -> VariableRateHyperprior:
    """A variable-rate codec warm-started from a trained hyperprior codec.

    Args:
        hyperprior: the trained codec whose weights (and sizes) are all kept; its lambda
            must lie in `lambdas`, and its gains start at 1.
        images: training photos x (3, H, W).
        minutes, steps: the budget (at least one).
        lambdas: the lambdas to train at, increasing.
        recipe: the model and its training settings.
        seed: seed of the patches, the data order and the lambdas drawn.
        checkpoint, resume: where `fit` saves, and whether to continue from it.
        progress: show a progress bar.
    """
    torch.manual_seed(seed)
    model = recipe.build(**vars(hyperprior.config), lambdas=tuple(lambdas))  # its sizes
    missing, unexpected = model.load_state_dict(hyperprior.state_dict(), strict=False)
    assert set(missing) == {"log_gains", "log_inverse_gains"} and not unexpected
    gains = [model.log_gains, model.log_inverse_gains]
    network = [p for name, p in model.named_parameters() if "gains" not in name]
    groups = [{"params": network, "lr_scale": 1.0},
              {"params": gains, "lr_scale": VARIABLE_RATE_GAIN_LR}]
    fit(model, recipe.dataset(images, seed=seed), minutes=minutes, steps=steps,
        param_groups=groups, checkpoint=checkpoint, resume=resume,
        recipe=dict(recipe.as_dict(), warm_start=True), seed=seed, progress=progress,
        **recipe.fit_settings())
    return model.eval()


def train_variable_rate_model(data: str | os.PathLike, out: str | os.PathLike,
                              minutes: float = VARIABLE_RATE_MINUTES,
                              start: str | os.PathLike | None = None) -> None:
    """Train the shipped variable-rate codec (`aecodec zoo-train-vr`): warm-started from
    hp_lambda0.0067.pt, it trains with a resumable checkpoint beside `out`
    (`out` + ".training"), so that running it again after an interruption continues; at
    the end `out` gets the weights alone.

    Args:
        data: a folder of training photos (the kit uses ../shared/train).
        out: the file to write (conventionally vr_hyperprior.pt).
        minutes: the time budget.
        start: the hyperprior codec to start from (default: the shipped
            hp_lambda0.0067.pt).
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    hyperprior = load_model(start or zoo.codec_path(0.0067, "hyperprior"))
    progress = Path(str(out) + ".training")
    model = train_variable_rate(hyperprior, list(load_folder(data).values()), minutes=minutes,
                                checkpoint=progress, resume=True)
    training = load_checkpoint(progress)["training"]  # all runs of a resumed job
    _save_shipped(out, model, training["history"], training["seconds"],
                  dict(VARIABLE_RATE.as_dict(), minutes=minutes, warm_start=True,
                       gain_lr_scale=VARIABLE_RATE_GAIN_LR))


def _save_shipped(path: Path, model: Autoencoder, history: dict, seconds: float,
                  recipe: dict) -> None:
    """Weights and how they were made, without the optimizer state (a third of the size)."""
    state = TrainingState(step=len(history["loss"]), seconds=seconds, history=history)
    build_coding_tables(model)
    save_checkpoint(path, model, training_record(state, recipe))


# The default codec: one variable-rate checkerboard-context codec (aecodec.models.context) that
# gets the whole training budget. It starts from the shipped variable-rate hyperprior (all
# its weights; the context starts switched off, see aecodec.models.context) and widens the rate
# range a step each way (Kodak: 0.17 to 0.75 bpp measured; 0.1 to 1.2 was the aim). Its
# settings are the variable-rate recipe's; the context's new layers learn at 4x the network's
# rate.
DEFAULT_CODEC = replace(VARIABLE_RATE, model=ContextConfig())  # Recipe.build: the context codec
DEFAULT_CONTEXT_LR = 4.0  # learning-rate scale of the context's new layers


def default_codec_from(variable_rate: VariableRateHyperprior,
                       lambdas: tuple[float, ...] = DEFAULT_LAMBDAS, context: bool = True):
    """A `VariableRateCheckerboard` holding all of a trained variable-rate codec's weights:
    gains of lambdas it was trained at are copied; a lambda beyond its range starts from
    the nearest trained gains, scaled by (lambda / nearest)^(1/2) as `VariableRateHyperprior`
    starts its own. `context=False` gives the same without the context: a
    `VariableRateHyperprior` over `lambdas` (the control of benchmarks/context_control.py).
    """
    from aecodec.models.context import VariableRateCheckerboard

    config = dict(vars(variable_rate.config), lambdas=tuple(lambdas))
    kind = VariableRateCheckerboard if context else VariableRateHyperprior
    model = kind.from_config(config)
    state = {k: v for k, v in variable_rate.state_dict().items() if "gains" not in k}
    missing, unexpected = model.load_state_dict(state, strict=False)
    assert not unexpected and all(k.startswith(("context.", "parameters_net.", "log_"))
                                  for k in missing), missing
    old = variable_rate.config.lambdas
    with torch.no_grad():
        for i, lmbda in enumerate(lambdas):
            j = min(range(len(old)), key=lambda k: abs(math.log(old[k] / lmbda)))
            shift = 0.5 * math.log(lmbda / old[j])
            model.log_gains[i] = variable_rate.log_gains[j] + shift
            model.log_inverse_gains[i] = variable_rate.log_inverse_gains[j] - shift
    return model


def default_codec_seconds(path: str | os.PathLike) -> float:
    """Training seconds behind a default codec, counting the default codecs it went on from
    (`prior_seconds`); 0 for any other checkpoint (the warm-start chain below the default
    codec is counted from the shipped files, see benchmarks/default_codec.py)."""
    record = load_checkpoint(path).get("training") or {}
    recipe = record.get("recipe") or {}
    if "context_lr_scale" not in recipe:  # not made by train_default_codec
        return 0.0
    prior = recipe.get("prior_seconds")
    if prior is None and Path(recipe.get("warm_start") or "").is_file():  # recorded before
        prior = default_codec_seconds(recipe["warm_start"])  # prior_seconds existed
    return float(record.get("seconds") or 0) + float(prior or 0)


def train_default_codec(data: str | os.PathLike, out: str | os.PathLike,
                        minutes: float | None = None,
                        start: str | os.PathLike | None = None, seed: int = 0,
                        device: str | None = None, batch_size: int | None = None,
                        patch_size: int | None = None, lr: float | None = None,
                        steps: int | None = None, lambda_sampling: str = "trained",
                        progress: bool = True):
    """Train the default codec (`aecodec zoo-train-default`), resumable: progress is kept
    in `out` + ".training"; run again after an interruption (or with a larger `minutes`)
    to continue. At the end `out` gets the weights alone.

    Args:
        data: a folder of training photos (the kit uses ../shared/train).
        out: the file to write.
        minutes: the whole budget (of every run of this job together), in wall-clock minutes.
        start: a variable-rate hyperprior codec to warm-start from (its context starts
            switched off), or a default codec to go on training (default: the shipped
            variable-rate hyperprior).
        seed: seed of the patches, the data order and the lambdas drawn.
        device: where to train (default: a GPU if there is one).
        batch_size, patch_size: instead of `DEFAULT_CODEC`'s (a GPU takes bigger batches).
        lr: peak learning rate instead of `DEFAULT_CODEC`'s (lower it to fine-tune a trained
            default codec).
        steps: a budget in optimizer steps instead of (or besides) `minutes`: short runs
            compared on a busy machine get the same work whatever the load.
        lambda_sampling: how each training image's lambda is drawn: "trained" (one of the
            codec's lambdas) or "log-uniform" (anywhere in their range; see
            `VariableRateHyperprior.training_lambdas`).
        progress: show a progress bar.
    """
    from aecodec import zoo

    if minutes is None and steps is None:
        raise ValueError("train_default_codec needs a budget: minutes, steps or both")
    if lambda_sampling not in VariableRateHyperprior.LAMBDA_SAMPLINGS:
        raise ValueError(f"lambda_sampling must be one of "
                         f"{VariableRateHyperprior.LAMBDA_SAMPLINGS}, got {lambda_sampling!r}")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    # a default codec given as `start` comes back as it is (its context and gains kept)
    model = default_codec_from(load_model(start or zoo.variable_rate_path()))
    model.lambda_sampling = lambda_sampling
    recipe = replace(DEFAULT_CODEC, batch_size=batch_size or DEFAULT_CODEC.batch_size,
                     patch_size=patch_size or DEFAULT_CODEC.patch_size,
                     lr=lr or DEFAULT_CODEC.lr)
    new = [p for n, p in model.named_parameters() if n.startswith(("context.", "parameters_net."))]
    gains = [model.log_gains, model.log_inverse_gains]
    network = [p for n, p in model.named_parameters()
               if not n.startswith(("context.", "parameters_net.", "log_"))]
    groups = [{"params": network, "lr_scale": 1.0},
              {"params": new, "lr_scale": DEFAULT_CONTEXT_LR},
              {"params": gains, "lr_scale": VARIABLE_RATE_GAIN_LR}]
    progress_file = Path(str(out) + ".training")
    settings = dict(recipe.as_dict(), warm_start=str(start or zoo.VARIABLE_RATE_FILE),
                    context_lr_scale=DEFAULT_CONTEXT_LR, gain_lr_scale=VARIABLE_RATE_GAIN_LR,
                    prior_seconds=default_codec_seconds(start) if start else 0.0,
                    lambda_sampling=lambda_sampling)
    fit(model, recipe.dataset(list(load_folder(data).values()), seed=seed),
        minutes=minutes, steps=steps, param_groups=groups, checkpoint=progress_file, resume=True,
        recipe=settings, seed=seed, device=device, progress=progress, save_every=200,
        **recipe.fit_settings())
    training = load_checkpoint(progress_file)["training"]
    _save_shipped(out, model.cpu().eval(), training["history"], training["seconds"],
                  dict(settings, minutes=minutes, steps=steps, device=str(device or "default")))
    return model
