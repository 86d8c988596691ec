"""8-bit latents: bounded rounding error, honest byte counts, exact 8-bit reconstructions."""

import torch

from aecodec.latents8bit import from_8bit, reconstruct_8bit, to_8bit
from aecodec.metrics import psnr
from aecodec.models import Autoencoder


def test_round_trip_error_is_at_most_one_level():
    g = torch.Generator().manual_seed(0)
    y = torch.randn(2, 5, 7, 9, generator=g) * torch.tensor([0.1, 1, 10, 3, 0.5]).view(1, 5, 1, 1)
    latents = to_8bit(y)
    assert latents.q.dtype == torch.uint8 and latents.q.shape == y.shape
    y_hat = from_8bit(latents)
    step = (y.amax(dim=(2, 3)) - y.amin(dim=(2, 3))) / 255  # (N, C): one level per channel
    error = (y - y_hat).abs().amax(dim=(2, 3))
    assert torch.all(error <= step * 1.0 + 1e-6)
    assert latents.q.min() == 0 and latents.q.max() == 255  # the full range is used


def test_constant_channel_is_exact():
    y = torch.full((1, 2, 3, 3), 0.75)
    assert torch.equal(from_8bit(to_8bit(y)), y)


def test_byte_count():
    latents = to_8bit(torch.randn(1, 16, 8, 12))
    assert latents.num_bytes() == 16 * 8 * 12 + 16 * 4  # one byte per value, 4 per channel


def test_reconstruct_8bit():
    torch.manual_seed(0)
    model = Autoencoder(8, 2, 16).eval()
    x = torch.rand(1, 3, 30, 26)
    x_hat, num_bytes = reconstruct_8bit(model, x)
    assert x_hat.shape == x.shape
    assert torch.equal(x_hat, (x_hat * 255).round() / 255)  # 8-bit pixel values
    assert num_bytes == 8 * 8 * 7 + 8 * 4
    with torch.no_grad():
        float_x_hat = model(x)
    assert abs(psnr(x, x_hat) - psnr(x, float_x_hat)) < 0.5
