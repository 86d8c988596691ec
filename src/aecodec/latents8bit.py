"""Storing latents as 8-bit numbers, so a plain autoencoder's size claims are honest.

Holds: `Latents8bit`, `to_8bit` and `from_8bit`, and `reconstruct_8bit`, which encodes,
stores y in 8 bits and decodes. Does not hold: rounding latents to integers for entropy
coding (`aecodec.entropy.quantize`) or a file format (`aecodec.codec`).

Each latent channel c gets its own range [low_c, high_c] (its min and max over the
image), and every value is rounded to one of 256 levels in that range:

    q = round(255 * (y - low) / (high - low))        # uint8, one byte per value
    y_hat = low + q * (high - low) / 255             # what the decoder sees

The ranges are stored as float16: 4 bytes per channel of side information.
"""

from dataclasses import dataclass

import torch

from aecodec.metrics import quantize_8bit
from aecodec.models import Autoencoder


@dataclass
class Latents8bit:
    """Latents stored as bytes: q (N, C, h, w) uint8 plus per-channel ranges (N, C)."""

    q: torch.Tensor
    low: torch.Tensor
    high: torch.Tensor

    def num_bytes(self) -> int:
        """Bytes to store: one per latent value, plus 2 float16 (4 bytes) per channel."""
        return self.q.numel() + 2 * 2 * self.low.numel()


def to_8bit(y: torch.Tensor) -> Latents8bit:
    """y (N, C, h, w) float -> 8-bit codes with per-channel ranges."""
    low = y.amin(dim=(2, 3)).half()  # (N, C)
    high = y.amax(dim=(2, 3)).half()  # (N, C)
    low_f, high_f = low.float()[..., None, None], high.float()[..., None, None]  # (N, C, 1, 1)
    span = (high_f - low_f).clamp_min(1e-8)
    q = ((y - low_f) / span * 255).round().clamp(0, 255).to(torch.uint8)  # (N, C, h, w)
    return Latents8bit(q, low, high)


def from_8bit(latents: Latents8bit) -> torch.Tensor:
    """8-bit codes -> y_hat (N, C, h, w) float."""
    low = latents.low.float()[..., None, None]  # (N, C, 1, 1)
    high = latents.high.float()[..., None, None]
    return low + latents.q.float() * (high - low) / 255  # (N, C, h, w)


@torch.no_grad()
def reconstruct_8bit(model: Autoencoder, x: torch.Tensor) -> tuple[torch.Tensor, int]:
    """Encode x (N, 3, H, W), store y in 8 bits, decode.

    Returns:
        x_hat (N, 3, H, W) rounded to 8-bit pixels, and the bytes the latents take.
    """
    y = model.encode(x)  # (N, C, h, w)
    latents = to_8bit(y)
    y_hat = from_8bit(latents)  # (N, C, h, w)
    x_hat = model.decode(y_hat, size=x.shape[-2:])  # (N, 3, H, W)
    x_hat = quantize_8bit(x_hat)  # what a saved 8-bit image holds
    return x_hat, latents.num_bytes()
