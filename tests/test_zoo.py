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


# --- the shipped rate-distortion family -----------------------------------------------


def test_shipped_codecs_exist_and_trade_rate_for_quality(kodak_dir):
    from aecodec.codec import compress, decompress
    from aecodec.images import load_image
    from aecodec.metrics import psnr
    from aecodec.zoo import RD_LAMBDAS, load_shipped_rd, rd_path

    for lmbda in RD_LAMBDAS:
        assert rd_path(lmbda).stat().st_size < 3 * 2**20
    models = load_shipped_rd()
    x = load_image(kodak_dir / "kodim23.png")
    points = []
    for model in models.values():
        data = compress(model, x)
        points.append((len(data), psnr(x[None], decompress(model, data))))
    sizes, quality = [p[0] for p in points], [p[1] for p in points]
    assert sizes == sorted(sizes), f"bigger lambda, bigger files: {sizes}"
    assert quality == sorted(quality), f"bigger lambda, better PSNR: {quality}"
    assert quality[-1] > quality[0] + 1.0, f"the curve should span some quality: {quality}"
    assert quality[0] > 25, f"the shipped codecs look untrained: {quality}"


@pytest.mark.parametrize("image", ["kodim01.png", "kodim04.png", "kodim19.png"])
def test_file_size_is_within_two_percent_of_the_estimate_on_kodak(kodak_dir, image):
    import torch

    from aecodec.codec import CRC, HEADER, compress
    from aecodec.entropy import estimated_bits
    from aecodec.images import load_image
    from aecodec.zoo import load_shipped_rd

    x = load_image(kodak_dir / image)[None]
    for model in load_shipped_rd().values():
        with torch.no_grad():
            y_hat = torch.round(model.encode(x))
            estimate = estimated_bits(model.prior.likelihood(y_hat)).item() / 8
        stream = len(compress(model, x)) - HEADER.size - CRC.size
        assert abs(stream - estimate) <= 0.02 * estimate + 4, (stream, estimate)


def test_decompress_finds_the_shipped_model_by_its_id(kodak_dir, tmp_path):
    from aecodec.cli import main

    aec = tmp_path / "k.aec"
    model = str(rd_path_of_first())
    assert main(["compress", str(kodak_dir / "kodim10.png"), str(aec), "--model", model]) == 0
    assert main(["decompress", str(aec), str(tmp_path / "k.png")]) == 0  # no --model
    assert (tmp_path / "k.png").is_file()


def rd_path_of_first():
    from aecodec.zoo import RD_LAMBDAS, rd_path

    return rd_path(RD_LAMBDAS[0])
