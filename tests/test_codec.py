"""The codec: exact round trips, files that mirror the model, honest sizes, checked headers."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from aecodec.checkpoint import load_model, save_checkpoint
from aecodec.codec import (
    CRC,
    HEADER,
    CodecError,
    compress,
    decode_latents,
    decompress,
    encode_latents,
    model_id,
)
from aecodec.losses import rd_loss
from aecodec.metrics import quantize_8bit
from aecodec.models import RateDistortionAutoencoder


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    m = RateDistortionAutoencoder(latent_channels=6, downsamplings=2, hidden_channels=8).eval()
    with torch.no_grad():  # a prior that is not the symmetric initial one
        for p in m.prior.parameters():
            p.add_(0.3 * torch.randn_like(p))
    m.prior.update_tables()
    return m


def test_tables_are_valid_integer_distributions(model):
    for c in range(6):
        length = int(model.prior.cdf_lengths[c])
        counts = model.prior.cdf_counts[c, :length]
        assert counts.dtype == torch.int32 and counts.sum() == 2**16
        assert torch.all(counts >= 1)
        assert torch.all(model.prior.cdf_counts[c, length:] == 0)


@settings(max_examples=60, deadline=None)
@given(
    shape=st.tuples(st.integers(1, 6), st.integers(1, 9), st.integers(1, 9)),
    scale=st.sampled_from([0.5, 3.0, 30.0, 1e4]),
    seed=st.integers(0, 2**16),
    tails=st.lists(st.integers(-(2**30), 2**30), max_size=4),
)
def test_latents_round_trip_exactly(model, shape, scale, seed, tails):
    g = torch.Generator().manual_seed(seed)
    c = shape[0]
    y_hat = (torch.randn((6, *shape[1:]), generator=g) * scale).round().long()[:c]
    flat = y_hat.view(-1)
    for i, value in enumerate(tails):  # values far out in the tails go through escapes
        flat[(i * 7) % flat.numel()] = value
    full = torch.zeros((6, *shape[1:]), dtype=torch.long)
    full[:c] = y_hat
    stream = encode_latents(model.prior, full)
    assert torch.equal(decode_latents(model.prior, stream, tuple(full.shape)), full)


@pytest.mark.parametrize("size", [(24, 24), (37, 50)])
def test_decoded_image_is_the_models_reconstruction_of_the_rounded_latents(model, size):
    """No second decoder path: a file decodes to exactly `model.decode` of its latents."""
    x = torch.rand(3, *size)
    x_hat = decompress(model, compress(model, x))  # (3, H, W)
    with torch.no_grad():
        y_hat = torch.round(model.encode(x[None]))  # (1, C, h, w)
        expected = quantize_8bit(model.decode(y_hat, size=size))[0]  # (3, H, W)
    assert torch.equal(x_hat, expected)


def test_compress_twice_gives_identical_bytes(model):
    x = torch.rand(3, 40, 40)
    assert compress(model, x) == compress(model, x)


def test_real_size_matches_the_tables_estimate(model):
    # symbols drawn from the tables themselves: the coder should cost their entropy
    rng = np.random.default_rng(0)
    y_hat = torch.empty(6, 64, 64, dtype=torch.long)
    ideal_bits = 0.0
    for c in range(6):
        length = int(model.prior.cdf_lengths[c])
        p = model.prior.cdf_counts[c, : length - 1].double().numpy() / 2**16
        symbols = rng.choice(length - 1, size=64 * 64, p=p / p.sum())
        y_hat[c] = torch.from_numpy(symbols).view(64, 64) + int(model.prior.cdf_offsets[c])
        ideal_bits += -np.log2(p[symbols]).sum()
    real_bits = 8 * len(encode_latents(model.prior, y_hat))
    assert real_bits <= ideal_bits * 1.01 + 64
    assert real_bits >= ideal_bits * 0.99


def test_header_is_a_few_dozen_bytes(model):
    data = compress(model, torch.rand(3, 16, 16))
    assert HEADER.size + CRC.size == 35
    assert len(data) == 35 + HEADER.unpack_from(data)[-1]


@pytest.mark.parametrize("damage, message", [
    (lambda d: b"", "only 0 bytes"),
    (lambda d: b"PNG!" + d[4:], "wrong magic"),
    (lambda d: d[:4] + bytes([9]) + d[5:], "version 9"),
    (lambda d: d[:-10], "truncated"),
    (lambda d: d + b"\0", "truncated or padded"),
    (lambda d: d[:40] + bytes([d[40] ^ 1]) + d[41:], "checksum mismatch"),
])
def test_damaged_files_are_refused_with_a_clear_message(model, damage, message):
    data = compress(model, torch.rand(3, 32, 32))
    with pytest.raises(CodecError, match=message):
        decompress(model, damage(data))


def test_file_from_another_model_is_refused(model):
    torch.manual_seed(1)
    other = RateDistortionAutoencoder(6, 2, 8).eval()
    other.prior.update_tables()
    assert model_id(other) != model_id(model)
    with pytest.raises(CodecError, match="another model"):
        decompress(other, compress(model, torch.rand(3, 16, 16)))


def test_model_without_tables_is_refused():
    with pytest.raises(CodecError, match="update_tables"):
        compress(RateDistortionAutoencoder(4, 2, 8), torch.rand(3, 8, 8))


def test_checkpoint_keeps_the_tables_and_the_model_id(model, tmp_path):
    save_checkpoint(tmp_path / "rd.pt", model)
    loaded = load_model(tmp_path / "rd.pt")
    assert isinstance(loaded, RateDistortionAutoencoder)
    assert model_id(loaded) == model_id(model)
    x = torch.rand(3, 24, 24)
    assert decompress(loaded, compress(model, x)).shape == (3, 24, 24)


def test_a_version_1_checkpoint_still_loads_with_its_tables_and_model_id(model, tmp_path):
    """The first edition kept the tables on the model (cdf_counts, not prior.cdf_counts)."""
    save_checkpoint(tmp_path / "rd.pt", model)
    state = torch.load(tmp_path / "rd.pt", weights_only=True)
    state["version"] = 1
    state["model"] = {name.removeprefix("prior.") if "cdf_" in name else name: t
                      for name, t in state["model"].items()}
    torch.save(state, tmp_path / "v1.pt")
    assert model_id(load_model(tmp_path / "v1.pt")) == model_id(model)


def test_rate_distortion_loss_trades_bits_for_quality():
    torch.manual_seed(0)
    x = torch.rand(2, 3, 32, 32)
    assert rd_loss(0.001, 0.5, 0.01) == pytest.approx(0.01 * 255**2 * 0.001 + 0.5)
    for lmbda in (0.001, 0.1):
        m = RateDistortionAutoencoder(4, 2, 8, lmbda=lmbda).train()
        loss, parts = m.loss(x)
        expected = lmbda * 255**2 * parts["mse"] + parts["bpp"]
        assert math.isclose(loss.item(), expected, rel_tol=1e-4)
        assert parts["bpp"] > 0
