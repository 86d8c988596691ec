"""The shipped models are there, load, are trained, and are ordered by latent size or rate."""

import pytest
import torch

from aecodec.cli import main
from aecodec.codec import CRC, HEADER, HYPERPRIOR_HEADER, compress, decompress
from aecodec.data import load_sample
from aecodec.entropy import estimated_bits
from aecodec.errors import CheckpointError
from aecodec.evaluation import evaluate_plain_models, plain_markdown
from aecodec.images import load_image
from aecodec.metrics import psnr
from aecodec.models.context import DEFAULT_LAMBDAS
from aecodec.recipes import PLAIN_LATENT_CHANNELS, RD_LAMBDAS
from aecodec.zoo import (
    DEFAULT_QUALITIES,
    FAMILIES,
    QUALITIES,
    codec_path,
    codec_scores,
    load_codec,
    load_codecs,
    load_plain,
    models_dir,
    plain_path,
    shipped_families,
)


def test_five_shipped_plain_models_of_a_few_megabytes_at_most():
    assert len(PLAIN_LATENT_CHANNELS) == 5
    for c in PLAIN_LATENT_CHANNELS:
        path = plain_path(c)
        assert path.is_file(), f"missing {path}"
        assert path.stat().st_size < 3 * 2**20
        model = load_plain(c)
        assert (model.config.latent_channels, model.config.downsamplings) == (c, 3)


def test_shipped_plain_models_are_trained_and_bigger_latents_are_better():
    x = load_sample("grace_hopper")[:, :256, :256]
    rows = evaluate_plain_models({"grace": x}, {c: load_plain(c) for c in PLAIN_LATENT_CHANNELS},
                                 progress=False)
    psnrs = [r["psnr"] for r in rows]
    assert psnrs == sorted(psnrs), f"PSNR should grow with C: {psnrs}"
    assert psnrs[0] > 20 and psnrs[-1] > 28, f"untrained-looking models: {psnrs}"
    assert [r["ratio"] for r in rows] == [96, 48, 24, 12, 6]
    for r in rows:
        assert r["jpeg_bytes"] <= r["latent_bytes"] or r["jpeg_quality"] == 1


def test_unknown_model_and_missing_folder(monkeypatch, tmp_path):
    with pytest.raises(CheckpointError, match="no shipped plain model with C=5"):
        load_plain(5)
    with pytest.raises(CheckpointError, match="no shipped codec of quality 9"):
        load_codec(9)
    monkeypatch.setenv("AECODEC_MODELS", str(tmp_path))
    assert models_dir() == tmp_path
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        load_plain(2)


def test_plain_table_formats_rows():
    row = dict(latent_channels=16, downsamplings=3, ratio=12.0, bpp=2.0003, psnr=27.5,
               ms_ssim=0.95, jpeg_psnr=30.1, jpeg_ms_ssim=0.97)
    table = plain_markdown([row])
    assert "| C=16, k=3 | 16x64x96 | 12:1 | 2.000 | 27.50 | 0.9500 | 30.10 | 0.9700 |" in table


# --- the shipped codecs ---------------------------------------------------------------


@pytest.mark.parametrize("family", FAMILIES)
def test_shipped_codecs_exist_and_trade_rate_for_quality(kodak_dir, family):
    assert shipped_families() == ["context", "variable-rate", "hyperprior", "factorized"]
    most = {"factorized": 3, "hyperprior": 6}[family]  # MiB: the hyper path doubles it
    for lmbda in RD_LAMBDAS:
        assert codec_path(lmbda, family).stat().st_size < most * 2**20
    x = load_image(kodak_dir / "kodim23.png")
    points = []
    for model in load_codecs(family).values():
        data = compress(model, x)
        points.append((len(data), psnr(x, decompress(model, data))))
    sizes, quality = [p[0] for p in points], [p[1] for p in points]
    assert sizes == sorted(sizes), f"bigger lambda, bigger files: {sizes}"
    assert quality == sorted(quality), f"bigger lambda, better PSNR: {quality}"
    assert quality[-1] > quality[0] + 1.0, f"the curve should span some quality: {quality}"
    assert quality[0] > 25, f"the shipped codecs look untrained: {quality}"


def test_quality_levels_name_the_codecs_from_smallest_to_best():
    assert [load_codec(q, "hyperprior").config.lmbda
            for q in sorted(QUALITIES)] == sorted(RD_LAMBDAS)
    default = [load_codec(q).lmbda for q in sorted(DEFAULT_QUALITIES)]  # float32, as stored
    assert default == sorted(default) and len(default) == 6
    assert [abs(a - b) < 1e-9 for a, b in zip(default, DEFAULT_LAMBDAS)] == [True] * 6
    assert abs(load_codec().lmbda - 0.0067) < 1e-9  # quality 4, the old default's lambda
    rows = codec_scores("hyperprior")
    assert [r["quality"] for r in rows] == [1, 2, 3, 4]
    assert [r["bpp"] for r in rows] == sorted(r["bpp"] for r in rows)
    assert [r["psnr"] for r in rows] == sorted(r["psnr"] for r in rows)


@pytest.mark.parametrize("image", ["kodim01.png", "kodim04.png", "kodim19.png"])
def test_file_size_is_within_two_percent_of_the_estimate_on_kodak(kodak_dir, image):
    x = load_image(kodak_dir / image)
    for model in load_codecs("factorized").values():
        with torch.no_grad():
            y_hat = torch.round(model.encode(x[None]))
            estimate = estimated_bits(model.prior.likelihood(y_hat)).item() / 8
        stream = len(compress(model, x)) - HEADER.size - CRC.size
        assert abs(stream - estimate) <= 0.02 * estimate + 4, (stream, estimate)
    for model in load_codecs("hyperprior").values():  # both streams
        with torch.no_grad():
            _, likelihoods_y, likelihoods_z = model.forward_with_likelihoods(x[None])
            estimate = (estimated_bits(likelihoods_y) + estimated_bits(likelihoods_z)) / 8
        stream = len(compress(model, x)) - HYPERPRIOR_HEADER.size - CRC.size
        assert abs(stream - estimate.item()) <= 0.02 * estimate.item() + 4, (stream, estimate)


def test_compress_uses_the_shipped_codec_and_decompress_finds_it_by_its_id(kodak_dir, tmp_path,
                                                                          capsys):
    image, aec, png = kodak_dir / "kodim10.png", tmp_path / "k.aec", tmp_path / "k.png"
    sizes = []
    for quality in ("1", "4"):
        assert main(["compress", str(image), str(aec), "--quality", quality]) == 0
        sizes.append(aec.stat().st_size)
        assert main(["decompress", str(aec), str(png)]) == 0  # no --model
        assert load_image(png).shape == load_image(image).shape
    assert sizes[0] < sizes[1]
    assert main(["compress", str(image), str(aec)]) == 0  # the default quality
    assert aec.read_bytes() == compress(load_codec(), load_image(image))
    assert main(["compress", str(image), str(aec), "--family", "factorized"]) == 0
    assert aec.read_bytes() == compress(load_codec(family="factorized"), load_image(image))
    assert main(["decompress", str(aec), str(png)]) == 0


def test_models_lists_the_shipped_codecs_with_their_kodak_scores(capsys):
    assert main(["models"]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("the default codec (`aecodec compress --family context")
    for family in FAMILIES:
        assert f"--family {family} --quality Q" in printed
        for r in codec_scores(family):
            assert f"{r['bpp']:.3f}" in printed and f"{r['psnr']:.2f}" in printed
    assert printed.count("(default)") == (1 if codec_scores("context") else 0)


def test_compress_uses_the_default_family_unless_told(tmp_path):
    from PIL import Image

    from aecodec.codec import read_header

    image, aec = tmp_path / "small.png", tmp_path / "small.aec"
    Image.new("RGB", (40, 30), (90, 140, 200)).save(image)
    assert main(["compress", str(image), str(aec)]) == 0
    assert read_header(aec.read_bytes())["kind"] == "context"  # the default codec
    assert main(["compress", str(image), str(aec), "--family", "factorized"]) == 0
    assert read_header(aec.read_bytes())["kind"] == "factorized"
