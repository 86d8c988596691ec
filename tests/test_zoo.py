"""The shipped models are there, load, are trained, and are ordered by latent size."""

import pytest

from aecodec.data import load_sample
from aecodec.errors import CheckpointError
from aecodec.zoo import (
    LATENT_CHANNELS,
    SHIPPED,
    evaluate_image,
    load_shipped,
    models_dir,
    results_table,
    shipped_path,
)


def test_at_least_five_shipped_models_of_a_few_megabytes_at_most():
    assert len(SHIPPED) >= 5
    for c, k in SHIPPED:
        path = shipped_path(c, k)
        assert path.is_file(), f"missing {path}"
        assert path.stat().st_size < 3 * 2**20
        model = load_shipped(c, k)
        assert (model.config.latent_channels, model.config.downsamplings) == (c, k)


def test_shipped_models_are_trained_and_bigger_latents_are_better():
    x = load_sample("grace_hopper")[:, :256, :256]
    scores = [evaluate_image(load_shipped(c), x) for c in LATENT_CHANNELS]
    psnrs = [s["psnr"] for s in scores]
    assert psnrs == sorted(psnrs), f"PSNR should grow with C: {psnrs}"
    assert psnrs[0] > 20 and psnrs[-1] > 28, f"untrained-looking models: {psnrs}"
    assert [s["ratio"] for s in scores] == [96, 48, 24, 12, 6]
    for s in scores:
        assert s["jpeg_bytes"] <= s["latent_bytes"] or s["jpeg_quality"] == 1


def test_unknown_model_and_missing_folder(monkeypatch, tmp_path):
    with pytest.raises(CheckpointError, match="no shipped model with C=5"):
        load_shipped(5, 3)
    monkeypatch.setenv("AECODEC_MODELS", str(tmp_path))
    assert models_dir() == tmp_path
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        load_shipped(2, 3)


def test_results_table_formats_rows():
    row = dict(latent_channels=16, downsamplings=3, ratio=12.0, bpp=2.0003, psnr=27.5,
               ms_ssim=0.95, jpeg_psnr=30.1, jpeg_ms_ssim=0.97)
    table = results_table([row])
    assert "| C=16, k=3 | 16x64x96 | 12:1 | 2.000 | 27.50 | 0.9500 | 30.10 | 0.9700 |" in table
