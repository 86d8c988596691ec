"""Encoder, decoder and autoencoder shapes, mirroring, and the size helpers."""

import math

import pytest
import torch
from torch import nn

from aecodec.models import (
    Autoencoder,
    AutoencoderConfig,
    ConvDecoder,
    ConvEncoder,
    compression_ratio,
    latent_shape,
    num_latent_values,
)

SIZES = [(1, 1), (2, 3), (7, 5), (17, 33), (32, 32), (64, 48), (100, 37)]


@pytest.mark.parametrize("k", [1, 2, 3, 4])
@pytest.mark.parametrize("size", SIZES)
def test_any_size_round_trips_to_the_same_shape(k, size):
    model = Autoencoder(latent_channels=4, downsamplings=k, hidden_channels=8)
    x = torch.rand(2, 3, *size)
    y = model.encode(x)
    assert y.shape == (2, 4, math.ceil(size[0] / 2**k), math.ceil(size[1] / 2**k))
    assert y.shape[1:] == model.latent_shape(*size)
    x_hat = model(x)
    assert x_hat.shape == x.shape
    assert x_hat.min() >= 0 and x_hat.max() <= 1


@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_decoder_mirrors_encoder(k):
    encoder, decoder = ConvEncoder(6, k, 16), ConvDecoder(6, k, 16)
    convs = [m for m in encoder.modules() if isinstance(m, nn.Conv2d)]
    deconvs = [m for m in decoder.modules() if isinstance(m, nn.ConvTranspose2d)]
    assert len(convs) == len(deconvs) == k
    for conv, deconv in zip(convs, reversed(deconvs)):
        assert (conv.in_channels, conv.out_channels) == (deconv.out_channels, deconv.in_channels)
        assert conv.kernel_size == deconv.kernel_size and conv.stride == deconv.stride
    # every decoder stage exactly undoes the size change of the matching encoder stage
    x = torch.rand(1, 3, 16 * 2**k, 8 * 2**k)
    assert decoder(encoder(x)).shape == x.shape


def test_non_multiple_sizes_are_padded_by_repeating_edges():
    model = Autoencoder(4, 2, 8)
    x = torch.rand(1, 3, 5, 6)
    # the padded input the encoder sees: rows/columns copied from the last ones
    from aecodec.models import pad_to_multiple
    padded = pad_to_multiple(x, 4)
    assert padded.shape == (1, 3, 8, 8)
    assert torch.equal(padded[..., 5:, :6], x[..., 4:5, :].expand(1, 3, 3, 6))
    assert torch.equal(model.encode(x), model.encoder(padded))


def test_size_helpers():
    config = AutoencoderConfig(latent_channels=16, downsamplings=3)
    assert latent_shape(512, 768, config) == (16, 64, 96)
    assert num_latent_values(512, 768, config) == 16 * 64 * 96
    assert compression_ratio(512, 768, config) == pytest.approx(3 * 64 / 16)
    # sizes are rounded up: a 9x9 image still needs a 2x2 latent at k=3
    assert latent_shape(9, 9, config) == (16, 2, 2)


def test_config_round_trip_and_validation():
    model = Autoencoder(5, 2, 12)
    rebuilt = Autoencoder.from_config(vars(model.config))
    assert rebuilt.config == model.config
    for bad in (dict(latent_channels=0), dict(downsamplings=-1), dict(hidden_channels=2.5)):
        with pytest.raises(ValueError, match="positive integer"):
            AutoencoderConfig(**bad)


def test_wrong_input_shape_is_a_clear_error():
    model = Autoencoder(4, 2, 8)
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\)"):
        model(torch.rand(3, 16, 16))
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\)"):
        model(torch.rand(1, 1, 16, 16))
