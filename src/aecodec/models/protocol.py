"""`Codec`: what every codec model gives the .aec file container (`aecodec.codec`).

Holds: the `Codec` base class, whose methods are the protocol (defaults for the optional
ones), and `Rounding`. Does not hold: any family's coding (factorized.py, hyperprior.py,
variable_rate.py in this package; `aecodec.models.context`).
"""

import contextlib
from collections.abc import Callable
from typing import Any

import torch

from aecodec.entropy import CodingTables
from aecodec.models.autoencoder import Autoencoder

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
        estimated_latent_bits(x)            the entropy models' estimate, per latent
        header_fields() / decoding(fields)  extra header fields (default: none)

    `decompress_latents` returns {"y_hat": (1, C, h, w) float, the synthesis transform's
    input; "integers": {name: int64 tensor}, what the stream holds, in stream order (the
    decoded-file digests hash them in this order); and anything else the model wants to
    show (a hyperprior: "means_hat", "tables")}.
    """

    variable_rate = False  # True for a codec with a rate knob: set_lambda, in_range, lambdas

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

    def estimated_latent_bits(self, x: torch.Tensor) -> dict[str, float]:
        """The entropy models' estimate of the bits of each latent of image x (1, 3, H, W),
        rounded as a file rounds them: {"y": ...[, "z": ...]} (a report's share of side
        information; a file's real bits are in `latent_bits`)."""
        raise NotImplementedError

    def header_fields(self) -> dict[str, Any]:
        """Values of the extra header fields of this model's file format (by name)."""
        return {}

    def decoding(self, fields: dict[str, Any]) -> contextlib.AbstractContextManager:
        """A context in which the model decodes as a file's extra header `fields` say;
        raises `CodecError` when they do not fit the model."""
        return contextlib.nullcontext()
