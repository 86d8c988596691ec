"""Sample photos, image folders, patch datasets, loading Kodak."""

import numpy as np
import pytest
import torch
from PIL import Image

from aecodec.data import (
    SAMPLE_IMAGES,
    CenterCropDataset,
    PatchDataset,
    list_images,
    load_folder,
    load_samples,
)
from aecodec.errors import ImageError
from aecodec.kodak import load_kodak


def test_every_sample_photo_loads_offline_as_rgb():
    samples = load_samples()
    assert list(samples) == list(SAMPLE_IMAGES)
    for name, x in samples.items():
        assert x.dim() == 3 and x.shape[0] == 3, name
        assert x.min() >= 0 and x.max() <= 1, name
        assert min(x.shape[1:]) >= 256, name
        assert x.std() > 0.05, f"{name} looks blank"
        assert not torch.equal(x[0], x[1]), f"{name} should be a colour photo"


def test_unknown_sample_name():
    with pytest.raises(ImageError, match="no sample photo 'lena'"):
        load_samples(["lena"])


def _write_images(folder, count=3):
    for i in range(count):
        Image.new("RGB", (20 + i, 10), (i * 40, 0, 0)).save(folder / f"img{i}.png")


def test_load_folder_reads_every_image_and_nothing_else(tmp_path):
    _write_images(tmp_path)
    (tmp_path / "notes.txt").write_text("not an image")
    images = load_folder(tmp_path)
    assert list(images) == ["img0", "img1", "img2"]
    assert images["img2"].shape == (3, 10, 22)


def test_empty_or_missing_folder(tmp_path):
    with pytest.raises(ImageError, match="no .png/.jpg/.jpeg images"):
        list_images(tmp_path)
    with pytest.raises(ImageError, match="not a folder"):
        list_images(tmp_path / "nope")


def test_patch_dataset_shapes_and_determinism():
    images = [torch.rand(3, 40, 50), torch.rand(3, 20, 16)]  # the second is smaller
    dataset = PatchDataset(images, patch_size=32, patches_per_image=3, seed=7)
    assert len(dataset) == 6
    patch = dataset[1]
    assert patch.shape == (3, 32, 32) and patch.dtype == torch.float32
    assert torch.equal(dataset[0], dataset[0]), "same item, same epoch -> same patch"
    again = PatchDataset(images, patch_size=32, patches_per_image=3, seed=7)
    assert torch.equal(dataset[4], again[4]), "same seed -> same patches"
    before = dataset[0]
    dataset.set_epoch(1)
    assert not torch.equal(before, dataset[0]), "a new epoch gives new patches"


def test_patch_is_a_crop_of_the_image_or_its_flips():
    image = torch.arange(3 * 8 * 8, dtype=torch.float32).view(3, 8, 8) / (3 * 64)
    dataset = PatchDataset([image], patch_size=4, patches_per_image=20)
    pixels = (image * 255).round() / 255
    flips = [pixels, pixels.flip(-1), pixels.flip(-2), pixels.flip(-1).flip(-2)]
    for i in range(len(dataset)):
        patch = dataset[i]
        assert any(
            torch.allclose(patch, f[:, r : r + 4, c : c + 4], atol=1e-6)
            for f in flips for r in range(5) for c in range(5)
        )


def test_center_crop_dataset():
    image = torch.zeros(3, 10, 10)
    image[:, 4:6, 4:6] = 1
    crop = CenterCropDataset([image], size=2)[0]
    assert torch.all(crop == 1)


def test_load_kodak(kodak_dir):
    kodak = load_kodak(kodak_dir)
    assert list(kodak) == [f"kodim{i:02d}" for i in range(1, 25)]
    shapes = {tuple(x.shape) for x in kodak.values()}
    assert shapes == {(3, 512, 768), (3, 768, 512)}


def test_load_kodak_from_environment(kodak_dir, monkeypatch):
    monkeypatch.setenv("AECODEC_KODAK", str(kodak_dir))
    assert len(load_kodak()) == 24


def test_load_kodak_errors(tmp_path, monkeypatch):
    monkeypatch.delenv("AECODEC_KODAK", raising=False)
    with pytest.raises(ImageError, match="AECODEC_KODAK"):
        load_kodak()
    Image.fromarray(np.zeros((2, 2, 3), np.uint8)).save(tmp_path / "kodim01.png")
    with pytest.raises(ImageError, match="incomplete, missing kodim02.png"):
        load_kodak(tmp_path)
