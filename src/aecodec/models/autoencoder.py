"""The plain convolutional autoencoder: `ConvEncoder`, `ConvDecoder`, the `Autoencoder`
joining them, its `AutoencoderConfig`, `pad_to_multiple`, and helpers that say how big
the latent is for an image (`latent_shape`, `num_latent_values`, `compression_ratio`).
Does not hold: any entropy model (the codecs beside it in this package).
"""

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from aecodec.layers import GDN, Upsample2x

KERNEL = 5  # 5x5 kernels; padding 2 keeps "same" geometry, stride 2 halves H and W


@dataclass(frozen=True)
class AutoencoderConfig:
    """Everything needed to rebuild an `Autoencoder` (stored in checkpoints)."""

    latent_channels: int = 16  # C: channels of y
    downsamplings: int = 3  # k: y is 2^k times smaller than x in height and width
    hidden_channels: int = 64  # width of the layers between x and y
    gdn: bool = False  # GDN instead of ReLU between layers

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
        gdn: use GDN (divisive normalization, see `aecodec.layers.GDN`) instead of ReLU.
    """

    def __init__(
        self, latent_channels: int = 16, downsamplings: int = 3, hidden_channels: int = 64,
        gdn: bool = False,
    ):
        super().__init__()
        widths = [3] + [hidden_channels] * (downsamplings - 1) + [latent_channels]
        layers = []
        for i in range(downsamplings):
            # output size: floor((H + 2*2 - 5) / 2) + 1 = ceil(H / 2)
            layers.append(nn.Conv2d(widths[i], widths[i + 1], KERNEL, stride=2, padding=2))
            if i < downsamplings - 1:
                layers.append(GDN(widths[i + 1]) if gdn else nn.ReLU())
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.contiguous(memory_format=torch.channels_last)
        return self.layers(x)  # (N, 3, H, W) -> (N, C, H/2^k, W/2^k)


class ConvDecoder(nn.Module):
    """The encoder's mirror: k transposed convolutions, y -> x_hat (N, 3, H, W) in [0, 1].

    Each transposed convolution (kernel 5, stride 2, padding 2, output_padding 1) exactly
    doubles height and width: (h - 1) * 2 - 2 * 2 + 5 + 1 = 2h. Without output_padding=1 it
    would give 2h - 1, because a stride-2 convolution maps both 2h and 2h - 1 pixels to h.
    They are `Upsample2x` layers: an `nn.ConvTranspose2d` with the same weights, computed in
    a way that gives the same pixels on any number of threads. A sigmoid at the end keeps
    x_hat in [0, 1].

    Args:
        latent_channels: C, the channels of y.
        downsamplings: k, how many stride-2 upsamplings.
        hidden_channels: channels of the layers in between.
        gdn: use inverse GDN instead of ReLU.
    """

    def __init__(
        self, latent_channels: int = 16, downsamplings: int = 3, hidden_channels: int = 64,
        gdn: bool = False,
    ):
        super().__init__()
        widths = [latent_channels] + [hidden_channels] * (downsamplings - 1) + [3]
        layers = []
        for i in range(downsamplings):
            layers.append(Upsample2x(widths[i], widths[i + 1], KERNEL, padding=2))
            if i < downsamplings - 1:
                layers.append(GDN(widths[i + 1], inverse=True) if gdn else nn.ReLU())
            else:
                layers.append(nn.Sigmoid())
        self.layers = nn.Sequential(*layers)

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        y = y.contiguous(memory_format=torch.channels_last)
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
        gdn: GDN / inverse GDN instead of ReLU between layers.
    """

    def __init__(
        self, latent_channels: int = 16, downsamplings: int = 3, hidden_channels: int = 64,
        gdn: bool = False,
    ):
        super().__init__()
        self.config = AutoencoderConfig(latent_channels, downsamplings, hidden_channels, gdn)
        self.encoder = ConvEncoder(latent_channels, downsamplings, hidden_channels, gdn)
        self.decoder = ConvDecoder(latent_channels, downsamplings, hidden_channels, gdn)

    @classmethod
    def from_config(cls, config: "AutoencoderConfig | dict") -> "Autoencoder":
        """Build an untrained model from a config (or its dict form, as in checkpoints)."""
        return cls(**(config if isinstance(config, dict) else asdict(config)))

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """x (N, 3, H, W) -> y (N, C, ceil(H/2^k), ceil(W/2^k))."""
        _check_images(x)
        x = pad_to_multiple(x, 2 ** self.config.downsamplings)  # (N, 3, H', W')
        return self.analysis_transform(x)  # (N, C, H'/2^k, W'/2^k)

    def analysis_transform(self, x: torch.Tensor) -> torch.Tensor:
        """The encoder on an already padded x (N, 3, H', W') -> y (N, C, H'/2^k, W'/2^k)
        (`aecodec.codec.analysis` calls it tile by tile)."""
        return self.encoder(x)

    def decode(self, y: torch.Tensor, size: tuple[int, int] | None = None) -> torch.Tensor:
        """y (N, C, h, w) -> x_hat (N, 3, H, W), cropped to `size` = (H, W) if given."""
        x_hat = self.decoder(y)  # (N, 3, h * 2^k, w * 2^k)
        if size is not None:
            x_hat = x_hat[..., : size[0], : size[1]]  # (N, 3, H, W)
        return x_hat

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.encode(x)  # (N, C, H/2^k, W/2^k)
        return self.decode(y, size=x.shape[-2:])  # (N, 3, H, W)

    def loss(self, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        """The training loss: MSE between x_hat and x, and {"mse": its value}."""
        loss = F.mse_loss(self(x).float(), x)  # float32 even under mixed precision
        return loss, {"mse": loss.item()}

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
