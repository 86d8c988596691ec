"""One hyperprior codec for every lambda of a range, with gain units (Cui et al. 2021):
`VariableRateHyperprior` and its `VariableRateConfig`. Its files store the lambda they
were coded at (the `Codec` protocol's header fields).
"""

import contextlib
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from aecodec.errors import CodecError
from aecodec.losses import rd_loss
from aecodec.models.autoencoder import pad_to_multiple
from aecodec.models.hyperprior import HyperpriorAutoencoder, HyperpriorConfig


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

    variable_rate = True  # any lambda in config.lambdas[0] .. config.lambdas[-1]

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

    # How training draws each image's lambda: "trained" (one of config.lambdas, uniformly)
    # or "log-uniform" (anywhere in their range, uniform in log lambda, the gains
    # interpolated as `gains` does between trained lambdas). Not part of the config: it
    # changes how the model is trained, not what it is.
    LAMBDA_SAMPLINGS = ("trained", "log-uniform")
    lambda_sampling: str = "trained"

    def training_lambdas(self, batch: int) -> torch.Tensor:
        """The lambda of each image of a batch (N,): in training, drawn at random as
        `lambda_sampling` says; in eval mode, each trained lambda in turn (a validation loss
        that is repeatable)."""
        choices = torch.tensor(self.config.lambdas, dtype=torch.float64)  # (L,)
        if self.training and self.lambda_sampling == "log-uniform":
            low, high = math.log(choices[0]), math.log(choices[-1])
            return torch.exp(low + (high - low) * torch.rand(batch, dtype=torch.float64))  # (N,)
        if self.training:
            return choices[torch.randint(len(choices), (batch,))]  # (N,)
        return choices[torch.arange(batch) % len(choices)]  # (N,)

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
