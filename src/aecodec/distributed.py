"""Training on several processes (torchrun), with PyTorch DistributedDataParallel.

    torchrun --nproc_per_node 2 -m aecodec train --out run.pt ...         # 2 CPU processes
    torchrun --nproc_per_node 8 -m aecodec train --device cuda --out ...  # 8 GPUs

torchrun starts one process per CPU worker or GPU and tells each its RANK and WORLD_SIZE
through the environment. Every process builds the same model; DistributedDataParallel
(DDP) copies rank 0's weights to the others, and during each backward pass averages the
gradients over all processes, so every Adam step is the same everywhere and the weights
stay equal. Each process works on its own shard of every batch: with a batch of B patches
and W processes, process r takes the patches r, r + W, r + 2W, ... of it (B / W each), so the
W processes together take exactly the batch a single process would.

Holds: `Distributed` (which process this is, the process group, the few helpers `fit`
calls). Does not hold: the loop (`aecodec.training.fit`, where each use is marked
"distributed:"). Backends: gloo on CPUs, NCCL on GPUs.
"""

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel


class LossModule(nn.Module):
    """forward(x) = model.loss(x)[0]. DDP averages the gradients only of work done in its
    own forward, so the loss, not the reconstruction, must be a module's forward."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model.loss(x)[0]


@dataclass
class Distributed:
    """This process's place among `world` processes (rank 0 of 1 without torchrun)."""

    rank: int = 0
    world: int = 1
    device: torch.device = torch.device("cpu")

    @classmethod
    def from_environment(cls, device: torch.device) -> "Distributed":
        """Join torchrun's process group if there is one (WORLD_SIZE > 1 in the
        environment); each GPU process then uses the GPU of its LOCAL_RANK."""
        world = int(os.environ.get("WORLD_SIZE", "1"))
        if world == 1:
            return cls(device=device)
        if device.type == "cuda":
            device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
            torch.cuda.set_device(device)
        if not dist.is_initialized():
            dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
        return cls(dist.get_rank(), dist.get_world_size(), device)

    def close(self) -> None:
        """Leave torchrun's process group (all processes together), so that no gloo thread
        is still alive when the process exits (that aborted a process, now and then, on a
        busy machine); with one process, nothing to do."""
        if self.world > 1 and dist.is_initialized():
            dist.barrier()
            dist.destroy_process_group()

    @property
    def is_main(self) -> bool:
        """Rank 0: the one process that prints, validates and writes checkpoints."""
        return self.rank == 0

    def local_batch(self, batch_size: int) -> int:
        """Patches per process for a global batch of `batch_size`."""
        if batch_size % self.world:
            raise ValueError(f"a batch of {batch_size} cannot be split evenly over "
                             f"{self.world} processes")
        return batch_size // self.world

    def shard(self, order: list[int]) -> list[int]:
        """This process's items of a data order: rank, rank + world, ..."""
        return order[self.rank :: self.world]

    def loss_module(self, model: nn.Module) -> nn.Module | None:
        """The DDP-wrapped loss to step with, or None with one process (use model.loss)."""
        if self.world == 1:
            return None
        ids = [self.device.index] if self.device.type == "cuda" else None
        return DistributedDataParallel(LossModule(model), device_ids=ids)

    def mean(self, value: float) -> float:
        """The mean of a number over all processes (e.g. the loss, for the history)."""
        if self.world == 1:
            return value
        tensor = torch.tensor([value], dtype=torch.float64, device=self.device)
        dist.all_reduce(tensor)
        return tensor.item() / self.world

    def most(self, value: float) -> float:
        """The largest of a number over all processes (the time spent: all stop together)."""
        if self.world == 1:
            return value
        tensor = torch.tensor([value], dtype=torch.float64, device=self.device)
        dist.all_reduce(tensor, op=dist.ReduceOp.MAX)
        return tensor.item()
