"""Metrics against values computed by hand."""

import math

import pytest
import torch

from aecodec.metrics import bpp, ms_ssim, mse, psnr, quantize_8bit


def test_mse_by_hand():
    x = torch.zeros(1, 3, 2, 2)
    x_hat = x.clone()
    x_hat[0, 0, 0, 0] = 0.5  # one value off by 0.5 out of 12
    assert mse(x, x_hat).item() == pytest.approx(0.25 / 12)


def test_psnr_by_hand():
    x = torch.zeros(3, 4, 4)
    # off by exactly 0.1 everywhere: MSE 0.01, PSNR = 10 log10(1 / 0.01) = 20 dB
    assert psnr(x, x + 0.1) == pytest.approx(20.0, abs=1e-4)
    # one 8-bit level everywhere: 20 log10(255) = 48.13 dB
    assert psnr(x, x + 1 / 255) == pytest.approx(20 * math.log10(255), abs=1e-3)
    assert psnr(x, x) == math.inf


def test_psnr_averages_per_image():
    x = torch.zeros(2, 3, 4, 4)
    x_hat = torch.stack([x[0] + 0.1, x[1] + 0.01])  # 20 dB and 40 dB
    assert psnr(x, x_hat) == pytest.approx(30.0, abs=1e-3)


def test_ms_ssim():
    torch.manual_seed(0)
    x = torch.rand(1, 3, 192, 192)
    assert ms_ssim(x, x) == pytest.approx(1.0, abs=1e-6)
    slightly = (x + 0.02 * torch.randn_like(x)).clamp(0, 1)
    very = (x + 0.3 * torch.randn_like(x)).clamp(0, 1)
    assert 1.0 > ms_ssim(x, slightly) > ms_ssim(x, very) > 0
    with pytest.raises(ValueError, match="at least 161 px"):
        ms_ssim(x[..., :100, :100], x[..., :100, :100])


@pytest.mark.parametrize("size, noise", [((192, 192), 0.02), ((200, 301), 0.1),
                                         ((171, 165), 0.3)])
def test_ms_ssim_matches_the_pytorch_msssim_library(size, noise):
    from pytorch_msssim import ms_ssim as reference

    g = torch.Generator().manual_seed(size[0])
    x = torch.rand(2, 3, *size, generator=g)
    x_hat = (x + noise * torch.randn(x.shape, generator=g)).clamp(0, 1)
    expected = reference(x, x_hat, data_range=1.0, size_average=True).item()
    assert ms_ssim(x, x_hat) == pytest.approx(expected, abs=1e-5)


def test_shape_mismatch():
    with pytest.raises(ValueError, match="differ in shape"):
        psnr(torch.zeros(3, 4, 4), torch.zeros(3, 4, 5))


def test_bpp_by_hand():
    assert bpp(num_bytes=1000, height=100, width=80) == pytest.approx(1.0)
    assert bpp(3 * 512 * 768, 512, 768) == pytest.approx(24.0)  # raw 8-bit RGB
    with pytest.raises(ValueError):
        bpp(10, 0, 5)


def test_quantize_8bit():
    x = torch.tensor([-1.0, 0.0, 0.5, 1 / 255 * 0.6, 2.0])
    assert (quantize_8bit(x) * 255).tolist() == pytest.approx([0, 0, 128, 1, 255])
