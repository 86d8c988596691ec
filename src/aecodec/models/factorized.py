"""The factorized-prior codec (Ballé et al. 2017): `RateDistortionAutoencoder` and its
`RateDistortionConfig`; each channel of round(y) is coded with its own learned table.
"""

import math
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from aecodec.entropy import CodingTables, FactorizedPrior, estimated_bits, quantize
from aecodec.losses import rd_loss
from aecodec.models.autoencoder import AutoencoderConfig
from aecodec.models.protocol import Codec, Rounding
from aecodec.rangecoder import StreamReader, StreamWriter

LATENT_INIT_GAIN = 20.0  # see RateDistortionAutoencoder.__init__


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

    @torch.no_grad()
    def estimated_latent_bits(self, x: torch.Tensor) -> dict[str, float]:
        return {"y": estimated_bits(self.prior.likelihood(quantize(self.encode(x)))).item()}

    def rounded_rate(self, latents: dict[str, torch.Tensor],
                     rounding: Rounding) -> tuple[torch.Tensor, torch.Tensor]:
        y_hat = rounding(latents["y"])  # (1, C, h, w)
        return y_hat, estimated_bits(self.prior.likelihood(y_hat))
