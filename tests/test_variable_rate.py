"""The variable-rate codec: gain vectors interpolated between the trained lambdas, a loss
with one lambda per image, version-3 files that carry their lambda, `compress --lambda`,
and its training recipe."""

import math
import struct
import zlib

import pytest
import torch

from aecodec import cli, codec
from aecodec.checkpoint import load_model, save_checkpoint
from aecodec.codec import (
    CRC,
    VARIABLE_RATE_HEADER,
    CodecError,
    compress,
    decode_symbols,
    decompress,
    read_header,
)
from aecodec.images import save_image
from aecodec.losses import rd_loss
from aecodec.metrics import quantize_8bit
from aecodec.models import VariableRateConfig, VariableRateHyperprior

LAMBDAS = (0.0018, 0.0035, 0.0067, 0.013)


@pytest.fixture(scope="module")
def model(small_variable_rate):
    return small_variable_rate


def test_config_refuses_lambdas_that_do_not_make_a_range():
    with pytest.raises(ValueError, match="increasing"):
        VariableRateConfig(lambdas=(0.013, 0.0018))
    with pytest.raises(ValueError, match="increasing"):
        VariableRateConfig(lambdas=(0.0067,))
    with pytest.raises(ValueError, match="outside the trained range"):
        VariableRateConfig(lmbda=0.02)
    assert VariableRateConfig(lambdas=[0.001, 0.01], lmbda=0.005).lambdas == (0.001, 0.01)


def test_gains_are_the_trained_ones_at_trained_lambdas_and_geometric_between(model):
    gain, inverse = model.gains(torch.tensor(LAMBDAS, dtype=torch.float64))  # (4, C, 1, 1)
    assert torch.allclose(gain[:, :, 0, 0], model.log_gains.exp(), rtol=1e-5)
    assert torch.allclose(inverse[:, :, 0, 0], model.log_inverse_gains.exp(), rtol=1e-5)
    middle = math.sqrt(LAMBDAS[1] * LAMBDAS[2])  # halfway in log lambda
    gain, inverse = model.gains(torch.tensor([middle]))
    expected = (model.log_gains[1] + model.log_gains[2]).div(2).exp()
    assert torch.allclose(gain[0, :, 0, 0], expected, rtol=1e-5)
    # a quarter of the way: g1^(3/4) g2^(1/4)
    quarter = math.exp(0.75 * math.log(LAMBDAS[1]) + 0.25 * math.log(LAMBDAS[2]))
    gain, _ = model.gains(torch.tensor([quarter]))
    expected = (0.75 * model.log_gains[1] + 0.25 * model.log_gains[2]).exp()
    assert torch.allclose(gain[0, :, 0, 0], expected, rtol=1e-5)


def test_gains_start_at_the_step_each_lambda_calls_for():
    fresh = VariableRateHyperprior(latent_channels=4, hidden_channels=4, side_channels=4)
    gain, inverse = fresh.gains(torch.tensor(LAMBDAS, dtype=torch.float64))
    expected = torch.tensor([math.sqrt(v / 0.0067) for v in LAMBDAS])
    assert torch.allclose(gain[:, 0, 0, 0], expected, rtol=1e-5)
    assert torch.allclose(inverse[:, 0, 0, 0], 1 / expected, rtol=1e-5)


def test_set_lambda_checks_the_range_and_at_lambda_restores(model):
    assert model.lmbda == pytest.approx(0.0067)
    for bad in (0.001, 0.02, float("nan"), "0.005", True):
        with pytest.raises(ValueError, match="outside this model's trained range"):
            model.set_lambda(bad)
    with model.at_lambda(0.004):
        assert model.lmbda == pytest.approx(0.004)
    assert model.lmbda == pytest.approx(0.0067)
    with pytest.raises(RuntimeError), model.at_lambda(0.013):
        raise RuntimeError
    assert model.lmbda == pytest.approx(0.0067)
    assert model.in_range(0.013) and model.in_range(0.0018) and not model.in_range(0.0131)


def test_encode_and_decode_apply_the_gains_of_the_current_lambda(model, rng):
    x = torch.rand(1, 3, 32, 48, generator=rng)
    plain = model.encoder(x)  # (1, C, h, w)
    with torch.no_grad(), model.at_lambda(0.013):
        gain, inverse = model.gains(torch.tensor([0.013]))
        assert torch.allclose(model.encode(x), plain * gain, atol=1e-6)
        y_hat = torch.round(model.encode(x))
        direct = torch.nn.Sequential(*model.decoder.layers)(y_hat * inverse)
        assert torch.allclose(model.decode(y_hat), direct, atol=1e-6)


def test_eval_loss_is_the_mean_of_each_images_loss_at_its_own_lambda(model, rng):
    """In eval mode image i is scored at lambdas[i % 4]: the batch loss must equal the mean
    of the four losses computed one image at a time with the model set to that lambda."""
    x = torch.rand(4, 3, 32, 32, generator=rng)
    with torch.no_grad():
        loss, values = model.loss(x)
        singles = []
        for i, lmbda in enumerate(LAMBDAS):
            with model.at_lambda(lmbda):
                x_hat, lik_y, lik_z = model.forward_with_likelihoods(x[i : i + 1])
            bits = -torch.log2(lik_y).sum() - torch.log2(lik_z).sum()
            mse = torch.mean((x_hat - x[i : i + 1]) ** 2)
            singles.append(rd_loss(mse, bits / (32 * 32), lmbda))
    assert loss.item() == pytest.approx(torch.stack(singles).mean().item(), rel=1e-4)
    assert set(values) == {"mse", "bpp", "bpp_z"}


def test_training_draws_every_trained_lambda(model):
    model.train()
    torch.manual_seed(0)
    drawn = model.training_lambdas(400)
    model.eval()
    counts = {v: int((drawn == v).sum()) for v in LAMBDAS}
    assert set(drawn.tolist()) == set(LAMBDAS) and min(counts.values()) > 60
    assert model.training_lambdas(6).tolist() == [*LAMBDAS, *LAMBDAS[:2]]


def test_log_uniform_sampling_covers_the_range_evenly_in_log_lambda(model):
    model.train()
    model.lambda_sampling = "log-uniform"
    try:
        torch.manual_seed(0)
        drawn = model.training_lambdas(4000)
    finally:
        model.lambda_sampling = "trained"
        model.eval()
    assert drawn.min() >= LAMBDAS[0] and drawn.max() <= LAMBDAS[-1]
    assert len(set(drawn.tolist())) > 3000  # between the trained lambdas, not on them
    u = (drawn.log() - math.log(LAMBDAS[0])) / (math.log(LAMBDAS[-1]) - math.log(LAMBDAS[0]))
    halves = int((u < 0.5).sum())
    assert 1800 < halves < 2200  # as many below the middle (in log lambda) as above
    assert model.training_lambdas(6).tolist() == [*LAMBDAS, *LAMBDAS[:2]]  # eval: unchanged


def test_the_default_codec_refuses_an_unknown_lambda_sampling(tmp_path):
    from aecodec.recipes import train_default_codec

    with pytest.raises(ValueError, match="lambda_sampling must be one of"):
        train_default_codec(tmp_path, tmp_path / "out.pt", steps=1, lambda_sampling="uniform")


@pytest.mark.parametrize("lmbda", [0.0018, 0.0042, 0.013])
def test_a_file_stores_its_lambda_and_decodes_at_it_whatever_the_model_is_set_to(model, rng,
                                                                               lmbda):
    x = torch.rand(3, 37, 50, generator=rng)
    with model.at_lambda(lmbda):
        data = compress(model, x)
        with torch.no_grad():
            y = model.encode(x[None])
            z_hat = torch.round(model.hyper_encode(y))
            means, _ = model.hyper_decode(z_hat)
            expected = quantize_8bit(model.decode(torch.round(y - means) + means, (37, 50)))[0]
    header = read_header(data)
    assert header["kind"] == "variable-rate" and data[4] == codec.VARIABLE_RATE_VERSION
    assert header["lmbda"] == pytest.approx(lmbda, rel=1e-6)
    assert len(data) == VARIABLE_RATE_HEADER.size + len(header["stream"]) + CRC.size
    with model.at_lambda(0.0035):  # the file's lambda wins over the model's setting
        assert torch.equal(decompress(model, data), expected)
    assert model.lmbda == pytest.approx(0.0067)


def test_the_lambda_changes_only_the_values_of_y_not_the_tables(model, rng):
    """The gains do not reach the hyper path: with the same z_hat, two lambdas pick the
    same tables (so a version-3 file's tables are as exact as a version-2 file's)."""
    x = torch.rand(3, 32, 32, generator=rng)
    symbols = {}
    for lmbda in (0.0018, 0.013):
        with model.at_lambda(lmbda):
            symbols[lmbda] = decode_symbols(model, compress(model, x))
    assert not torch.equal(symbols[0.0018]["symbols"], symbols[0.013]["symbols"])
    assert symbols[0.013]["symbols"].abs().sum() > symbols[0.0018]["symbols"].abs().sum()


def _with_lambda(data: bytes, lmbda: float) -> bytes:
    """The file with another lambda in its header, and a checksum that fits again."""
    body = bytearray(data[: -CRC.size])
    struct.pack_into("<f", body, VARIABLE_RATE_HEADER.size - 8, lmbda)
    return bytes(body) + CRC.pack(zlib.crc32(bytes(body)))


@pytest.mark.parametrize("lmbda, problem", [(float("nan"), "a lambda of nan"),
                                            (-0.005, "a lambda of -0.005"),
                                            (0.5, "outside the model's range")])
def test_a_header_with_an_impossible_lambda_is_refused(model, rng, lmbda, problem):
    data = compress(model, torch.rand(3, 16, 16, generator=rng))
    with pytest.raises(CodecError, match=problem):
        decompress(model, _with_lambda(data, lmbda))


def test_a_variable_rate_file_is_refused_by_a_fixed_rate_model(model, small_hyperprior, rng):
    data = compress(model, torch.rand(3, 16, 16, generator=rng))
    with pytest.raises(CodecError, match="variable-rate model, not a hyperprior one"):
        decompress(small_hyperprior, data)
    fixed = compress(small_hyperprior, torch.rand(3, 16, 16, generator=rng))
    with pytest.raises(CodecError, match="hyperprior model, not a variable-rate one"):
        decompress(model, fixed)


def test_checkpoint_round_trip_keeps_the_range_and_the_gains(model, tmp_path):
    save_checkpoint(tmp_path / "vr.pt", model)
    loaded = load_model(tmp_path / "vr.pt")
    assert isinstance(loaded, VariableRateHyperprior)
    assert loaded.config == model.config and loaded.config.lambdas == LAMBDAS
    assert torch.equal(loaded.log_gains, model.log_gains)
    assert codec.model_id(loaded) == codec.model_id(model)


@pytest.fixture
def shipped_dir(model, tmp_path, monkeypatch):
    """A models folder holding only a variable-rate codec, as $AECODEC_MODELS."""
    folder = tmp_path / "models"
    folder.mkdir()
    save_checkpoint(folder / "vr_hyperprior.pt", model)
    monkeypatch.setenv("AECODEC_MODELS", str(folder))
    return folder


def test_cli_compress_with_lambda_stores_it_and_decompress_needs_nothing_else(
        shipped_dir, tmp_path, rng, capsys):
    image = tmp_path / "in.png"
    save_image(torch.rand(3, 40, 56, generator=rng), image)
    files = {}
    for lmbda in ("0.0018", "0.013"):
        out = tmp_path / f"{lmbda}.aec"
        assert cli.main(["compress", str(image), str(out), "--family", "variable-rate",
                         "--lambda", lmbda]) == 0
        assert read_header(out.read_bytes())["lmbda"] == pytest.approx(float(lmbda), rel=1e-6)
        assert cli.main(["decompress", str(out), str(tmp_path / "out.png")]) == 0
        files[lmbda] = out.read_bytes()
    assert files["0.013"][-100:] != files["0.0018"][-100:]  # other latents, not only the header


@pytest.mark.parametrize("arguments, problem", [
    (["--family", "variable-rate", "--lambda", "0.05"],
     "outside the variable-rate codec's trained range"),
    (["--family", "variable-rate", "--lambda", "0.005", "--quality", "2"],
     "give one or the other"),
])
def test_cli_lambda_mistakes_are_one_clear_line(shipped_dir, tmp_path, rng, capsys,
                                                 arguments, problem):
    image = tmp_path / "in.png"
    save_image(torch.rand(3, 16, 16, generator=rng), image)
    assert cli.main(["compress", str(image), str(tmp_path / "o.aec"), *arguments]) == 1
    err = capsys.readouterr().err
    assert problem in err and "Traceback" not in err
    assert not (tmp_path / "o.aec").exists()


def test_cli_lambda_with_a_fixed_rate_model_says_it_has_no_knob(small_hyperprior, tmp_path,
                                                                rng, capsys):
    save_checkpoint(tmp_path / "hp.pt", small_hyperprior)
    image = tmp_path / "in.png"
    save_image(torch.rand(3, 16, 16, generator=rng), image)
    assert cli.main(["compress", str(image), str(tmp_path / "o.aec"), "--model",
                     str(tmp_path / "hp.pt"), "--lambda", "0.005"]) == 1
    assert "has no --lambda knob" in capsys.readouterr().err


def test_cli_lambda_without_a_shipped_variable_rate_codec_says_how_to_train_one(
        tmp_path, rng, capsys, monkeypatch):
    monkeypatch.setenv("AECODEC_MODELS", str(tmp_path))
    image = tmp_path / "in.png"
    save_image(torch.rand(3, 16, 16, generator=rng), image)
    assert cli.main(["compress", str(image), str(tmp_path / "o.aec"), "--family",
                     "variable-rate", "--lambda", "0.005"]) == 1
    assert "aecodec zoo-train-vr" in capsys.readouterr().err
    assert cli.main(["compress", str(image), str(tmp_path / "o.aec"), "--lambda", "0.005"]) == 1
    assert "aecodec zoo-train-default" in capsys.readouterr().err  # the default codec's


def test_training_from_a_hyperprior_learns_the_gains_and_resumes(small_hyperprior, tmp_path,
                                                                 smooth_image):
    from dataclasses import replace

    from aecodec.recipes import VARIABLE_RATE, train_variable_rate

    recipe = replace(VARIABLE_RATE, batch_size=4, patch_size=32, model=VariableRateConfig(
        latent_channels=6, downsamplings=2, hidden_channels=8, side_channels=4))
    images = [smooth_image, smooth_image.flip(-1)]
    start = {k: v.clone() for k, v in small_hyperprior.state_dict().items()}
    first = train_variable_rate(small_hyperprior, images, steps=3, recipe=recipe,
                                checkpoint=tmp_path / "vr.pt", progress=False)
    assert first.config.lambdas == LAMBDAS and first.lmbda == pytest.approx(0.0067)
    assert not torch.allclose(first.log_gains[:, 0].exp(),
                              torch.tensor([math.sqrt(v / 0.0067) for v in LAMBDAS]))
    # warm-started: 3 small steps leave the hyperprior's weights close to where they were
    weight = first.encoder.layers[0].weight
    assert torch.allclose(weight, start["encoder.layers.0.weight"], atol=0.01)
    assert not torch.equal(weight, start["encoder.layers.0.weight"])
    more = train_variable_rate(small_hyperprior, images, steps=5, recipe=recipe,
                               checkpoint=tmp_path / "vr.pt", resume=True, progress=False)
    saved = torch.load(tmp_path / "vr.pt", weights_only=True)
    assert saved["training"]["step"] == 5 and len(saved["training"]["history"]["loss"]) == 5
    assert isinstance(more, VariableRateHyperprior)


def test_zoo_train_vr_writes_the_model_and_keeps_a_checkpoint_to_resume(
        small_hyperprior, tmp_path, monkeypatch, rng, capsys):
    """`aecodec zoo-train-vr` starts from the shipped hp_lambda0.0067.pt ($AECODEC_MODELS
    here), trains with a resumable checkpoint beside OUT and writes OUT with the weights."""
    models = tmp_path / "models"
    models.mkdir()
    save_checkpoint(models / "hp_lambda0.0067.pt", small_hyperprior)
    monkeypatch.setenv("AECODEC_MODELS", str(models))
    photos = tmp_path / "photos"
    photos.mkdir()
    for i in range(2):
        save_image(torch.rand(3, 160, 160, generator=rng), photos / f"p{i}.png")
    out = tmp_path / "vr.pt"
    assert cli.main(["zoo-train-vr", "--data", str(photos), "--out", str(out),
                     "--minutes", "0.03", "--threads", "1"]) == 0
    model = load_model(out)
    assert isinstance(model, VariableRateHyperprior) and model.config.side_channels == 4
    saved = torch.load(out, weights_only=True)
    assert "resume" not in saved["training"] and saved["training"]["step"] >= 1
    assert "resume" in torch.load(str(out) + ".training", weights_only=True)["training"]
    assert f"wrote {out}" in capsys.readouterr().out


def test_refined_latents_of_a_variable_rate_codec_code_at_its_current_lambda(model, rng):
    """`refine_latents` optimises the latents for the lambda the model is set to, and the
    refined file carries that lambda and decodes to the model's own reconstruction."""
    from aecodec.refine import refine_latents

    x = torch.rand(3, 32, 32, generator=rng)
    with model.at_lambda(0.0042):
        latents = refine_latents(model, x, 3, progress=False)
        data = compress(model, x, latents=latents)
        with torch.no_grad():
            means, _ = model.hyper_decode(torch.round(latents["z"]))
            y_hat = torch.round(latents["y"] - means) + means
            expected = quantize_8bit(model.decode(y_hat, (32, 32)))[0]
    assert read_header(data)["lmbda"] == pytest.approx(0.0042, rel=1e-6)
    assert torch.equal(decompress(model, data), expected)
