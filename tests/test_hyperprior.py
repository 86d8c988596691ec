"""The hyperprior codec: its Gaussian conditional against torch.distributions, its coding
tables, files that mirror the model, and its training recipe."""


import pytest
import torch

from aecodec import codec
from aecodec.checkpoint import load_model, save_checkpoint
from aecodec.codec import (
    CRC,
    HYPERPRIOR_HEADER,
    CodecError,
    compress,
    decode_symbols,
    decompress,
    read_header,
)
from aecodec.entropy import SCALE_BOUND, GaussianConditional, gaussian_likelihood
from aecodec.metrics import quantize_8bit
from aecodec.models import HyperpriorAutoencoder, RateDistortionAutoencoder


@pytest.fixture(scope="module")
def model(small_hyperprior):
    return small_hyperprior


@pytest.mark.parametrize("scale", [0.05, 0.3, 1.0, 7.5, 100.0])
def test_gaussian_likelihood_is_the_normal_mass_of_the_unit_bin(scale):
    values = torch.tensor([-40.0, -3.0, -1.0, 0.0, 0.4, 2.0, 25.0])
    normal = torch.distributions.Normal(0.0, max(scale, SCALE_BOUND))  # float64: exact enough
    expected = (normal.cdf(values.double() + 0.5) - normal.cdf(values.double() - 0.5)).float()
    got = gaussian_likelihood(values, torch.full_like(values, scale))
    assert torch.allclose(got, expected.clamp_min(1e-9), rtol=1e-3, atol=1e-9)


def test_gaussian_tables_follow_the_ladder_and_the_index_picks_a_wide_enough_one():
    gaussian = GaussianConditional()
    gaussian.update_tables()
    ladder = gaussian.scale_ladder
    assert ladder[0] == pytest.approx(SCALE_BOUND) and ladder[-1] == pytest.approx(256)
    for i in range(len(ladder)):
        offset, counts = gaussian.table(i)
        assert int(counts.sum()) == 2**16 and int(counts.min()) >= 1
        assert offset == -(len(counts) - 2) // 2  # symmetric around 0, escape last
        # the table's bits for 0 are those of the Gaussian (up to the 2^16 quantization)
        p0 = counts[-offset].item() / 2**16
        assert p0 == pytest.approx(gaussian_likelihood(torch.tensor(0.0), ladder[i]).item(),
                                   abs=0.02)
    scales = torch.tensor([0.0, 0.11, 0.2, 1.0, 5.0, 300.0])
    index = gaussian.table_index(scales)
    assert index.dtype == torch.int64
    for s, i in zip(scales.tolist(), index.tolist()):
        assert ladder[i] >= min(max(s, SCALE_BOUND), ladder[-1]) - 1e-6
        assert i == 0 or ladder[i - 1] < max(s, SCALE_BOUND)


@pytest.mark.parametrize("size", [(8, 8), (37, 50), (64, 96)])
def test_a_file_decodes_to_the_models_own_reconstruction(model, size):
    x = torch.rand(3, *size)
    data = compress(model, x)
    header = read_header(data)
    assert header["kind"] == "hyperprior"
    assert header["side_shape"] == model.side_shape(*size)
    with torch.no_grad():
        x_hat, _, _ = model.forward_with_likelihoods(x[None])  # rounding, in eval mode
    assert torch.equal(decompress(model, data), quantize_8bit(x_hat)[0])


def test_file_size_is_the_estimate_of_both_streams(model):
    """Within 2%: the ladder of scales and the integer tables cost next to nothing. (The
    shipped codecs are checked on Kodak in test_zoo.py.)"""
    x = torch.rand(3, 96, 128)
    with torch.no_grad():
        _, likelihoods_y, likelihoods_z = model.forward_with_likelihoods(x[None])
    estimate = (-torch.log2(likelihoods_y).sum() - torch.log2(likelihoods_z).sum()).item() / 8
    stream = len(compress(model, x)) - HYPERPRIOR_HEADER.size - CRC.size
    assert abs(stream - estimate) <= 0.02 * estimate + 8, (stream, estimate)


def test_files_name_their_kind_and_are_refused_by_the_other_kind(model):
    data = compress(model, torch.rand(3, 16, 16))
    torch.manual_seed(1)
    factorized = RateDistortionAutoencoder(6, 2, 8).eval()
    factorized.prior.update_tables()
    with pytest.raises(CodecError, match="made by a hyperprior model, not a factorized one"):
        decompress(factorized, data)
    with pytest.raises(CodecError, match="made by a factorized model, not a hyperprior one"):
        decompress(model, compress(factorized, torch.rand(3, 16, 16)))


def test_big_images_are_coded_by_tiles_that_join_like_one_piece(model, monkeypatch):
    x = torch.rand(3, 72, 120)
    one_piece = compress(model, x)
    y = codec.analysis(model, x[None])  # (1, C, h, w), in one piece
    y_hat = decode_symbols(model, one_piece)
    y_hat = y_hat["symbols"][None].float() + y_hat["means_hat"]  # (1, C, h, w)
    x_hat = codec.synthesis(model, y_hat, x.shape[-2:])
    monkeypatch.setattr(codec, "TILE_PIXELS", 32)  # 8 latent positions: 3 x 4 tiles
    assert torch.allclose(codec.analysis(model, x[None]), y, atol=1e-5)
    assert (codec.synthesis(model, y_hat, x.shape[-2:]) - x_hat).abs().max() <= 1 / 255 + 1e-6
    tiled = compress(model, x)
    assert read_header(tiled)["latent_shape"] == read_header(one_piece)["latent_shape"]
    assert (decompress(model, tiled) - decompress(model, one_piece)).abs().max() <= 1 / 255 + 1e-6


def test_checkpoint_round_trip_keeps_both_tables_and_the_bytes(model, tmp_path):
    save_checkpoint(tmp_path / "hp.pt", model)
    loaded = load_model(tmp_path / "hp.pt")
    assert isinstance(loaded, HyperpriorAutoencoder)
    x = torch.rand(3, 40, 40)
    data = compress(model, x)
    assert compress(loaded, x) == data
    symbols = decode_symbols(loaded, data)
    assert set(symbols) == {"z_hat", "symbols", "means_hat", "tables"}
    assert symbols["tables"].dtype == torch.uint8
    assert symbols["tables"].shape == symbols["symbols"].shape
    assert torch.equal(decompress(loaded, data), decompress(model, data))


def test_the_loss_counts_both_streams_and_trains(model):
    torch.manual_seed(0)
    m = HyperpriorAutoencoder(6, 2, 8, side_channels=4).train()
    x = torch.rand(2, 3, 32, 32)
    loss, parts = m.loss(x)
    assert 0 < parts["bpp_z"] < parts["bpp"]
    assert loss.item() == pytest.approx(m.config.lmbda * 255**2 * parts["mse"] + parts["bpp"],
                                        rel=1e-4)
    loss.backward()
    assert all(p.grad is not None for p in m.hyper_decoder.parameters())


def test_train_hyperprior_keeps_the_warm_start_frozen_at_first(smooth_image, monkeypatch):
    from dataclasses import replace

    from aecodec import recipes, training
    from aecodec.models import HyperpriorConfig

    ticks = iter(range(10**6))  # a fake clock: every step takes one second
    monkeypatch.setattr(training.time, "perf_counter", lambda: float(next(ticks)))
    torch.manual_seed(3)
    factorized = RateDistortionAutoencoder(6, 2, 8, lmbda=0.01)
    recipe = replace(recipes.HYPERPRIOR, model=HyperpriorConfig(6, 2, 8, side_channels=4),
                     patch_size=32, batch_size=2)
    monkeypatch.setattr(recipes, "HYPERPRIOR_FREEZE", 1.0)  # frozen for the whole budget
    model = recipes.train_hyperprior(factorized, [smooth_image], minutes=0.1, recipe=recipe,
                                     progress=False)
    assert model.config.lmbda == 0.01
    for a, b in zip(model.encoder.parameters(), factorized.encoder.parameters()):
        assert torch.equal(a, b)  # warm-started and untouched
    fresh = HyperpriorAutoencoder(6, 2, 8, side_channels=4)
    assert not torch.equal(model.hyper_decoder[0].weight, fresh.hyper_decoder[0].weight)


def test_evaluate_reports_the_side_information_of_hyperprior_files(model):
    from aecodec.evaluation import codec_runs, evaluate_codecs, results_markdown

    images = {"a": torch.rand(3, 40, 48)}
    results = evaluate_codecs(images, {}, jpeg_qualities=(50,), webp_qualities=(50,),
                              avif_qualities=(), progress=False,
                              others={"hyperprior": codec_runs({"one": model})})
    (point,) = results["curves"]["hyperprior"]
    assert 0 < point["side_bpp_estimated"] < point["bpp"]
    assert f"| {point['side_bpp_estimated']:.4f} |" in results_markdown(results)


def test_the_scale_only_variant_predicts_no_means_and_codes_files(tmp_path):
    torch.manual_seed(0)
    model = HyperpriorAutoencoder(6, 2, 8, side_channels=4, predict_means=False).eval()
    with torch.no_grad():
        model.hyper_decoder[-1].bias.fill_(3.0)  # scales of a trained model's size
    model.z_prior.update_tables()
    model.gaussian.update_tables()
    mean_scale = HyperpriorAutoencoder(6, 2, 8, side_channels=4)
    assert model.hyper_decoder[-1].out_channels == 6  # scales only: C, not 2C
    assert mean_scale.hyper_decoder[-1].out_channels == 12
    x = torch.rand(3, 48, 64)
    with torch.no_grad():
        z_hat = torch.round(model.hyper_encode(model.encode(x[None])))
        means_hat, scales_hat = model.hyper_decode(z_hat)
    assert torch.equal(means_hat, torch.zeros_like(scales_hat))
    save_checkpoint(tmp_path / "scale_only.pt", model)
    loaded = load_model(tmp_path / "scale_only.pt")
    assert loaded.config.predict_means is False
    data = compress(model, x)
    assert compress(loaded, x) == data
    with torch.no_grad():
        expected = quantize_8bit(model(x[None]))[0]
    assert torch.equal(decompress(loaded, data), expected)
