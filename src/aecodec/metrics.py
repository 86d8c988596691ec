"""Quality and size measures: `mse`, `psnr`, `ms_ssim`, `bpp`, `quantize_8bit`.

Conventions:
- Images are x (N, 3, H, W) or (3, H, W) with values in [0, 1]; 1.0 is white, the value
  255 of an 8-bit image.
- PSNR is in dB with a peak of 1.0 (= 255 in 8-bit terms): 10 * log10(1 / MSE). It is
  computed per image and then averaged over the batch, as most papers and CompressAI's
  evaluation do (some report the PSNR of the mean MSE instead). To
  measure what a saved 8-bit file would give, round x_hat with `quantize_8bit` first.
- MS-SSIM (multi-scale structural similarity, 1.0 = identical) follows Wang, Simoncelli
  and Bovik (2003) with the usual settings: 5 scales, an 11x11 Gaussian window with
  sigma 1.5, K1 = 0.01, K2 = 0.03. It is written out here (blurring all five local
  statistics in one batched convolution, much faster on a CPU than grouped ones), and
  the tests check it against the `pytorch-msssim` library.
- bpp (bits per pixel) is 8 * bytes / (H * W): bytes of a real file, per image pixel.
"""

import math

import torch
import torch.nn.functional as F

MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)  # one per scale, fine to coarse
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


def _gaussian_window(size: int = 11, sigma: float = 1.5) -> torch.Tensor:
    coords = torch.arange(size, dtype=torch.float32) - size // 2
    window = torch.exp(-(coords**2) / (2 * sigma**2))
    return window / window.sum()  # (size,)


def _ssim_and_contrast(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean SSIM and mean contrast-structure term of each channel: x, y (N, C, H, W) -> (N, C)."""
    n, c, h, w = x.shape
    window = _gaussian_window()
    stats = torch.stack([x, y, x * x, y * y, x * y], dim=2)  # (N, C, 5, H, W)
    stats = stats.reshape(n * c * 5, 1, h, w)  # every statistic blurred by one conv
    stats = F.conv2d(stats, window.view(1, 1, 1, -1))  # blur along W ("valid", no padding)
    stats = F.conv2d(stats, window.view(1, 1, -1, 1))  # blur along H
    mu_x, mu_y, xx, yy, xy = stats.reshape(n, c, 5, *stats.shape[-2:]).unbind(dim=2)
    var_x, var_y, cov = xx - mu_x**2, yy - mu_y**2, xy - mu_x * mu_y
    c1, c2 = 0.01**2, 0.03**2  # (K1 * peak)^2, (K2 * peak)^2 with peak 1
    contrast = (2 * cov + c2) / (var_x + var_y + c2)
    luminance = (2 * mu_x * mu_y + c1) / (mu_x**2 + mu_y**2 + c1)
    return (luminance * contrast).mean(dim=(-2, -1)), contrast.mean(dim=(-2, -1))  # (N, C)


def ms_ssim(x: torch.Tensor, x_hat: torch.Tensor) -> float:
    """MS-SSIM in [0, 1] (1 = identical), averaged over a batch. Needs sides >= 161 px."""
    x, x_hat = _as_batch(x, x_hat)
    if min(x.shape[-2:]) < MS_SSIM_MIN_SIDE:
        raise ValueError(
            f"MS-SSIM needs images at least {MS_SSIM_MIN_SIDE} px on each side, "
            f"got {x.shape[-2]}x{x.shape[-1]}"
        )
    factors = []
    for scale in range(len(MS_SSIM_WEIGHTS)):
        ssim, contrast = _ssim_and_contrast(x, x_hat)  # (N, C) each
        if scale < len(MS_SSIM_WEIGHTS) - 1:
            factors.append(contrast.relu())
            padding = (x.shape[-2] % 2, x.shape[-1] % 2)
            x = F.avg_pool2d(x, 2, padding=padding)  # next, coarser scale
            x_hat = F.avg_pool2d(x_hat, 2, padding=padding)
    factors.append(ssim.relu())  # the coarsest scale also counts luminance
    weights = torch.tensor(MS_SSIM_WEIGHTS).view(-1, 1, 1)
    per_channel = torch.prod(torch.stack(factors) ** weights, dim=0)  # (N, C)
    return per_channel.mean().item()


def bpp(num_bytes: int, height: int, width: int) -> float:
    """Bits per pixel of a file of `num_bytes` bytes holding a `height` x `width` image."""
    if height <= 0 or width <= 0:
        raise ValueError(f"image size must be positive, got {height}x{width}")
    return 8 * num_bytes / (height * width)
