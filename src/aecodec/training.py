"""The training loop, written out in plain PyTorch.

Holds: `default_device`, `fast_bfloat16` (whether mixed precision pays off here),
`make_loader` (one epoch in a seeded order), `train_step` (one
optimizer step), `evaluate` (PSNR on held-out images), `learning_rate` (the schedule),
`Budget` (steps, minutes or both) and `fit`, the loop that runs them with a progress bar,
keeps a loss history, saves checkpoints and can resume from one. Does not hold: the models
(`aecodec.models`), their loss (`model.loss`), data (`aecodec.data`) or the recipes that
made the shipped models (`aecodec.recipes`).

Training is reproducible on the CPU: the data order of epoch e is a permutation seeded by
(seed, e), the patches are seeded per item (see `PatchDataset`), and a checkpoint stores
the optimizer, the step, the time spent and the position in the epoch, so a resumed run
continues exactly where the interrupted one stopped. (With a time budget the schedule
follows the clock, so two runs see the same data but not exactly the same learning rates.)
"""

import math
import os
import time
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset
from tqdm.auto import tqdm

from aecodec.checkpoint import load_checkpoint, save_checkpoint
from aecodec.distributed import Distributed
from aecodec.entropy import build_coding_tables
from aecodec.errors import CheckpointError
from aecodec.layers import flush_denormal
from aecodec.metrics import psnr, quantize_8bit
from aecodec.models import Autoencoder


def default_device() -> torch.device:
    """CUDA if present, else Apple's MPS, else the CPU."""
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def fast_bfloat16(device: torch.device | str = "cpu") -> bool:
    """Whether this hardware computes bfloat16 natively, so that mixed precision roughly
    halves a training step: CUDA GPUs that support it, and CPUs with AMX or AVX512-BF16
    (Intel Xeon since Sapphire Rapids / Cooper Lake, AMD Zen 4 and later). Elsewhere bfloat16
    is emulated and a step gets several times slower (measured: docs/training.md)."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        return torch.cpu._is_amx_tile_supported() or torch.cpu._is_avx512_bf16_supported()
    return False


def make_loader(
    dataset: Dataset,
    batch_size: int,
    *,
    seed: int = 0,
    epoch: int = 0,
    skip_batches: int = 0,
    num_workers: int = 0,
    processes: Distributed | None = None,
) -> DataLoader:
    """A DataLoader over one epoch, in a shuffled order that depends only on (seed, epoch).

    Args:
        dataset: the training data.
        batch_size: images per batch.
        seed, epoch: fix the order.
        skip_batches: start after this many batches (to resume mid-epoch).
        num_workers: worker processes loading data (0: in this process).
        processes: under torchrun, this process's place: it then loads its shard of each
            batch (batch_size / world items).
    """
    if hasattr(dataset, "set_epoch"):
        dataset.set_epoch(epoch)  # new random patches each epoch
    generator = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    order = torch.randperm(len(dataset), generator=generator).tolist()
    order = order[skip_batches * batch_size :]
    if processes is not None:  # distributed: this process's shard of every batch
        order = order[: len(order) - len(order) % processes.world]  # equal shards
        order, batch_size = processes.shard(order), processes.local_batch(batch_size)
    return DataLoader(dataset, batch_size=batch_size, sampler=order, num_workers=num_workers)


def train_step(model: Autoencoder, x: torch.Tensor, optimizer: torch.optim.Optimizer,
               clip_norm: float | None = None, bfloat16: bool = False,
               loss_module: torch.nn.Module | None = None) -> float:
    """One gradient step on a batch x (N, 3, H, W); returns the loss.

    The loss is the model's own (`model.loss`): MSE for an `Autoencoder`, `rd_loss`
    (lambda * 255^2 * MSE + bpp) for a `RateDistortionAutoencoder`.

    Args:
        model, x, optimizer: what to train, on what, with what.
        clip_norm: cap on the gradient's norm (a rare bad batch then cannot throw the
            weights far), or None.
        bfloat16: mixed precision: convolutions in bfloat16, the entropy models, the
            likelihoods and the loss in float32; the weights and the optimizer stay float32.
        loss_module: under torchrun, the DistributedDataParallel-wrapped loss (see
            `aecodec.distributed`), whose backward averages the gradients of all processes.
    """
    model.train()
    with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=bfloat16):
        loss = loss_module(x) if loss_module is not None else model.loss(x)[0]
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if clip_norm is not None:
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip_norm)
    optimizer.step()
    return loss.item()


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


@dataclass
class Budget:
    """How long to train: a number of optimizer steps, minutes of wall-clock time, or both
    (whichever is spent first ends training)."""

    steps: int | None = None
    minutes: float | None = None

    def __post_init__(self):
        if self.steps is None and self.minutes is None:
            raise ValueError("give a budget: steps, minutes, or both")

    def spent(self, step: int, seconds: float) -> float:
        """The fraction of the budget used after `step` steps and `seconds` seconds."""
        by_steps = step / self.steps if self.steps else 0.0
        by_time = seconds / (60 * self.minutes) if self.minutes else 0.0
        return max(by_steps, by_time)


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

    def record_step(self, loss: float, seconds: float) -> None:
        self.step += 1
        self.batch_in_epoch += 1
        self.seconds = seconds
        self.history["step"].append(self.step)
        self.history["loss"].append(loss)


def training_record(state: TrainingState, recipe: dict | None = None,
                    resume: dict | None = None) -> dict[str, Any]:
    """The "training" part of a checkpoint (one schema; see `aecodec.checkpoint`).

    Args:
        state: where training is.
        recipe: the settings that made the weights, as plain data.
        resume: {"epoch", "batch_in_epoch", "seed", "optimizer"}, only in checkpoints that
            training can continue from.
    """
    record = dict(step=state.step, seconds=state.seconds, history=state.history,
                  recipe=recipe, threads=torch.get_num_threads())
    if resume is not None:
        record["resume"] = resume
    return record


# fit is long only by its signature and docstring (each keyword documented, all kept for the
# notebooks and tests); its body is a screen: the steps are `_Run`'s methods below.
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
    recipe: dict | None = None,
    param_groups: list[dict] | None = None,
    bfloat16: bool | None = None,
    seed: int = 0,
    device: torch.device | str | None = None,
    num_workers: int = 0,
    progress: bool = True,
) -> dict[str, list]:
    """Train `model` with Adam for `steps` steps or `minutes` of wall-clock time.

    The learning rate follows `learning_rate(progress)`, where progress is the fraction of
    the budget spent (`Budget.spent`). Training stops when the budget is spent, and saves.
    Under torchrun each process trains on its shard of every batch and the gradients are
    averaged (`aecodec.distributed`; the lines marked "distributed:").

    Args:
        model: the autoencoder (seed torch before building it for reproducible runs).
        train_data: training patches, e.g. a `PatchDataset`.
        steps, minutes: the budget (at least one).
        batch_size: patches per step (in all processes together, under torchrun).
        lr: peak learning rate; it decays along a cosine to lr / 10 at the end.
        warmup: fraction of the budget spent warming the learning rate up (0: none).
        clip_norm: cap on the gradient norm, or None.
        val_data: evaluated every `eval_every` steps and at the end, if given.
        eval_every: steps between evaluations.
        checkpoint: file to save to every `save_every` steps, at the end and on Ctrl-C.
        save_every: steps between checkpoints.
        resume: continue from `checkpoint` if it exists (same settings expected).
        recipe: the settings to record in the checkpoint, as plain data.
        param_groups: to train parts of the model at their own pace: a list of
            {"params": [...], "lr_scale": s}, where s multiplies the learning rate and is a
            number or a function of progress (default: all parameters, scale 1).
        bfloat16: mixed precision (see `train_step`); None: where `fast_bfloat16` says
            the hardware gains from it.
        seed: seed of the data order.
        device: where to train (default: `default_device()`).
        num_workers: DataLoader worker processes.
        progress: show a tqdm progress bar.

    Returns:
        the history: {"step", "loss", "eval_step", "eval_psnr"} lists.
    """
    budget = Budget(steps, minutes)
    device = torch.device(device) if device is not None else default_device()
    processes = Distributed.from_environment(device)  # distributed: which process this is
    device = processes.device
    bfloat16 = fast_bfloat16(device) if bfloat16 is None else bfloat16
    groups = param_groups or [{"params": list(model.parameters()), "lr_scale": 1.0}]
    optimizer = torch.optim.Adam([{"params": g["params"]} for g in groups], lr=lr)
    run = _Run(model, optimizer, groups, budget, processes, device, bfloat16,
               dict(train_data=train_data, batch_size=batch_size, lr=lr, warmup=warmup,
                    clip_norm=clip_norm, eval_every=eval_every, checkpoint=checkpoint,
                    save_every=save_every, recipe=recipe, seed=seed, num_workers=num_workers))
    if resume and checkpoint is not None and os.path.exists(checkpoint):
        run.state = _restore(checkpoint, model, optimizer)
    validating = val_data is not None and processes.is_main  # distributed: rank 0 validates
    run.val_loader = DataLoader(val_data, batch_size=batch_size) if validating else None
    run.bar = _progress_bar(budget, run.state, disable=not (progress and processes.is_main))
    run.clock = time.perf_counter() - run.state.seconds  # so that seconds spent = now - clock
    try:
        with flush_denormal():
            while not run.spent():
                run.epoch()
            run.finish()
        processes.close()  # distributed: leave the process group before the process exits
    except KeyboardInterrupt:
        run.save()  # keep the work done so far; `resume=True` continues from here
        raise
    finally:
        run.bar.close()
    return run.state.history


class _Run:
    """One `fit` run's live objects and its steps: an epoch, a step, validation, saving."""

    def __init__(self, model: Autoencoder, optimizer: torch.optim.Optimizer,
                 groups: list[dict], budget: Budget, processes: Distributed,
                 device: torch.device, bfloat16: bool, settings: dict[str, Any]):
        self.model, self.optimizer, self.groups = model, optimizer, groups
        self.budget, self.processes, self.device = budget, processes, device
        self.bfloat16, self.settings = bfloat16, settings
        self.memory_format = torch.channels_last if bfloat16 else torch.contiguous_format
        model.to(device)
        if bfloat16:
            model.to(memory_format=self.memory_format)  # bfloat16 kernels prefer channels-last
        self.loss_module = processes.loss_module(model)  # distributed: DDP averages the gradients
        self.state = TrainingState()
        self.val_loader: DataLoader | None = None
        self.bar: tqdm | None = None
        self.clock = 0.0

    def spent(self) -> bool:
        """Whether the budget is spent."""
        return self.budget.spent(self.state.step, self.state.seconds) >= 1

    def epoch(self) -> None:
        """Train on the rest of the current epoch, or until the budget is spent."""
        s = self.settings
        loader = make_loader(s["train_data"], s["batch_size"], seed=s["seed"],
                             epoch=self.state.epoch, skip_batches=self.state.batch_in_epoch,
                             num_workers=s["num_workers"], processes=self.processes)
        for x in loader:
            self.step(x)
            if self.spent():
                return
        # the epoch is over: the next one has new patches and a new order
        self.state.epoch, self.state.batch_in_epoch = self.state.epoch + 1, 0

    def step(self, x: torch.Tensor) -> None:
        """One optimizer step on batch x, with its bookkeeping (progress bar,
        validation and checkpoints when due)."""
        s, state = self.settings, self.state
        self.set_learning_rates(self.budget.spent(state.step, state.seconds))
        x = x.to(self.device, memory_format=self.memory_format)  # (B, 3, P, P)
        loss = train_step(self.model, x, self.optimizer, s["clip_norm"], self.bfloat16,
                          self.loss_module)
        loss = self.processes.mean(loss)  # distributed: the loss of the whole batch
        before = state.seconds
        # distributed: the slowest process's clock, so that all stop together
        state.record_step(loss, seconds=self.processes.most(time.perf_counter() - self.clock))
        self.bar.update(1 if self.budget.steps else  # seconds, never past the total
                        min(state.seconds, self.bar.total) - min(before, self.bar.total))
        # a string: tqdm would print the number 10000 as "1e+4"
        self.bar.set_postfix(loss=f"{loss:.5f}", step=str(state.step), refresh=False)
        if self.val_loader is not None and state.step % s["eval_every"] == 0:
            self.validate()
        if state.step % s["save_every"] == 0:
            self.save()

    def set_learning_rates(self, spent: float) -> None:
        """Each group's rate: the schedule at `spent` (0 -> 1 of the budget) times its
        scale (a number, or a function of `spent`)."""
        for group, settings in zip(self.optimizer.param_groups, self.groups):
            scale = settings["lr_scale"]
            scale = scale(spent) if callable(scale) else scale
            group["lr"] = learning_rate(spent, self.settings["lr"], self.settings["warmup"]) * scale

    def validate(self) -> None:
        val_psnr = evaluate(self.model, self.val_loader, device=self.device)["psnr"]
        self.state.history["eval_step"].append(self.state.step)
        self.state.history["eval_psnr"].append(val_psnr)
        self.bar.set_postfix(loss=f"{self.state.history['loss'][-1]:.5f}",
                             val_psnr=f"{val_psnr:.2f} dB")

    def save(self) -> None:
        s = self.settings
        if s["checkpoint"] is not None and self.processes.is_main:  # distributed: one writes
            resume_from = dict(epoch=self.state.epoch, batch_in_epoch=self.state.batch_in_epoch,
                               seed=s["seed"], optimizer=self.optimizer.state_dict())
            build_coding_tables(self.model)  # a codec's checkpoint codes with its density now
            save_checkpoint(s["checkpoint"], self.model,
                            training_record(self.state, s["recipe"], resume_from))

    def finish(self) -> None:
        """The end of the budget: a last validation (unless this step had one), and save."""
        validated = self.state.history["eval_step"][-1:] == [self.state.step]
        if self.val_loader is not None and not validated:
            self.validate()
        self.save()


def _progress_bar(budget: Budget, state: TrainingState, disable: bool) -> tqdm:
    """Counts steps for a step budget, seconds for a time budget."""
    if budget.steps:
        return tqdm(total=budget.steps, initial=state.step, desc="training", unit="step",
                    disable=disable)
    return tqdm(total=round(60 * budget.minutes), initial=round(state.seconds),
                desc="training", unit="s", disable=disable,
                bar_format="{l_bar}{bar}| {n:.0f}/{total} s [{elapsed}<{remaining}{postfix}]")


def _restore(checkpoint, model, optimizer) -> TrainingState:
    """Load weights and training state from a checkpoint into the live objects."""
    saved = load_checkpoint(checkpoint)
    resume = (saved.get("training") or {}).get("resume")
    if resume is None:
        raise CheckpointError(f"{checkpoint}: holds no optimizer state, so training cannot "
                              "continue from it (shipped models keep only their weights); "
                              "write to a new --out file instead")
    if saved["config"] != vars(model.config):
        raise CheckpointError(
            f"{checkpoint}: was trained with {saved['config']}, not {vars(model.config)}"
        )
    model.load_state_dict(saved["model"])
    optimizer.load_state_dict(resume["optimizer"])
    training = saved["training"]
    return TrainingState(training["step"], resume["epoch"], resume["batch_in_epoch"],
                         training["seconds"], training["history"])
