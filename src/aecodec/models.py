"""Convolutional autoencoders: `ConvEncoder`, `ConvDecoder` and the `Autoencoder` joining them.

Holds: the three modules, their config dataclass `AutoencoderConfig`, and helpers that
say how big the latent is for an image (`latent_shape`, `num_latent_values`,
`compression_ratio`). Does not hold: quantization or entropy coding (a plain autoencoder
only shrinks the number of values; turning them into bytes comes later in the course).

Shapes, for k downsamplings and C latent channels:
    x      (N, 3, H, W)            images in [0, 1]
    y      (N, C, H/2^k, W/2^k)    latents (sizes rounded up)
    x_hat  (N, 3, H, W)            reconstructions in [0, 1]
"""

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

KERNEL = 5  # 5x5 kernels; padding 2 keeps "same" geometry, stride 2 halves H and W


@dataclass
class AutoencoderConfig:
    """Everything needed to rebuild an `Autoencoder` (stored in checkpoints)."""

    latent_channels: int = 16  # C: channels of y
    downsamplings: int = 3  # k: y is 2^k times smaller than x in height and width
    hidden_channels: int = 64  # width of the layers between x and y

    def __post_init__(self):
        for name in ("latent_channels", "downsamplings", "hidden_channels"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")


class ConvEncoder(nn.Module):
    """k strided 5x5 convolutions, ReLU between them: x (N, 3, H, W) -> y (N, C, H/2^k, W/2^k).

    Args:
        latent_channels: C, the channels of y.
        downsamplings: k, how many stride-2 convolutions.
        hidden_channels: channels of the layers in between.
    """

    def __init__(
        self, latent_channels: int = 16, downsamplings: int = 3, hidden_channels: int = 64
    ):
        super().__init__()
        widths = [3] + [hidden_channels] * (downsamplings - 1) + [latent_channels]
        layers = []
        for i in range(downsamplings):
            # output size: floor((H + 2*2 - 5) / 2) + 1 = ceil(H / 2)
            layers.append(nn.Conv2d(widths[i], widths[i + 1], KERNEL, stride=2, padding=2))
            if i < downsamplings - 1:
                layers.append(nn.ReLU())
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)  # (N, 3, H, W) -> (N, C, H/2^k, W/2^k)


class ConvDecoder(nn.Module):
    """The encoder's mirror: k transposed convolutions, y -> x_hat (N, 3, H, W) in [0, 1].

    Each `ConvTranspose2d(kernel 5, stride 2, padding 2, output_padding 1)` exactly doubles
    height and width: (h - 1) * 2 - 2 * 2 + 5 + 1 = 2h. Without output_padding=1 it would
    give 2h - 1, because a stride-2 convolution maps both 2h and 2h - 1 pixels to h.
    A sigmoid at the end keeps x_hat in [0, 1].

    Args:
        latent_channels: C, the channels of y.
        downsamplings: k, how many stride-2 upsamplings.
        hidden_channels: channels of the layers in between.
    """

    def __init__(
        self, latent_channels: int = 16, downsamplings: int = 3, hidden_channels: int = 64
    ):
        super().__init__()
        widths = [latent_channels] + [hidden_channels] * (downsamplings - 1) + [3]
        layers = []
        for i in range(downsamplings):
            layers.append(
                nn.ConvTranspose2d(
                    widths[i], widths[i + 1], KERNEL, stride=2, padding=2, output_padding=1
                )
            )
            layers.append(nn.ReLU() if i < downsamplings - 1 else nn.Sigmoid())
        self.layers = nn.Sequential(*layers)

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        return self.layers(y)  # (N, C, h, w) -> (N, 3, h * 2^k, w * 2^k)


def _check_images(x: torch.Tensor) -> None:
    if not isinstance(x, torch.Tensor) or x.dim() != 4 or x.shape[1] != 3:
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"expected images x of shape (N, 3, H, W), got {shape}")


def pad_to_multiple(x: torch.Tensor, multiple: int) -> torch.Tensor:
    """Pad x (N, C, H, W) on the right and bottom, repeating edge pixels, to multiples."""
    height, width = x.shape[-2:]
    pad_h, pad_w = -height % multiple, -width % multiple
    if pad_h == 0 and pad_w == 0:
        return x
    return F.pad(x, (0, pad_w, 0, pad_h), mode="replicate")  # (N, C, H', W')


class Autoencoder(nn.Module):
    """Encoder + decoder. Any image size works: x is padded to a multiple of 2^k, then
    x_hat is cropped back to the input size.

    Args:
        latent_channels: C, channels of the latent y.
        downsamplings: k, y is 2^k times smaller than x in each direction.
        hidden_channels: width of the hidden layers.
    """

    def __init__(
        self, latent_channels: int = 16, downsamplings: int = 3, hidden_channels: int = 64
    ):
        super().__init__()
        self.config = AutoencoderConfig(latent_channels, downsamplings, hidden_channels)
        self.encoder = ConvEncoder(latent_channels, downsamplings, hidden_channels)
        self.decoder = ConvDecoder(latent_channels, downsamplings, hidden_channels)

    @classmethod
    def from_config(cls, config: "AutoencoderConfig | dict") -> "Autoencoder":
        """Build an untrained model from a config (or its dict form, as in checkpoints)."""
        if isinstance(config, dict):
            config = AutoencoderConfig(**config)
        return cls(**asdict(config))

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """x (N, 3, H, W) -> y (N, C, ceil(H/2^k), ceil(W/2^k))."""
        _check_images(x)
        x = pad_to_multiple(x, 2 ** self.config.downsamplings)  # (N, 3, H', W')
        return self.encoder(x)  # (N, C, H'/2^k, W'/2^k)

    def decode(self, y: torch.Tensor, size: tuple[int, int] | None = None) -> torch.Tensor:
        """y (N, C, h, w) -> x_hat (N, 3, H, W), cropped to `size` = (H, W) if given."""
        x_hat = self.decoder(y)  # (N, 3, h * 2^k, w * 2^k)
        if size is not None:
            x_hat = x_hat[..., : size[0], : size[1]]  # (N, 3, H, W)
        return x_hat

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.encode(x)  # (N, C, H/2^k, W/2^k)
        return self.decode(y, size=x.shape[-2:])  # (N, 3, H, W)

    def latent_shape(self, height: int, width: int) -> tuple[int, int, int]:
        return latent_shape(height, width, self.config)

    def num_latent_values(self, height: int, width: int) -> int:
        return num_latent_values(height, width, self.config)

    def compression_ratio(self, height: int, width: int) -> float:
        return compression_ratio(height, width, self.config)


def latent_shape(height: int, width: int, config: AutoencoderConfig) -> tuple[int, int, int]:
    """(C, h, w) of the latent y for an image of `height` x `width` pixels.

    Args:
        height, width: the image size in pixels.
        config: the model's config.
    """
    scale = 2 ** config.downsamplings
    return config.latent_channels, math.ceil(height / scale), math.ceil(width / scale)


def num_latent_values(height: int, width: int, config: AutoencoderConfig) -> int:
    """How many numbers the latent y of one image holds (C * h * w)."""
    channels, h, w = latent_shape(height, width, config)
    return channels * h * w


def compression_ratio(height: int, width: int, config: AutoencoderConfig) -> float:
    """Bytes of the 8-bit RGB image / bytes of the latent stored as 8-bit values.

    3 * H * W pixel values against C * h * w latent values, one byte each. This counts
    values, not a real file: entropy coding (later in the course) does much better.
    """
    return 3 * height * width / num_latent_values(height, width, config)
