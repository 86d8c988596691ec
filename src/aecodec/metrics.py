"""Quality and size measures: `mse`, `psnr`, `ms_ssim`, `bpp`, `quantize_8bit`.

Conventions:
- Images are x (N, 3, H, W) or (3, H, W) with values in [0, 1]; 1.0 is white, the value
  255 of an 8-bit image.
- PSNR is in dB with a peak of 1.0 (= 255 in 8-bit terms): 10 * log10(1 / MSE). It is
  computed per image and then averaged over the batch, as compression papers do. To
  measure what a saved 8-bit file would give, round x_hat with `quantize_8bit` first.
- MS-SSIM (multi-scale structural similarity, 1.0 = identical) comes from the
  `pytorch-msssim` library, with its default 5 scales and 11x11 Gaussian window.
- bpp (bits per pixel) is 8 * bytes / (H * W): bytes of a real file, per image pixel.
"""

import math

import torch
from pytorch_msssim import ms_ssim as _ms_ssim

MS_SSIM_MIN_SIDE = 161  # 5 scales of an 11x11 window need (11 - 1) * 2^4 < side


def _as_batch(x: torch.Tensor, x_hat: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    if x.shape != x_hat.shape:
        raise ValueError(f"x and x_hat differ in shape: {tuple(x.shape)} vs {tuple(x_hat.shape)}")
    if x.dim() == 3:
        x, x_hat = x.unsqueeze(0), x_hat.unsqueeze(0)  # (1, 3, H, W)
    if x.dim() != 4:
        raise ValueError(f"expected (N, C, H, W) or (C, H, W) images, got {tuple(x.shape)}")
    return x.float(), x_hat.float()


def quantize_8bit(x: torch.Tensor) -> torch.Tensor:
    """Round values in [0, 1] to the 256 levels of an 8-bit image (clamping first)."""
    return (x.clamp(0, 1) * 255).round() / 255


def mse(x: torch.Tensor, x_hat: torch.Tensor) -> torch.Tensor:
    """Mean squared error over every value, as a 0-dim tensor (differentiable)."""
    x, x_hat = _as_batch(x, x_hat)
    return ((x - x_hat) ** 2).mean()


def psnr(x: torch.Tensor, x_hat: torch.Tensor) -> float:
    """Peak signal-to-noise ratio in dB, peak 1.0, averaged over the images of a batch.

    Identical images give infinity.
    """
    x, x_hat = _as_batch(x, x_hat)
    per_image_mse = ((x - x_hat) ** 2).mean(dim=(1, 2, 3))  # (N,)
    values = [math.inf if m == 0 else -10 * math.log10(m) for m in per_image_mse.tolist()]
    return sum(values) / len(values)


def ms_ssim(x: torch.Tensor, x_hat: torch.Tensor) -> float:
    """MS-SSIM in [0, 1] (1 = identical), averaged over a batch. Needs sides >= 161 px."""
    x, x_hat = _as_batch(x, x_hat)
    if min(x.shape[-2:]) < MS_SSIM_MIN_SIDE:
        raise ValueError(
            f"MS-SSIM needs images at least {MS_SSIM_MIN_SIDE} px on each side, "
            f"got {x.shape[-2]}x{x.shape[-1]}"
        )
    return float(_ms_ssim(x, x_hat, data_range=1.0, size_average=True))


def bpp(num_bytes: int, height: int, width: int) -> float:
    """Bits per pixel of a file of `num_bytes` bytes holding a `height` x `width` image."""
    if height <= 0 or width <= 0:
        raise ValueError(f"image size must be positive, got {height}x{width}")
    return 8 * num_bytes / (height * width)
