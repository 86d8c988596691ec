"""Datasets: the embedded sample photos, any folder of images, patches for training.

Holds: `SAMPLE_IMAGES` / `load_samples` (colour photos that installed packages carry, so
everything works offline), `list_images` / `load_folder` (any folder of PNG/JPEG files),
`PatchDataset` (random crops and flips for training) and `CenterCropDataset` (fixed crops
for evaluation). Does not hold: reading one file (`aecodec.images`) or the Kodak benchmark
(`aecodec.kodak`).
"""

import importlib.resources
import os
from collections.abc import Sequence
from pathlib import Path

import torch
from torch.utils.data import Dataset
from torchvision.transforms import v2

from aecodec.errors import ImageError
from aecodec.images import IMAGE_SUFFIXES, load_image

# name -> (package that ships the file, path inside it)
SAMPLE_IMAGES = {
    "astronaut": ("skimage", "data/astronaut.png"),
    "coffee": ("skimage", "data/coffee.png"),
    "chelsea": ("skimage", "data/chelsea.png"),
    "rocket": ("skimage", "data/rocket.jpg"),
    "hubble_deep_field": ("skimage", "data/hubble_deep_field.jpg"),
    "immunohistochemistry": ("skimage", "data/ihc.png"),
    "retina": ("skimage", "data/retina.jpg"),
    "stereo_motorcycle": ("skimage", "data/motorcycle_left.png"),
    "grace_hopper": ("matplotlib", "mpl-data/sample_data/grace_hopper.jpg"),
}


def sample_path(name: str) -> Path:
    """The file of an embedded sample photo, inside its package's install folder."""
    if name not in SAMPLE_IMAGES:
        raise ImageError(f"no sample photo {name!r}; choose from {', '.join(SAMPLE_IMAGES)}")
    package, relative = SAMPLE_IMAGES[name]
    return Path(str(importlib.resources.files(package).joinpath(relative)))


def load_sample(name: str) -> torch.Tensor:
    """One embedded sample photo as x of shape (3, H, W) in [0, 1]."""
    return load_image(sample_path(name))


def load_samples(names: Sequence[str] | None = None) -> dict[str, torch.Tensor]:
    """The embedded sample photos as {name: x (3, H, W)}, read with no network.

    Args:
        names: which ones (default: all of `SAMPLE_IMAGES`).
    """
    return {name: load_sample(name) for name in (names or SAMPLE_IMAGES)}


def list_images(root: str | os.PathLike) -> list[Path]:
    """The PNG/JPEG files directly inside `root`, sorted by name."""
    root = Path(root)
    if not root.is_dir():
        raise ImageError(f"{root}: not a folder")
    files = sorted(p for p in root.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise ImageError(f"{root}: no .png/.jpg/.jpeg images in this folder")
    return files


def load_folder(root: str | os.PathLike) -> dict[str, torch.Tensor]:
    """Every PNG/JPEG in a folder as {file stem: x (3, H, W)}."""
    return {path.stem: load_image(path) for path in list_images(root)}


def _as_uint8(x: torch.Tensor) -> torch.Tensor:
    """x in [0, 1] -> uint8 (a quarter of the memory; training images are 8-bit anyway)."""
    return (x.clamp(0, 1) * 255).round().to(torch.uint8)


class PatchDataset(Dataset):
    """Random square patches with random flips, cut from a list of images, for training.

    Item i is a patch of image i % len(images), so one epoch visits every image
    `patches_per_image` times. Crops are drawn from a random generator seeded by
    (seed, epoch, i): the same item is the same patch in every run, with or without
    worker processes, and a resumed training run sees exactly the data it would have.
    Call `set_epoch` to get new patches each epoch.

    Args:
        images: tensors (3, H, W) in [0, 1]; smaller ones are padded by repeating edges.
        patch_size: side of the square patches, in pixels.
        patches_per_image: patches per image per epoch.
        seed: seed of the crops and flips.
    """

    def __init__(
        self,
        images: Sequence[torch.Tensor],
        patch_size: int = 128,
        patches_per_image: int = 8,
        seed: int = 0,
    ):
        if len(images) == 0:
            raise ValueError("PatchDataset needs at least one image")
        self.images = [_as_uint8(x) for x in images]
        self.patches_per_image = patches_per_image
        self.seed = seed
        self.epoch = 0
        self.transform = v2.Compose([
            v2.RandomCrop(patch_size, pad_if_needed=True, padding_mode="edge"),
            v2.RandomHorizontalFlip(),
            v2.RandomVerticalFlip(),
        ])

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.images) * self.patches_per_image

    def __getitem__(self, index: int) -> torch.Tensor:
        image = self.images[index % len(self.images)]  # (3, H, W) uint8
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed((self.seed * 1_000_003 + self.epoch) * 1_000_003 + index)
            patch = self.transform(image)  # (3, P, P)
        return patch.float() / 255


class CenterCropDataset(Dataset):
    """The centre `size` x `size` crop of each image, for evaluation (no randomness).

    Images smaller than `size` are padded with black.
    """

    def __init__(self, images: Sequence[torch.Tensor], size: int = 256):
        crop = v2.CenterCrop(size)
        self.crops = [crop(x) for x in images]  # each (3, size, size)

    def __len__(self) -> int:
        return len(self.crops)

    def __getitem__(self, index: int) -> torch.Tensor:
        return self.crops[index]
