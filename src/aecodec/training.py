"""The training loop, written out in plain PyTorch, stage by stage.

Holds: `default_device`, `make_loader`, `train_step`, `train_one_epoch`, `evaluate`,
`learning_rate` (the schedule) and `fit`, which runs them for a number of steps or a
wall-clock budget with a progress bar, keeps a loss history, saves checkpoints and can
resume from one; and the CPU rate-distortion recipes, `RD_RECIPE` (minutes) and
`RD_RECIPE_WIDE` (hours, the shipped codecs), with `train_rd_curve` (a whole curve of
codecs for one time budget). Does not hold: the model
(`aecodec.models`), data (`aecodec.data`) or the shipped models (`aecodec.zoo`).

The loss is the model's own (`model.loss`). Training is reproducible on the
CPU: the data order of epoch e is a permutation seeded by (seed, e), the patches are
seeded per item (see `PatchDataset`), and a checkpoint stores the optimizer, the step,
the time spent and the position in the epoch, so a resumed run continues exactly where
the interrupted one stopped. (With a time budget, `minutes`, the schedule follows the
clock, so two runs see the same data but not exactly the same learning rates.)
"""

import copy
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset
from tqdm.auto import tqdm

from aecodec.checkpoint import load_checkpoint, save_checkpoint
from aecodec.data import PatchDataset
from aecodec.errors import CheckpointError
from aecodec.metrics import psnr, quantize_8bit
from aecodec.models import Autoencoder, RateDistortionAutoencoder


def default_device() -> torch.device:
    """CUDA if present, else Apple's MPS, else the CPU."""
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def make_loader(
    dataset: Dataset,
    batch_size: int,
    *,
    seed: int = 0,
    epoch: int = 0,
    skip_batches: int = 0,
    num_workers: int = 0,
) -> DataLoader:
    """A DataLoader over one epoch, in a shuffled order that depends only on (seed, epoch).

    Args:
        dataset: the training data.
        batch_size: images per batch.
        seed, epoch: fix the order.
        skip_batches: start after this many batches (to resume mid-epoch).
        num_workers: worker processes loading data (0: in this process).
    """
    if hasattr(dataset, "set_epoch"):
        dataset.set_epoch(epoch)  # new random patches each epoch
    generator = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    order = torch.randperm(len(dataset), generator=generator).tolist()
    order = order[skip_batches * batch_size :]
    return DataLoader(dataset, batch_size=batch_size, sampler=order, num_workers=num_workers)


def train_step(model: Autoencoder, x: torch.Tensor, optimizer: torch.optim.Optimizer,
               clip_norm: float | None = None) -> float:
    """One gradient step on a batch x (N, 3, H, W). Returns the loss: the model's own
    (`model.loss`), MSE for an `Autoencoder`, lambda * 255^2 * MSE + bpp for a
    `RateDistortionAutoencoder`. `clip_norm` caps the gradient's norm (a rare bad batch
    then cannot throw the weights far)."""
    loss, _ = model.loss(x)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if clip_norm is not None:
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip_norm)
    optimizer.step()
    return loss.item()


def train_one_epoch(
    model: Autoencoder,
    loader: DataLoader,
    optimizer: torch.optim.Optimizer,
    *,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
    device: torch.device | str = "cpu",
    max_steps: int | None = None,
    on_step: Callable[[float], None] | None = None,
    stop: Callable[[], bool] | None = None,
    clip_norm: float | None = None,
) -> list[float]:
    """Train over the batches of `loader` (at most `max_steps`). Returns each step's loss.

    Args:
        model, loader, optimizer: what to train, on what, with what.
        scheduler: a learning-rate schedule stepped after every batch, or None.
        device: where to compute.
        max_steps: stop after this many steps even if the epoch is not over.
        on_step: called with the loss after every step (progress bars, bookkeeping).
        stop: called before every step; training stops when it returns True.
        clip_norm: cap on the gradient norm (see `train_step`), or None.
    """
    model.train()
    losses = []
    for x in loader:
        if max_steps is not None and len(losses) >= max_steps:
            break
        if stop is not None and stop():
            break
        loss = train_step(model, x.to(device), optimizer, clip_norm)
        if scheduler is not None:
            scheduler.step()
        losses.append(loss)
        if on_step is not None:
            on_step(loss)
    return losses


@torch.no_grad()
def evaluate(model: Autoencoder, loader: DataLoader, *, device: torch.device | str = "cpu") -> dict:
    """Mean MSE and PSNR (dB, of x_hat rounded to 8 bits) of the model over `loader`."""
    model.eval()
    total_mse, total_psnr, count = 0.0, 0.0, 0
    for x in loader:
        x = x.to(device)
        x_hat = quantize_8bit(model(x))  # what a saved 8-bit image would hold
        total_mse += F.mse_loss(x_hat, x, reduction="sum").item() / x[0].numel()
        total_psnr += psnr(x, x_hat) * len(x)
        count += len(x)
    return {"mse": total_mse / count, "psnr": total_psnr / count}


@dataclass
class TrainingState:
    """Where a `fit` run is: saved in checkpoints so training can resume exactly."""

    step: int = 0
    epoch: int = 0
    batch_in_epoch: int = 0
    seconds: float = 0.0  # time spent training so far (over all runs of a resumed job)
    history: dict[str, list] = field(
        default_factory=lambda: {"step": [], "loss": [], "eval_step": [], "eval_psnr": []}
    )

    def record_step(self, loss: float) -> None:
        self.step += 1
        self.batch_in_epoch += 1
        self.history["step"].append(self.step)
        self.history["loss"].append(loss)


def learning_rate(progress: float, lr: float, warmup: float = 0.0) -> float:
    """The schedule: a linear warm-up, then a cosine decay from lr to lr / 10.

    Args:
        progress: how far training is, from 0 (start) to 1 (end of the budget).
        lr: the peak learning rate.
        warmup: fraction of the budget spent rising from lr / 10 to lr (0: none).
    """
    if progress < warmup:
        return lr * (0.1 + 0.9 * progress / warmup)
    decay = (progress - warmup) / (1 - warmup)  # 0 -> 1 after the warm-up
    return lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(decay, 1.0))))


def fit(
    model: Autoencoder,
    train_data: Dataset,
    *,
    steps: int | None = None,
    minutes: float | None = None,
    batch_size: int = 16,
    lr: float = 1e-3,
    warmup: float = 0.0,
    clip_norm: float | None = None,
    val_data: Dataset | None = None,
    eval_every: int = 500,
    checkpoint: str | os.PathLike | None = None,
    save_every: int = 1000,
    resume: bool = False,
    seed: int = 0,
    device: torch.device | str | None = None,
    num_workers: int = 0,
    progress: bool = True,
) -> dict[str, list]:
    """Train `model` with Adam for `steps` steps or `minutes` of wall-clock time.

    The learning rate follows `learning_rate(progress)`, where progress is the fraction of
    the budget used: steps done / `steps`, or time spent / `minutes` (the larger, when
    both are given). Training stops cleanly when the budget is spent, and saves.

    Args:
        model: the autoencoder (seed torch before building it for reproducible runs).
        train_data: training patches, e.g. a `PatchDataset`.
        steps: total number of optimizer steps, or None with `minutes`.
        minutes: a time budget, or None with `steps`.
        batch_size: patches per step.
        lr: peak learning rate; it decays along a cosine to lr / 10 at the end.
        warmup: fraction of the budget spent warming the learning rate up (0: none).
        clip_norm: cap on the gradient norm, or None.
        val_data: evaluated every `eval_every` steps and at the end, if given.
        eval_every: steps between evaluations.
        checkpoint: file to save to every `save_every` steps, at the end and on Ctrl-C.
        save_every: steps between checkpoints.
        resume: continue from `checkpoint` if it exists (same settings expected).
        seed: seed of the data order.
        device: where to train (default: `default_device()`).
        num_workers: DataLoader worker processes.
        progress: show a tqdm progress bar.

    Returns:
        the history: {"step", "loss", "eval_step", "eval_psnr"} lists.
    """
    if steps is None and minutes is None:
        raise ValueError("give a budget: steps, minutes, or both")
    device = torch.device(device) if device is not None else default_device()
    # Numbers so tiny that the CPU stores them as "denormals" (rate training pushes many
    # values towards zero) make CPU arithmetic many times slower; treat them as zero.
    torch.set_flush_denormal(True)
    model.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    state = TrainingState()
    if resume and checkpoint is not None and os.path.exists(checkpoint):
        state = _restore(checkpoint, model, optimizer)
    val_loader = DataLoader(val_data, batch_size=batch_size) if val_data is not None else None
    batches_per_epoch = -(-len(train_data) // batch_size)
    bar = _progress_bar(steps, minutes, state, disable=not progress)
    clock = time.perf_counter() - state.seconds  # so that seconds = now - clock

    def used() -> float:
        """The fraction of the budget spent."""
        return max(state.step / steps if steps else 0.0,
                   state.seconds / (60 * minutes) if minutes else 0.0)

    def set_lr() -> None:
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(used(), lr, warmup)

    def on_step(loss: float) -> None:
        state.record_step(loss)
        seconds, state.seconds = state.seconds, time.perf_counter() - clock
        bar.update(1 if steps else min(state.seconds, bar.total) - min(seconds, bar.total))
        # a string: tqdm would print the number 10000 as "1e+4"
        bar.set_postfix(loss=f"{loss:.5f}", step=str(state.step), refresh=False)
        set_lr()  # for the next step

    def save() -> None:
        if checkpoint is not None:
            if hasattr(model, "update_tables"):  # coding tables follow the learned prior
                model.update_tables()
            training = dict(vars(state), seed=seed, optimizer=optimizer.state_dict())
            save_checkpoint(checkpoint, model, training=training)

    try:
        set_lr()
        while used() < 1:
            # 1. this epoch's batches, from where we are in it
            loader = make_loader(train_data, batch_size, seed=seed, epoch=state.epoch,
                                 skip_batches=state.batch_in_epoch, num_workers=num_workers)
            # 2. train until the epoch ends, the budget is spent, or an evaluation or
            #    checkpoint is due
            due = min(_next_multiple(state.step, eval_every),
                      _next_multiple(state.step, save_every))
            train_one_epoch(model, loader, optimizer, device=device, max_steps=due - state.step,
                            on_step=on_step, stop=lambda: used() >= 1, clip_norm=clip_norm)
            if state.batch_in_epoch >= batches_per_epoch:
                state.epoch, state.batch_in_epoch = state.epoch + 1, 0
            # 3. evaluate and save when due
            done = used() >= 1
            if val_loader is not None and (state.step % eval_every == 0 or done):
                val_psnr = evaluate(model, val_loader, device=device)["psnr"]
                state.history["eval_step"].append(state.step)
                state.history["eval_psnr"].append(val_psnr)
                bar.set_postfix(loss=f"{state.history['loss'][-1]:.5f}",
                                val_psnr=f"{val_psnr:.2f} dB")
            if state.step % save_every == 0 or done:
                save()
    except KeyboardInterrupt:
        save()  # keep the work done so far; `resume=True` continues from here
        raise
    finally:
        bar.close()
    return state.history


def _progress_bar(steps: int | None, minutes: float | None, state: TrainingState,
                  disable: bool) -> tqdm:
    """Counts steps for a step budget, seconds for a time budget."""
    if steps:
        return tqdm(total=steps, initial=state.step, desc="training", unit="step",
                    disable=disable)
    return tqdm(total=round(60 * minutes), initial=round(state.seconds), desc="training",
                unit="s", disable=disable, bar_format="{l_bar}{bar}| {n:.0f}/{total} s "
                "[{elapsed}<{remaining}{postfix}]")


def _next_multiple(step: int, every: int) -> int:
    return (step // every + 1) * every


def _restore(checkpoint, model, optimizer) -> TrainingState:
    """Load weights and training state from a checkpoint into the live objects."""
    saved = load_checkpoint(checkpoint)
    training: dict[str, Any] | None = saved.get("training")
    if training is None:
        raise CheckpointError(f"{checkpoint}: holds no training state to resume from")
    if saved["config"] != vars(model.config):
        raise CheckpointError(
            f"{checkpoint}: was trained with {saved['config']}, not {vars(model.config)}"
        )
    model.load_state_dict(saved["model"])
    optimizer.load_state_dict(training["optimizer"])
    return TrainingState(training["step"], training["epoch"], training["batch_in_epoch"],
                         training.get("seconds", 0.0), training["history"])


# --- the CPU rate-distortion recipe -------------------------------------------------------

RD_LAMBDAS = (0.0018, 0.0035, 0.0067, 0.013)  # low to high quality
# Chosen by measurement on a 2-core CPU (README, "Training a codec in minutes"): a small
# model that takes many quick steps on small patches learns faster per minute than a
# big one on big patches.
RD_RECIPE = dict(latent_channels=32, downsamplings=3, hidden_channels=32, gdn=True,
                 patch_size=64, patches_per_image=8, batch_size=8, lr=2e-3, warmup=0.05,
                 clip_norm=1.0)
# For long budgets a wider model pays off: it learns more slowly but ends higher (measured
# at 60 and 95 minutes: README, "What more time buys"). The shipped codecs are this one.
RD_RECIPE_WIDE = dict(RD_RECIPE, latent_channels=64, hidden_channels=64)


def curve_shares(count: int) -> list[float]:
    """How `train_rd_curve` splits one budget over `count` lambdas: half for the first
    model (trained from scratch), the other half evenly over the warm-started ones."""
    return [1.0] if count == 1 else [0.5] + [0.5 / (count - 1)] * (count - 1)


def train_rd_curve(
    images: list[torch.Tensor],
    lambdas: tuple[float, ...] = RD_LAMBDAS,
    *,
    minutes: float,
    recipe: dict = RD_RECIPE,
    out_dir: str | os.PathLike | None = None,
    seed: int = 0,
    device: torch.device | str | None = None,
    progress: bool = True,
) -> dict[float, RateDistortionAutoencoder]:
    """A whole rate-distortion curve for one time budget, with one recipe.

    The model for the largest lambda (the most detail to learn) is trained from scratch
    for half the budget; each smaller lambda then starts from the previous model and
    only has to learn to drop bits, for an equal share of the other half.

    Args:
        images: training photos x (3, H, W).
        lambdas: the points of the curve.
        minutes: the budget for the whole curve.
        recipe: model sizes and training settings, with the keys of `RD_RECIPE`.
        out_dir: if given, each model is saved there as rd_lambda{lambda}.pt.
        seed: seed of the weights, patches and data order.
        device: where to train (default: `default_device()`).
        progress: show progress bars.

    Returns:
        {lambda: trained model in eval mode, with its coding tables}.
    """
    r = recipe
    dataset = PatchDataset(images, r["patch_size"], r["patches_per_image"], seed=seed)
    order = sorted(lambdas, reverse=True)
    torch.manual_seed(seed)
    model = RateDistortionAutoencoder(r["latent_channels"], r["downsamplings"],
                                      r["hidden_channels"], r["gdn"], lmbda=order[0])
    models = {}
    for i, (lmbda, share) in enumerate(zip(order, curve_shares(len(order)))):
        model.config.lmbda = lmbda
        history = fit(model, dataset, minutes=minutes * share, batch_size=r["batch_size"],
                      lr=r["lr"], warmup=r["warmup"], clip_norm=r["clip_norm"],
                      seed=seed + i, device=device,
                      progress=progress)
        model.cpu().eval().update_tables()
        models[lmbda] = copy.deepcopy(model)
        if out_dir is not None:
            save_checkpoint(os.path.join(out_dir, f"rd_lambda{lmbda}.pt"), model, training=dict(
                recipe=dict(r, lmbda=lmbda, warm_start=i > 0), minutes=minutes * share,
                step=len(history["loss"]), threads=torch.get_num_threads(), history=history))
    return dict(sorted(models.items()))
