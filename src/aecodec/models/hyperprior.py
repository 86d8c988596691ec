"""The mean-scale hyperprior codec (Ballé et al. 2018, Minnen et al. 2018):
`HyperpriorAutoencoder` and its `HyperpriorConfig`, with the one hyper path
(`HyperpriorAutoencoder.hyper_path`) that the loss, refinement and the variable-rate codec
share, and the coding of z_hat then y around its predicted means.
"""

import math
from dataclasses import dataclass
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
from aecodec.layers import Upsample2x
from aecodec.losses import rd_loss
from aecodec.models.autoencoder import _check_images, latent_shape, pad_to_multiple
from aecodec.models.factorized import RateDistortionConfig
from aecodec.models.protocol import Codec, Rounding
from aecodec.rangecoder import StreamReader, StreamWriter


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

    @torch.no_grad()
    def estimated_latent_bits(self, x: torch.Tensor) -> dict[str, float]:
        y = self.encode(x)  # (1, C, h, w)
        z_hat = quantize(self.hyper_encode(y))  # (1, S, h/4, w/4)
        means_hat, scales_hat = self.hyper_decode(z_hat)  # (1, C, h, w) each
        y_hat = quantize(y - means_hat) + means_hat
        return {"y": estimated_bits(gaussian_likelihood(y_hat - means_hat, scales_hat)).item(),
                "z": estimated_bits(self.z_prior.likelihood(z_hat)).item()}

    def rounded_rate(self, latents: dict[str, torch.Tensor],
                     rounding: Rounding) -> tuple[torch.Tensor, torch.Tensor]:
        y_hat, likelihoods_y, likelihoods_z = self.hyper_path(latents["y"], latents["z"],
                                                              rounding)
        return y_hat, estimated_bits(likelihoods_z) + estimated_bits(likelihoods_y)
