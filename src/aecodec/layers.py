"""Layers the models are built from, beyond PyTorch's own: `GDN` and `Upsample2x`.

Holds: `GDN` (generalized divisive normalization, the non-linearity of learned codecs) and
`Upsample2x` (a transposed convolution that exactly doubles height and width, computed so
that it gives the same bits with any number of CPU threads), plus `flush_denormal`, the
context under which training and coding run. Does not hold: the encoder and decoder built
from them (`aecodec.models`).
"""

import contextlib
from collections.abc import Iterator

import torch
import torch.nn.functional as F
from torch import nn


class GDN(nn.Module):
    """Generalized divisive normalization (Ballé et al. 2016), or its inverse.

    y_i = x_i / sqrt(beta_i + sum_j gamma_ij * x_j^2)       (GDN)
    y_i = x_i * sqrt(beta_i + sum_j gamma_ij * x_j^2)       (inverse GDN, for decoders)

    beta and gamma are kept positive by storing their square roots.

    Args:
        channels: channels of the input (N, C, H, W).
        inverse: multiply instead of divide.
    """

    def __init__(self, channels: int, inverse: bool = False):
        super().__init__()
        self.inverse = inverse
        self.beta_root = nn.Parameter(torch.ones(channels))
        self.gamma_root = nn.Parameter(torch.sqrt(0.1 * torch.eye(channels) + 1e-6))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        beta = self.beta_root**2 + 1e-6  # (C,)
        gamma = self.gamma_root**2  # (C, C)
        c = x.shape[1]
        norm = F.conv2d(x**2, gamma.view(c, c, 1, 1), beta)  # (N, C, H, W): beta + gamma x^2
        return x * torch.sqrt(norm) if self.inverse else x * torch.rsqrt(norm)


class Upsample2x(nn.ConvTranspose2d):
    """`nn.ConvTranspose2d(C_in, C_out, k, stride=2, padding=p, output_padding=2 + 2p - k)`:
    exactly doubles H and W, computed as one ordinary convolution.

    Same weights and same result (up to float rounding) as PyTorch's transposed convolution,
    but PyTorch's CPU transposed convolutions give different bits with different thread
    counts, and its ordinary ones in the channels-last layout do not; a decoder built from
    this layer therefore decodes a file to the same pixels on 1, 2 or more threads.

    How: a transposed convolution writes output pixel 2m + r (r = 0 or 1) from the inputs q
    with kernel tap t = 2m + r + p - 2q. So each of the four output phases (r, s) is an
    ordinary convolution of y with the taps of one parity; one convolution computes all
    four, as 4 C_out channels, and `pixel_shuffle` interleaves them into (C_out, 2h, 2w).

    Args:
        in_channels, out_channels: C_in and C_out.
        kernel_size: k (the kit uses 5).
        padding: p (the kit uses 2, so output_padding = 1).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 5,
                 padding: int = 2):
        super().__init__(in_channels, out_channels, kernel_size, stride=2, padding=padding,
                         output_padding=2 + 2 * padding - kernel_size)

    def phase_kernel(self) -> torch.Tensor:
        """The ordinary convolution's kernel (4 C_out, C_in, n, n): channel 4c + 2r + s."""
        k, p = self.kernel_size[0], self.padding[0]
        lo, hi = self._reach()
        taps = [[r + p - 2 * d if 0 <= r + p - 2 * d < k else k for d in range(lo, hi + 1)]
                for r in (0, 1)]  # the tap input m + d meets in phase r (k: none, a zero)
        weight = F.pad(self.weight.transpose(0, 1), (0, 1, 0, 1))  # (C_out, C_in, k+1, k+1)
        kernel = torch.stack([weight[:, :, rows][:, :, :, cols] for rows in taps
                              for cols in taps], dim=1)  # (C_out, 4, C_in, n, n)
        return kernel.flatten(0, 1)  # (4 C_out, C_in, n, n)

    def _reach(self) -> tuple[int, int]:
        """Output pixel m reads inputs m + lo .. m + hi."""
        k, p = self.kernel_size[0], self.padding[0]
        return -((k - 1 - p) // 2), (p + 1) // 2

    def forward(self, y: torch.Tensor, output_size=None) -> torch.Tensor:
        lo, hi = self._reach()
        y = F.pad(y, (-lo, hi, -lo, hi))  # (N, C_in, h + n - 1, w + n - 1)
        phases = F.conv2d(y.contiguous(memory_format=torch.channels_last), self.phase_kernel(),
                          self.bias.repeat_interleave(4))  # (N, 4 C_out, h, w)
        x = F.pixel_shuffle(phases, 2)  # (N, C_out, 2h, 2w)
        return x.contiguous(memory_format=torch.channels_last)


@contextlib.contextmanager
def flush_denormal() -> Iterator[None]:
    """Count denormal floats as zero inside the block, then restore the caller's setting.

    Numbers so tiny that the CPU stores them as "denormals" (rate training pushes many
    values towards zero) make CPU arithmetic many times slower; they never matter here.
    """
    was_on = (torch.tensor([1e-40]) * 2).item() == 0.0  # a denormal float32, flushed or not
    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_flush_denormal(was_on)
