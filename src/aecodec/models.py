"""Convolutional autoencoders: `ConvEncoder`, `ConvDecoder`, the `Autoencoder` joining them,
the `RateDistortionAutoencoder` that adds an entropy model and becomes a codec, the
`HyperpriorAutoencoder` that sends side information about its latents, and the
`VariableRateHyperprior`, one hyperprior codec for every lambda of a range.

Holds: the modules, their config dataclasses (`AutoencoderConfig`, `RateDistortionConfig`,
`HyperpriorConfig`, `VariableRateConfig`, whose defaults are the shipped models'),
`pad_to_multiple`, and helpers that say how big the latent is for an image
(`latent_shape`, `num_latent_values`, `compression_ratio`). Does not hold: the layers
(`aecodec.layers`), the entropy models (`aecodec.entropy`), the loss formula
(`aecodec.losses`) or writing bytes (`aecodec.codec`). A plain autoencoder only shrinks
the number of values; the course turns them into bytes in notebooks 06-07.

Both networks compute in PyTorch's channels-last layout: on a CPU it is faster, and its
convolutions give the same bits with any number of threads, which a codec needs (a file
must decode to the same pixels everywhere; see `aecodec.layers.Upsample2x`).

Shapes, for k downsamplings and C latent channels:
    x      (N, 3, H, W)            images in [0, 1]
    y      (N, C, H/2^k, W/2^k)    latents (sizes rounded up)
    x_hat  (N, 3, H, W)            reconstructions in [0, 1]
"""

import contextlib
import math
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from aecodec.entropy import (
    CodingTables,
    FactorizedPrior,
    GaussianConditional,
    estimated_bits,
    gaussian_likelihood,
    quantize,
)
from aecodec.errors import CodecError
from aecodec.layers import GDN, Upsample2x
from aecodec.losses import rd_loss
from aecodec.rangecoder import StreamReader, StreamWriter

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


LATENT_INIT_GAIN = 20.0  # see RateDistortionAutoencoder.__init__

Rounding = Callable[[torch.Tensor], torch.Tensor]  # latents -> rounded latents


class Codec(Autoencoder):
    """An autoencoder that writes .aec files: the protocol between a codec model and the
    file container `aecodec.codec`, which only frames what these methods give (header,
    checksum, model id, tiles) and never asks which family a model is.

    Latents are named: "y" (the latent, (1, C, h, w)) and, for a model that sends side
    information, "z" ((1, S, h/4, w/4)). A family implements:

        coding_tables()                     the entropy models whose tables code files
        latent_shapes(height, width)        {"y": (C, h, w)[, "z": (S, h/4, w/4)]}
        side_latents(y)                     {} or {"z": z}: the latents computed from y
        compress_latents(y, z=None) -> bytes          the stream (z from y when None)
        decompress_latents(stream, shapes) -> dict    its mirror; see below
        latent_bits(decoded)                bits of each integer the stream holds
        rounded_rate(latents, rounding)     (y_hat, estimated bits) with soft rounding
        header_fields() / decoding(fields)  extra header fields (default: none)

    `decompress_latents` returns {"y_hat": (1, C, h, w) float, the synthesis transform's
    input; "integers": {name: int64 tensor}, what the stream holds, in stream order (the
    decoded-file digests hash them in this order); and anything else the model wants to
    show (a hyperprior: "means_hat", "tables")}.
    """

    @property
    def lmbda(self) -> float:
        """The rate-distortion trade-off this codec codes at (its config's lambda)."""
        return self.config.lmbda

    def coding_tables(self) -> list[CodingTables]:
        """The entropy models whose integer tables code this model's files."""
        raise NotImplementedError

    def latent_shapes(self, height: int, width: int) -> dict[str, tuple[int, ...]]:
        """The shape of each coded latent for an image of `height` x `width` pixels."""
        return {"y": self.latent_shape(height, width)}

    def side_latents(self, y: torch.Tensor) -> dict[str, torch.Tensor]:
        """The latents besides y that a file codes, computed from y (1, C, h, w)."""
        return {}

    def compress_latents(self, y: torch.Tensor, z: torch.Tensor | None = None) -> bytes:
        """The latents -> the range-coded stream of a file.

        Args:
            y: the latent (1, C, h, w), float (rounded here).
            z: the side latent (1, S, h/4, w/4) of a model that has one; None: from y.
        """
        raise NotImplementedError

    def decompress_latents(self, stream: bytes,
                           shapes: dict[str, tuple[int, ...]]) -> dict[str, Any]:
        """Mirror of `compress_latents`: the stream -> {"y_hat", "integers", ...} (see the
        class docstring). Raises `CodecError` for a stream no encoder wrote.

        Args:
            stream: the range-coded bytes.
            shapes: `latent_shapes` of the image, as the file's header declares them.
        """
        raise NotImplementedError

    def latent_bits(self, decoded: dict[str, Any]) -> dict[str, torch.Tensor]:
        """The bits the coder spends on each integer of `decoded["integers"]`, per latent:
        {"y": (C, h, w)[, "z": (S, h/4, w/4)]}, from the tables the file was coded with."""
        raise NotImplementedError

    def rounded_rate(self, latents: dict[str, torch.Tensor],
                     rounding: Rounding) -> tuple[torch.Tensor, torch.Tensor]:
        """(y_hat, estimated bits of all the latents) when `rounding` rounds them, as the
        file does (`aecodec.refine` passes a soft, differentiable rounding)."""
        raise NotImplementedError

    def header_fields(self) -> dict[str, Any]:
        """Values of the extra header fields of this model's file format (by name)."""
        return {}

    def decoding(self, fields: dict[str, Any]) -> contextlib.AbstractContextManager:
        """A context in which the model decodes as a file's extra header `fields` say;
        raises `CodecError` when they do not fit the model."""
        return contextlib.nullcontext()


@dataclass(frozen=True)
class RateDistortionConfig(AutoencoderConfig):
    """An `AutoencoderConfig` plus the rate-distortion trade-off lambda it is trained for.
    The defaults are the shipped codecs' (`aecodec.recipes.RD_WIDE`), lambda their middle one.
    """

    latent_channels: int = 64
    downsamplings: int = 3
    hidden_channels: int = 64
    gdn: bool = True
    lmbda: float = 0.0067  # weight of distortion against rate in the loss

    def __post_init__(self):
        super().__post_init__()
        if not self.lmbda > 0:
            raise ValueError(f"lmbda must be positive, got {self.lmbda!r}")


class RateDistortionAutoencoder(Codec):
    """An autoencoder whose latents are quantized and entropy-coded (Ballé et al. 2017).

    Training minimises `aecodec.losses.rd_loss`, lambda * 255^2 * MSE + bpp: distortion
    in 8-bit units plus the estimated bits per pixel of the quantized latents y_hat under
    the learned `FactorizedPrior` (`self.prior`). A large lambda buys quality with bits; a
    small one saves bits. Files are coded with the prior's integer tables
    (`self.prior.update_tables()`, or `aecodec.entropy.build_coding_tables(model)`).

    Args:
        latent_channels, downsamplings, hidden_channels, gdn: as for `Autoencoder`.
        lmbda: the rate-distortion trade-off.
    """

    def __init__(
        self, latent_channels: int = 64, downsamplings: int = 3, hidden_channels: int = 64,
        gdn: bool = True, lmbda: float = 0.0067,
    ):
        super().__init__(latent_channels, downsamplings, hidden_channels, gdn)
        self.config = RateDistortionConfig(latent_channels, downsamplings, hidden_channels,
                                           gdn, lmbda)
        self.prior = FactorizedPrior(latent_channels)
        # Freshly initialised, the encoder outputs latents of about +-0.05, far below the
        # quantization step of 1: the decoder would see only noise, and the encoder would
        # spend thousands of steps growing them. Start them at about unit scale instead.
        with torch.no_grad():
            self.encoder.layers[-1].weight *= LATENT_INIT_GAIN
            self.encoder.layers[-1].bias *= LATENT_INIT_GAIN
            self.decoder.layers[0].weight /= LATENT_INIT_GAIN

    def forward_with_likelihoods(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x -> (x_hat, likelihoods of y_hat). Noise-quantized in training, rounded in eval."""
        y = self.encode(x)  # (N, C, h, w)
        y_hat, likelihoods = self.prior(y)  # (N, C, h, w) each
        return self.decode(y_hat, size=x.shape[-2:]), likelihoods

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_with_likelihoods(x)[0]

    def loss(self, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        """`rd_loss`: lambda * 255^2 * MSE + estimated bpp, and {"mse", "bpp"} values."""
        x_hat, likelihoods = self.forward_with_likelihoods(x)
        mse = F.mse_loss(x_hat.float(), x)  # float32 even under mixed precision
        bpp = estimated_bits(likelihoods) / (x.shape[0] * x.shape[-2] * x.shape[-1])
        return rd_loss(mse, bpp, self.config.lmbda), {"mse": mse.item(), "bpp": bpp.item()}

    # --- coding (the `Codec` protocol): each channel of round(y) with its own table ----

    def coding_tables(self) -> list[CodingTables]:
        return [self.prior]

    def compress_latents(self, y: torch.Tensor, z: torch.Tensor | None = None) -> bytes:
        """round(y), channel c coded with the prior's table c."""
        if z is not None:
            raise ValueError("a factorized codec has no side latent z")
        writer = StreamWriter()
        self.prior.encode(writer, quantize(y)[0])  # (C, h, w) integers
        return writer.getvalue()

    def decompress_latents(self, stream: bytes,
                           shapes: dict[str, tuple[int, ...]]) -> dict[str, Any]:
        reader = StreamReader(stream, math.prod(shapes["y"]))
        y_hat = self.prior.decode(reader, shapes["y"])  # (C, h, w) int64
        reader.close()
        return {"y_hat": y_hat[None].float(), "integers": {"y_hat": y_hat}}

    def latent_bits(self, decoded: dict[str, Any]) -> dict[str, torch.Tensor]:
        return {"y": self.prior.bits(decoded["integers"]["y_hat"])}

    def rounded_rate(self, latents: dict[str, torch.Tensor],
                     rounding: Rounding) -> tuple[torch.Tensor, torch.Tensor]:
        y_hat = rounding(latents["y"])  # (1, C, h, w)
        return y_hat, estimated_bits(self.prior.likelihood(y_hat))


@dataclass(frozen=True)
class HyperpriorConfig(RateDistortionConfig):
    """A `RateDistortionConfig` plus the side latent z's channels."""

    side_channels: int = 64  # channels of z
    predict_means: bool = True  # False: the scale-only hyperprior (Ballé 2018), means 0


class HyperpriorAutoencoder(Codec):
    """A mean-scale hyperprior codec (Ballé et al. 2018, "Variational image compression with
    a scale hyperprior"; the predicted means are Minnen et al. 2018's).

    A factorized prior gives every position of a channel the same density, however busy or
    flat the image is there. Here a second, small autoencoder sends side information z
    about y: it predicts a mean and a scale for every value of y, so flat regions get
    narrow Gaussians (few bits) and textured ones wide ones.

        y = encoder(x)                       (N, C, H/8, W/8)
        z = hyper_encoder(y)                 (N, S, H/32, W/32)   the side latent
        z_hat, P(z_hat) = z_prior(z)         a FactorizedPrior, as the plain codec's y
        means_hat, scales_hat = hyper_decoder(z_hat)      (N, C, H/8, W/8) each
        y_hat, P(y_hat) = gaussian(y, scales_hat, means_hat)
        x_hat = decoder(y_hat)

    The loss is `rd_loss` with bpp = bits of y_hat + bits of z_hat. Images are padded to a
    multiple of 2^(k+2) so that z exists.

    Args:
        latent_channels, downsamplings, hidden_channels, gdn, lmbda: as for
            `RateDistortionAutoencoder`.
        side_channels: S, the channels of z.
        predict_means: False for the scale-only variant, whose hyper-decoder predicts only
            scales_hat (means_hat is 0): Ballé et al. 2018's model.
    """

    def __init__(
        self, latent_channels: int = 64, downsamplings: int = 3, hidden_channels: int = 64,
        gdn: bool = True, lmbda: float = 0.0067, side_channels: int = 64,
        predict_means: bool = True,
    ):
        super().__init__(latent_channels, downsamplings, hidden_channels, gdn)
        self.config = HyperpriorConfig(latent_channels, downsamplings, hidden_channels, gdn,
                                       lmbda, side_channels, predict_means)
        c, s = latent_channels, side_channels
        outputs = 2 * c if predict_means else c  # (means, scales) or scales alone
        self.hyper_encoder = nn.Sequential(
            nn.Conv2d(c, s, 3, stride=1, padding=1), nn.LeakyReLU(inplace=True),
            nn.Conv2d(s, s, 5, stride=2, padding=2), nn.LeakyReLU(inplace=True),
            nn.Conv2d(s, s, 5, stride=2, padding=2),
        )
        self.hyper_decoder = nn.Sequential(
            Upsample2x(s, s, 5, padding=2), nn.LeakyReLU(inplace=True),
            Upsample2x(s, 3 * s // 2, 5, padding=2), nn.LeakyReLU(inplace=True),
            nn.Conv2d(3 * s // 2, outputs, 3, stride=1, padding=1),
        )
        self.z_prior = FactorizedPrior(s)
        self.gaussian = GaussianConditional()

    @property
    def pad_multiple(self) -> int:
        return 2 ** (self.config.downsamplings + 2)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """x (N, 3, H, W) -> y (N, C, H'/2^k, W'/2^k), H' and W' padded to `pad_multiple`."""
        _check_images(x)
        x = pad_to_multiple(x, self.pad_multiple)  # (N, 3, H', W')
        return self.analysis_transform(x)  # (N, C, H'/2^k, W'/2^k)

    def hyper_encode(self, y: torch.Tensor) -> torch.Tensor:
        """y (N, C, h, w) -> z (N, S, h/4, w/4)."""
        return self.hyper_encoder(y.contiguous(memory_format=torch.channels_last))

    def hyper_decode(self, z_hat: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """z_hat (N, S, h/4, w/4) -> (means_hat, scales_hat), each (N, C, h, w)."""
        params = self.hyper_decoder(z_hat.contiguous(memory_format=torch.channels_last))
        if not self.config.predict_means:  # the scale-only variant: params are the scales
            return torch.zeros_like(params), params  # (N, C, h, w) each
        means_hat, scales_hat = params.chunk(2, dim=1)  # (N, C, h, w) each
        return means_hat, scales_hat

    def hyper_path(self, y: torch.Tensor, z: torch.Tensor, rounding: Rounding | None = None
                   ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The hyper path, the one the loss and refinement use (the coder runs the same
        steps on integers, in `compress_latents` / `decompress_latents`):

            z_hat = round(z)                                  (N, S, h/4, w/4)
            means_hat, scales_hat = hyper_decode(z_hat)       (N, C, h, w) each
            y_hat = round(y - means_hat) + means_hat          (N, C, h, w)

        In training both roundings are additive noise (the entropy models' `forward`).

        Args:
            y, z: the latents.
            rounding: round with this instead (`aecodec.refine`'s soft rounding).

        Returns:
            (y_hat, likelihoods of y_hat, likelihoods of z_hat).
        """
        if rounding is None:
            z_hat, likelihoods_z = self.z_prior(z)
        else:
            z_hat = rounding(z)
            likelihoods_z = self.z_prior.likelihood(z_hat)
        means_hat, scales_hat = self.hyper_decode(z_hat)  # (N, C, h, w) each
        if rounding is None:
            y_hat, likelihoods_y = self.gaussian(y, scales_hat, means_hat)
        else:
            y_hat = rounding(y - means_hat) + means_hat
            likelihoods_y = gaussian_likelihood(y_hat - means_hat, scales_hat)
        return y_hat, likelihoods_y, likelihoods_z

    def forward_with_likelihoods(
        self, x: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """x -> (x_hat, likelihoods of y_hat, likelihoods of z_hat)."""
        y = self.encode(x)  # (N, C, h, w)
        y_hat, likelihoods_y, likelihoods_z = self.hyper_path(y, self.hyper_encode(y))
        return self.decode(y_hat, size=x.shape[-2:]), likelihoods_y, likelihoods_z

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_with_likelihoods(x)[0]

    def loss(self, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        """`rd_loss` with bpp = y's bits + z's bits, and {"mse", "bpp", "bpp_z"} values."""
        x_hat, likelihoods_y, likelihoods_z = self.forward_with_likelihoods(x)
        pixels = x.shape[0] * x.shape[-2] * x.shape[-1]
        mse = F.mse_loss(x_hat.float(), x)  # float32 even under mixed precision
        bpp_z = estimated_bits(likelihoods_z) / pixels
        bpp = estimated_bits(likelihoods_y) / pixels + bpp_z
        return rd_loss(mse, bpp, self.config.lmbda), {"mse": mse.item(), "bpp": bpp.item(),
                                                      "bpp_z": bpp_z.item()}

    def latent_shape(self, height: int, width: int) -> tuple[int, int, int]:
        c, h, w = latent_shape(height, width, self.config)
        return c, h + (-h % 4), w + (-w % 4)  # padded to a multiple of 2^(k+2) pixels

    def side_shape(self, height: int, width: int) -> tuple[int, int, int]:
        """(S, h/4, w/4) of z for an image of `height` x `width` pixels."""
        _, h, w = self.latent_shape(height, width)
        return self.config.side_channels, h // 4, w // 4

    # --- coding (the `Codec` protocol) --------------------------------------------------

    def coding_tables(self) -> list[CodingTables]:
        return [self.z_prior, self.gaussian]

    def latent_shapes(self, height: int, width: int) -> dict[str, tuple[int, ...]]:
        return {"y": self.latent_shape(height, width), "z": self.side_shape(height, width)}

    def side_latents(self, y: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"z": self.hyper_encode(y)}  # (1, S, h/4, w/4)

    def compress_latents(self, y: torch.Tensor, z: torch.Tensor | None = None) -> bytes:
        """First z_hat, channel c with z's prior's table c; then y as the integers
        round(y - means_hat), each with the table its predicted scale picks
        (`GaussianConditional.compress`)."""
        z_hat = quantize(self.hyper_encode(y) if z is None else z)  # (1, S, h/4, w/4)
        means_hat, scales_hat = self.hyper_decode(z_hat)  # (1, C, h, w) each
        writer = StreamWriter()
        self.z_prior.encode(writer, z_hat[0])
        self.gaussian.compress(writer, y[0], means_hat[0], scales_hat[0])
        return writer.getvalue()

    def decompress_latents(self, stream: bytes,
                           shapes: dict[str, tuple[int, ...]]) -> dict[str, Any]:
        """Also gives "means_hat" (1, C, h, w) and "tables", the table of each of y's
        symbols (C, h, w) uint8."""
        reader = StreamReader(stream, math.prod(shapes["y"]) + math.prod(shapes["z"]))
        z_hat = self.z_prior.decode(reader, shapes["z"])  # (S, h/4, w/4) int64
        means_hat, scales_hat = self.hyper_decode(z_hat[None].float())  # (1, C, h, w) each
        y_hat, symbols, tables = self.gaussian.decompress(reader, means_hat[0], scales_hat[0])
        reader.close()
        return {"y_hat": y_hat[None], "integers": {"z_hat": z_hat, "symbols": symbols},
                "means_hat": means_hat, "tables": tables}

    def latent_bits(self, decoded: dict[str, Any]) -> dict[str, torch.Tensor]:
        integers = decoded["integers"]
        return {"y": self.gaussian.bits(integers["symbols"], decoded["tables"]),
                "z": self.z_prior.bits(integers["z_hat"])}

    def rounded_rate(self, latents: dict[str, torch.Tensor],
                     rounding: Rounding) -> tuple[torch.Tensor, torch.Tensor]:
        y_hat, likelihoods_y, likelihoods_z = self.hyper_path(latents["y"], latents["z"],
                                                              rounding)
        return y_hat, estimated_bits(likelihoods_z) + estimated_bits(likelihoods_y)


def _float32(value: float) -> float:
    return torch.tensor(value, dtype=torch.float32).item()


@dataclass(frozen=True)
class VariableRateConfig(HyperpriorConfig):
    """A `HyperpriorConfig` for a model trained at several lambdas at once; `lmbda` is the
    one it codes at until told otherwise."""

    lambdas: tuple[float, ...] = (0.0018, 0.0035, 0.0067, 0.013)  # trained at, low to high

    def __post_init__(self):
        super().__post_init__()
        object.__setattr__(self, "lambdas", tuple(float(v) for v in self.lambdas))
        if len(self.lambdas) < 2 or list(self.lambdas) != sorted(set(self.lambdas)):
            raise ValueError(f"lambdas must be 2 or more increasing values, got {self.lambdas}")
        if not self.lambdas[0] > 0:
            raise ValueError(f"lambdas must be positive, got {self.lambdas}")
        if not self.lambdas[0] <= self.lmbda <= self.lambdas[-1]:
            raise ValueError(f"lmbda {self.lmbda} is outside the trained range "
                             f"{self.lambdas[0]} .. {self.lambdas[-1]}")


class VariableRateHyperprior(HyperpriorAutoencoder):
    """One mean-scale hyperprior codec for every rate in a range of lambdas, with gain units
    (Cui et al. 2021, "Asymmetric Gained Deep Image Compression with Continuous Rate
    Adaptation").

    A fixed-rate codec quantizes y with a step of 1, so its lambda is built into the
    weights. Here each trained lambda_i has a gain vector g_i and an inverse gain vector
    g'_i (one number per channel of y): the encoder's y is multiplied by g_i before
    rounding, and the decoder divides by it (multiplies by g'_i) after. A gain above 1
    rounds y more finely (more bits, better quality); below 1, more coarsely. Everything
    else, the encoder, the decoder and the hyper path, is one network shared by every rate.

        y = encoder(x) * gain(lambda)                   (N, C, H/8, W/8)  the coded latent
        z, y_hat, ... as in `HyperpriorAutoencoder`
        x_hat = decoder(y_hat * inverse_gain(lambda))   (N, 3, H, W)

    Between two trained lambdas the gains are interpolated exponentially,
    g = g_i^(1-t) * g_(i+1)^t, with t the position of log lambda between log lambda_i and
    log lambda_(i+1): the rate becomes a continuous knob. Training draws one trained
    lambda per image of each batch and minimises the mean of their `rd_loss`es.

    The lambda the model codes at is `self.lmbda`: `config.lmbda` until `set_lambda` (or
    the `at_lambda` context) changes it. It is not a weight: the same file of weights
    codes at every rate, and an .aec file stores the lambda it was coded at.

    Args:
        latent_channels, downsamplings, hidden_channels, gdn, side_channels,
            predict_means: as for `HyperpriorAutoencoder`.
        lmbda: the lambda to code at until `set_lambda` changes it.
        lambdas: the lambdas trained at, increasing; any lambda between the first and the
            last can be coded at.
    """

    def __init__(
        self, latent_channels: int = 64, downsamplings: int = 3, hidden_channels: int = 64,
        gdn: bool = True, lmbda: float = 0.0067, side_channels: int = 64,
        predict_means: bool = True, lambdas: tuple[float, ...] = (0.0018, 0.0035, 0.0067, 0.013),
    ):
        super().__init__(latent_channels, downsamplings, hidden_channels, gdn, lmbda,
                         side_channels, predict_means)
        self.config = VariableRateConfig(latent_channels, downsamplings, hidden_channels, gdn,
                                         lmbda, side_channels, predict_means, tuple(lambdas))
        # Start from the step size a lambda calls for: at the optimum, MSE ~ step^2 / 12
        # falls as 1 / lambda, so the step goes as lambda^-1/2 and the gain as lambda^1/2.
        start = torch.tensor([0.5 * math.log(v / lmbda) for v in self.config.lambdas])
        self.log_gains = nn.Parameter(start[:, None].repeat(1, latent_channels))  # (L, C)
        self.log_inverse_gains = nn.Parameter(-start[:, None].repeat(1, latent_channels))
        self.set_lambda(self.config.lmbda)

    @property
    def lmbda(self) -> float:
        """The lambda this model codes at now (see `set_lambda`)."""
        return self._lmbda

    def set_lambda(self, lmbda: float) -> None:
        """Code at `lmbda` from now on: any value in the trained range. It is rounded to
        float32, as files store it, so that encoder and decoder use the same gains."""
        if isinstance(lmbda, bool) or not isinstance(lmbda, (int, float)) or not \
                self.in_range(lmbda):
            raise ValueError(f"lambda {lmbda!r} is outside this model's trained range "
                             f"{self.config.lambdas[0]} .. {self.config.lambdas[-1]}")
        self._lmbda = _float32(lmbda)

    def in_range(self, lmbda: float) -> bool:
        """Whether the model can code at `lmbda` (compared as float32, as files store it)."""
        low, high = self.config.lambdas[0], self.config.lambdas[-1]
        return _float32(low) <= _float32(lmbda) <= _float32(high)

    @contextlib.contextmanager
    def at_lambda(self, lmbda: float) -> Iterator["VariableRateHyperprior"]:
        """`with model.at_lambda(0.004): ...` codes at 0.004 inside the block only."""
        before = self._lmbda
        self.set_lambda(lmbda)
        try:
            yield self
        finally:
            self._lmbda = before

    def header_fields(self) -> dict[str, Any]:
        """A file stores the lambda it was coded at."""
        return {"lmbda": self.lmbda}

    def decoding(self, fields: dict[str, Any]) -> contextlib.AbstractContextManager:
        """Decode at the file's lambda (the gains act only on y's values, never on the
        hyper path, so they change the pixels, not the integers)."""
        if not self.in_range(fields["lmbda"]):
            low, high = self.config.lambdas[0], self.config.lambdas[-1]
            raise CodecError(f"corrupt header: lambda {fields['lmbda']:.7g} is outside the "
                             f"model's range {low} .. {high}")
        return self.at_lambda(fields["lmbda"])

    def gains(self, lmbdas: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The gain and inverse gain vectors for each lambda, interpolated exponentially.

        Args:
            lmbdas: (N,) lambdas within the trained range.

        Returns:
            (gain, inverse_gain), each (N, C, 1, 1).
        """
        trained = torch.log(torch.tensor(self.config.lambdas, dtype=torch.float64))  # (L,)
        where = torch.log(lmbdas.double().cpu())  # (N,)
        i = (torch.searchsorted(trained, where, right=True) - 1).clamp(0, len(trained) - 2)
        t = ((where - trained[i]) / (trained[i + 1] - trained[i])).float()[:, None]  # (N, 1)
        i, t = i.to(self.log_gains.device), t.to(self.log_gains.device)

        def mix(table: torch.Tensor) -> torch.Tensor:
            logs = (1 - t) * table[i] + t * table[i + 1]  # (N, C)
            return torch.exp(logs)[:, :, None, None]  # (N, C, 1, 1)

        return mix(self.log_gains), mix(self.log_inverse_gains)

    def _current(self, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.gains(torch.full((batch,), self._lmbda, dtype=torch.float64))

    def analysis_transform(self, x: torch.Tensor) -> torch.Tensor:
        """The encoder, then the gain of `self.lmbda`: (N, 3, H', W') -> (N, C, h, w)."""
        return self.encoder(x) * self._current(len(x))[0]

    def decode(self, y_hat: torch.Tensor, size: tuple[int, int] | None = None) -> torch.Tensor:
        """The inverse gain of `self.lmbda`, then the decoder: y_hat -> x_hat."""
        return super().decode(y_hat * self._current(len(y_hat))[1], size)

    def training_lambdas(self, batch: int) -> torch.Tensor:
        """The lambda of each image of a batch (N,): in training, drawn at random among the
        trained lambdas; in eval mode, each in turn (a validation loss that is repeatable)."""
        choices = torch.tensor(self.config.lambdas, dtype=torch.float64)
        if self.training:
            return choices[torch.randint(len(choices), (batch,))]
        return choices[torch.arange(batch) % len(choices)]

    def loss(self, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        """The mean over the batch of each image's `rd_loss` at its own lambda
        (`training_lambdas`), and {"mse", "bpp", "bpp_z"} values (means over the batch)."""
        lmbdas = self.training_lambdas(len(x))  # (N,)
        gain, inverse_gain = self.gains(lmbdas)  # (N, C, 1, 1) each
        y = self.encoder(pad_to_multiple(x, self.pad_multiple)) * gain  # (N, C, h, w)
        y_hat, likelihoods_y, likelihoods_z = self.hyper_path(y, self.hyper_encode(y))
        x_hat = super().decode(y_hat * inverse_gain, size=x.shape[-2:])  # (N, 3, H, W)
        pixels = x.shape[-2] * x.shape[-1]
        mse = (x_hat.float() - x).pow(2).mean(dim=(1, 2, 3))  # (N,) float32
        bits_z = -torch.log2(likelihoods_z).sum(dim=(1, 2, 3))  # (N,)
        bpp = (-torch.log2(likelihoods_y).sum(dim=(1, 2, 3)) + bits_z) / pixels  # (N,)
        loss = rd_loss(mse, bpp, lmbdas.to(mse)).mean()
        return loss, {"mse": mse.mean().item(), "bpp": bpp.mean().item(),
                      "bpp_z": (bits_z / pixels).mean().item()}


MODEL_CLASSES = {AutoencoderConfig: Autoencoder, RateDistortionConfig: RateDistortionAutoencoder,
                 HyperpriorConfig: HyperpriorAutoencoder,
                 VariableRateConfig: VariableRateHyperprior}  # each config's model


def build_model(config: AutoencoderConfig) -> Autoencoder:
    """An untrained model of `config` (of one of the `MODEL_CLASSES` configs)."""
    if type(config) not in MODEL_CLASSES:
        raise TypeError(f"no model is built from a {type(config).__name__}")
    return MODEL_CLASSES[type(config)].from_config(config)
