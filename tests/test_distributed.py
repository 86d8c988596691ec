"""Training under torchrun: 2 CPU processes (gloo, on 127.0.0.1) train like one process
with the same global batch, write one checkpoint, and resume."""

import os
import socket
import subprocess
import sys

import pytest
import torch

from aecodec.checkpoint import load_checkpoint
from aecodec.distributed import Distributed
from aecodec.images import save_image

# Float sums in another order (each process's half-batch gradient, then their mean) differ
# in the last bits. Adam divides each gradient by its running size, so a weight whose
# gradient is nearly 0 can step +lr or -lr on such a difference: a few weights of the two
# runs end up to about lr apart (measured: 0.6% of them by more than 1e-4, the largest by
# 9e-4 to 5e-3 from run to run). The weights as a whole stay within this share of the
# distance training moved them (measured: 0.2% and 1.2% in two runs); one process trained
# on batches of half the size ends 86% of that distance away.
TOLERANCE = 0.05


def relative_distance(a: dict, b: dict, start: dict) -> float:
    """||a - b|| / ||a - start|| over all weights: how far apart two runs ended, as a share
    of how far training moved them."""
    flat = lambda d: torch.cat([v.flatten().double() for v in d.values()])  # noqa: E731
    return ((flat(a) - flat(b)).norm() / (flat(a) - flat(start)).norm()).item()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def photos(tmp_path, smooth_image):
    folder = tmp_path / "photos"
    folder.mkdir()
    torch.manual_seed(0)
    for i in range(3):
        save_image((smooth_image * 0.8 + 0.2 * torch.rand_like(smooth_image)).clamp(0, 1),
                   folder / f"photo{i}.png")
    return folder


def train(photos, out, steps: int, processes: int = 1, resume: bool = False) -> None:
    """`aecodec train` (a small plain autoencoder), in 1 process or under torchrun."""
    args = ["-m", "aecodec", "train", "--data", str(photos), "--steps", str(steps),
            "--latent-channels", "4", "--downsamplings", "2", "--hidden-channels", "8",
            "--batch-size", "4", "--patch-size", "32", "--patches-per-image", "4",
            "--lr", "0.01", "--save-every", "3", "--device", "cpu", "--out", str(out)]
    args += ["--resume"] if resume else []
    launcher = [] if processes == 1 else [
        "-m", "torch.distributed.run", "--nproc_per_node", str(processes), "--nnodes", "1",
        "--master_addr", "127.0.0.1", "--master_port", str(free_port())]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    result = subprocess.run([sys.executable, *launcher, *args], capture_output=True,
                            text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr[-3000:]


def weights(path) -> dict[str, torch.Tensor]:
    return load_checkpoint(path)["model"]


def test_two_processes_train_like_one_with_the_same_global_batch(photos, tmp_path):
    train(photos, tmp_path / "one.pt", steps=8)
    train(photos, tmp_path / "two.pt", steps=8, processes=2)
    one, two = weights(tmp_path / "one.pt"), weights(tmp_path / "two.pt")
    untrained = tmp_path / "zero.pt"
    train(photos, untrained, steps=1)
    distance = relative_distance(one, two, weights(untrained))
    print(f"1 and 2 processes ended {distance:.2%} of training's distance apart")
    assert distance < TOLERANCE
    history = load_checkpoint(tmp_path / "two.pt")["training"]["history"]
    expected = load_checkpoint(tmp_path / "one.pt")["training"]["history"]
    assert history["step"] == list(range(1, 9))  # one checkpoint, with the whole history
    assert history["loss"] == pytest.approx(expected["loss"], rel=1e-3)  # of the whole batch


def test_distributed_training_resumes_from_its_checkpoint(photos, tmp_path):
    """5 steps, then --resume with a budget of 8: as one process does it."""
    train(photos, tmp_path / "one.pt", steps=5)
    train(photos, tmp_path / "one.pt", steps=8, resume=True)
    train(photos, tmp_path / "two.pt", steps=5, processes=2)
    train(photos, tmp_path / "two.pt", steps=8, processes=2, resume=True)
    one, two = weights(tmp_path / "one.pt"), weights(tmp_path / "two.pt")
    assert load_checkpoint(tmp_path / "two.pt")["training"]["step"] == 8
    train(photos, tmp_path / "zero.pt", steps=1)
    distance = relative_distance(one, two, weights(tmp_path / "zero.pt"))
    print(f"resumed: 1 and 2 processes ended {distance:.2%} of training's distance apart")
    assert distance < TOLERANCE


def test_shards_make_up_the_batch():
    order = list(range(10))
    shards = [Distributed(rank, 2).shard(order) for rank in range(2)]
    assert shards == [[0, 2, 4, 6, 8], [1, 3, 5, 7, 9]]
    assert Distributed(0, 2).local_batch(8) == 4
    with pytest.raises(ValueError, match="cannot be split evenly"):
        Distributed(0, 3).local_batch(8)
