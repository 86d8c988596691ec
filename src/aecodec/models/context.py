"""The checkerboard context model: a variable-rate hyperprior codec that also looks at the
latents it has already decoded (He et al. 2021, "Checkerboard Context Model for Efficient
Learned Image Compression").

Holds: `VariableRateCheckerboard` and its config `ContextConfig` (whose defaults are the
default codec's), `anchor_mask`, and the integer arithmetic of coding (`to_fixed`,
`integer_layer`). Does not hold: the gains (inherited from `VariableRateHyperprior`), the
Gaussian's coding tables (`aecodec.entropy.GaussianConditional`) or the file container
(`aecodec.codec`).

What the hyperprior leaves. The hyper-decoder predicts a mean and a scale for every value
of y from z_hat, which is 4x coarser than y. Neighbouring values of y still know things
about each other that z_hat did not say. A context model lets the decoder use them: it
splits y's positions like a checkerboard,

    anchors      (i + j) even   coded first, with means and scales from the hyperprior's
                                output alone (corrected with a zero context, below)
    non-anchors  (i + j) odd    coded second; their means and scales also see the decoded
                                anchors around them (a 5x5 window)

Both halves are coded in one parallel pass each, so decoding runs two passes of small
convolutions. A serial (autoregressive) context model (Minnen et al. 2018) needs many
sequential steps: h * w in the raster order CompressAI implements, one network call per
position (about 14 s to decode a Kodak image on a CPU there), O(h + w) with a wavefront
schedule.

    y = encoder(x) * gain(lambda)                       (N, C, h, w)
    hyper = hyper_decoder(z_hat)                        (N, 2C, h, w)  means, scales
    anchors:      params = hyper + parameters(hyper, 0)
    non-anchors:  params = hyper + parameters(hyper, context(y_hat on the anchors))
    x_hat = decoder(y_hat * inverse_gain(lambda))

`parameters` ends in a layer whose weights start at zero, so a model warm-started from a
trained `VariableRateHyperprior` starts out exactly as good as it, and learns from there.

Coding the same on both sides. The means and scales of the non-anchors come out of a
network: a float that differed by one rounding step between encoder and decoder could pick
another coding table, and the file would decode to garbage. PyTorch's convolutions do not
promise the same bits on another thread count (measured here: the context's layers gave
other bits on 1 thread than on 2 or 3). So for coding, the context and the
parameter layers run in integers (`integer_layer`; the idea of Ballé et al. 2019, "Integer
networks for data compression with latent-variable models"), exact on any machine and
thread count. Their input, the hyper-decoder's output, is still float32, as in the kit's
hyperprior codecs: its channels-last convolutions give the same bits with 1, 2 or 3
threads on one CPU (tested), but a CPU with other vector instructions may round it
differently. Files decode bit-exactly where they were written, at any thread count
(tests/test_context.py, in fresh processes), and a golden file checks that a later
PyTorch still does.
"""

import math
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from aecodec.catalogue import DEFAULT_LAMBDAS
from aecodec.entropy import SCALE_BOUND, estimated_bits, gaussian_likelihood, quantize
from aecodec.errors import CodecError
from aecodec.losses import rd_loss
from aecodec.models.autoencoder import pad_to_multiple
from aecodec.models.protocol import Rounding
from aecodec.models.variable_rate import VariableRateConfig, VariableRateHyperprior
from aecodec.rangecoder import StreamReader, StreamWriter

FIXED_BITS = 10  # coding computes the context in integers: values in steps of 2^-10
WEIGHT_BITS = 12  # and weights in steps of 2^-12
STRIP = 32  # latent rows per strip of the context's window (bounds its memory)


def to_fixed(t: torch.Tensor) -> torch.Tensor:
    """Values -> integers in steps of 2^-FIXED_BITS, as float64 (exact)."""
    return torch.round(t.double() * 2**FIXED_BITS)


def integer_layer(conv: nn.Conv2d, columns: torch.Tensor) -> torch.Tensor:
    """`conv` applied in integers: floor(W x + b) with W in steps of 2^-WEIGHT_BITS.

    Every product and partial sum is an integer below 2^53, which float64 holds exactly, so
    the matrix product is exact whatever order a BLAS library or its threads add it in:
    the same bits on every machine and thread count (Ballé et al. 2019 make whole networks
    integer for this reason).

    Args:
        conv: the layer whose weights to use (O, I, k, k).
        columns: integer inputs (I k k, P) on the 2^-FIXED_BITS scale, one column per
            output position (`F.unfold` gives them for k > 1).

    Returns:
        (O, P) integers on the same scale.
    """
    weight = torch.round(conv.weight.detach().double() * 2**WEIGHT_BITS)  # (O, I, k, k)
    weight = weight.reshape(len(weight), -1)  # (O, I k k)
    bias = torch.round(conv.bias.detach().double() * 2**(WEIGHT_BITS + FIXED_BITS))  # (O,)
    largest = columns.abs().max() if columns.numel() else 0
    if largest * weight.abs().sum(dim=1).max() + bias.abs().max() >= 2**53:
        raise CodecError("corrupt stream: its latents are too large for the context model")
    return torch.floor((weight @ columns + bias[:, None]) / 2**WEIGHT_BITS)  # (O, P)


def anchor_mask(h: int, w: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """(1, 1, h, w) float mask: 1 on the anchors ((i + j) even), 0 on the non-anchors."""
    i = torch.arange(h, device=device)[:, None]
    j = torch.arange(w, device=device)[None, :]
    return ((i + j) % 2 == 0).float()[None, None]  # (1, 1, h, w)




@dataclass(frozen=True)
class ContextConfig(VariableRateConfig):
    """A `VariableRateConfig` for the context codec; its defaults are the default codec's."""

    lambdas: tuple[float, ...] = DEFAULT_LAMBDAS


class VariableRateCheckerboard(VariableRateHyperprior):
    """A variable-rate mean-scale hyperprior codec with a checkerboard context model.

    Args: as for `VariableRateHyperprior` (the context adds no setting); `lambdas`
        defaults to the default codec's, `DEFAULT_LAMBDAS`.
    """

    def __init__(
        self, latent_channels: int = 64, downsamplings: int = 3, hidden_channels: int = 64,
        gdn: bool = True, lmbda: float = 0.0067, side_channels: int = 64,
        predict_means: bool = True, lambdas: tuple[float, ...] = DEFAULT_LAMBDAS,
    ):
        if not predict_means:
            raise ValueError("the checkerboard context model predicts means: predict_means=True")
        super().__init__(latent_channels, downsamplings, hidden_channels, gdn, lmbda,
                         side_channels, predict_means, lambdas)
        self.config = ContextConfig(**vars(self.config))
        c = latent_channels
        # what the decoded anchors say about a non-anchor: a 5x5 window over y_hat, whose
        # input is zero off the anchors, so it sees anchors only
        self.context = nn.Conv2d(c, 2 * c, 5, padding=2)
        # the correction to the hyperprior's (means, scales), from both
        self.parameters_net = nn.Sequential(
            nn.Conv2d(4 * c, 3 * c, 1), nn.LeakyReLU(inplace=True),
            nn.Conv2d(3 * c, 3 * c, 1), nn.LeakyReLU(inplace=True),
            nn.Conv2d(3 * c, 2 * c, 1),
        )
        nn.init.zeros_(self.parameters_net[-1].weight)  # starts as the hyperprior alone
        nn.init.zeros_(self.parameters_net[-1].bias)

    def context_parameters(self, hyper: torch.Tensor, y_hat: torch.Tensor,
                           anchors: bool) -> tuple[torch.Tensor, torch.Tensor]:
        """(means, scales) of the anchors (`anchors=True`, from the hyperprior alone) or of
        the non-anchors (from the hyperprior and y_hat on the anchors).

        Args:
            hyper: the hyper-decoder's output (N, 2C, h, w).
            y_hat: quantized latents (N, C, h, w); only the anchors are read.
            anchors: which half to predict.

        Returns:
            (means, scales), each (N, C, h, w), valid on the half asked for.
        """
        mask = anchor_mask(*y_hat.shape[-2:], device=y_hat.device).to(y_hat.dtype)
        if anchors:
            context = torch.zeros_like(hyper)  # (N, 2C, h, w)
        else:
            context = self.context(y_hat * mask) * (1 - mask)  # (N, 2C, h, w)
        params = hyper + self.parameters_net(torch.cat([hyper, context], dim=1))  # (N, 2C, h, w)
        means, scales = params.chunk(2, dim=1)  # (N, C, h, w) each
        return means, scales

    def likelihoods(self, y: torch.Tensor, z_hat: torch.Tensor):
        """y_hat and its likelihoods, the non-anchors' densities seeing the anchors' y_hat:
        y + noise in training (one pass: the anchors' noisy values do not depend on their
        means), round(y - means) + means otherwise (two passes, as coding does).

        Returns:
            (y_hat, likelihoods_y), each (N, C, h, w).
        """
        hyper = self.hyper_decoder(z_hat.contiguous(memory_format=torch.channels_last))
        mask = anchor_mask(*y.shape[-2:], device=y.device)  # (1, 1, h, w)
        if self.training:
            y_tilde = quantize(y, "noise")  # (N, C, h, w)
            means, scales = self.context_parameters(hyper, y_tilde, anchors=False)
            # off the anchors these are the non-anchors' parameters; on them the context
            # is zero, so they are the anchors' own
            return y_tilde, gaussian_likelihood(y_tilde - means, scales)
        means_a, scales_a = self.context_parameters(hyper, y, anchors=True)
        y_hat_a, likelihoods_a = self.gaussian(y, scales_a, means_a)
        means_n, scales_n = self.context_parameters(hyper, y_hat_a, anchors=False)
        y_hat_n, likelihoods_n = self.gaussian(y, scales_n, means_n)
        y_hat = y_hat_a * mask + y_hat_n * (1 - mask)  # (N, C, h, w)
        return y_hat, likelihoods_a * mask + likelihoods_n * (1 - mask)

    def forward_with_likelihoods(self, x: torch.Tensor):
        """x -> (x_hat, likelihoods of y_hat, likelihoods of z_hat), at `self.lmbda`."""
        y = self.encode(x)  # (N, C, h, w)
        z_hat, likelihoods_z = self.z_prior(self.hyper_encode(y))  # (N, S, h/4, w/4)
        y_hat, likelihoods_y = self.likelihoods(y, z_hat)
        return self.decode(y_hat, size=x.shape[-2:]), likelihoods_y, likelihoods_z

    def loss(self, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        """As `VariableRateHyperprior.loss`, with the context model's likelihoods."""
        lmbdas = self.training_lambdas(len(x))  # (N,)
        gain, inverse_gain = self.gains(lmbdas)  # (N, C, 1, 1) each
        y = self.encoder(pad_to_multiple(x, self.pad_multiple)) * gain  # (N, C, h, w)
        z_hat, likelihoods_z = self.z_prior(self.hyper_encode(y))  # (N, S, h/4, w/4)
        y_hat, likelihoods_y = self.likelihoods(y, z_hat)
        x_hat = self.decoder(y_hat * inverse_gain)[..., : x.shape[-2], : x.shape[-1]]
        pixels = x.shape[-2] * x.shape[-1]
        mse = (x_hat.float() - x).pow(2).mean(dim=(1, 2, 3))  # (N,) float32
        bits_z = -torch.log2(likelihoods_z).sum(dim=(1, 2, 3))  # (N,)
        bpp = (-torch.log2(likelihoods_y).sum(dim=(1, 2, 3)) + bits_z) / pixels  # (N,)
        loss = rd_loss(mse, bpp, lmbdas.to(mse)).mean()
        return loss, {"mse": mse.mean().item(), "bpp": bpp.mean().item(),
                      "bpp_z": (bits_z / pixels).mean().item()}

    # --- coding: what picks a table is computed exactly ---------------------------------

    def coding_parameters(self, hyper: torch.Tensor, positions: torch.Tensor,
                          y_hat: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(means, scales) at some positions, for coding: the anchors' (`y_hat` None: no
        context) or the non-anchors' (their context from y_hat's anchors). Computed in
        integers (`integer_layer`): the same bits on any thread count and any CPU, given
        `hyper`. Only the positions asked for are computed.

        Args:
            hyper: the hyper-decoder's output (1, 2C, h, w).
            positions: (h, w) bool, the positions to predict (one half of the board).
            y_hat: None, or y_hat (1, C, h, w) with its anchors decoded.

        Returns:
            (means, scales), each (C, P) float64 for the P positions, in row-major order.
        """
        c, (h, w) = hyper.shape[1] // 2, positions.shape
        k = self.context.kernel_size[0]
        pad = k // 2
        where = positions.flatten().nonzero().flatten()  # (P,)
        means = torch.empty(c, len(where), dtype=torch.float64)
        scales = torch.empty(c, len(where), dtype=torch.float64)
        mask = anchor_mask(h, w)[0]  # (1, h, w)
        done = 0
        for top in range(0, h, STRIP):  # strips of rows bound the memory
            bottom = min(top + STRIP, h)
            inside = where[(where >= top * w) & (where < bottom * w)] - top * w  # (p,)
            strip = to_fixed(hyper[0, :, top:bottom]).reshape(2 * c, -1)[:, inside]  # (2C, p)
            if y_hat is None:
                context = torch.zeros_like(strip)  # (2C, p)
            else:  # the decoded anchors in the strip and its margin, in integers
                lo, hi = max(top - pad, 0), min(bottom + pad, h)
                rows = to_fixed(y_hat[0, :, lo:hi].clamp(-2**15, 2**15)) * mask[:, lo:hi]
                rows = F.pad(rows[None], (pad, pad, pad - (top - lo), pad - (hi - bottom)))
                columns = F.unfold(rows, k)[0]  # (C k k, r w)
                context = integer_layer(self.context, columns[:, inside])  # (2C, p)
            features = torch.cat([strip, context])  # (4C, p)
            for layer in self.parameters_net:
                if isinstance(layer, nn.Conv2d):
                    features = integer_layer(layer, features)
                else:  # LeakyReLU, on integers: floor keeps them integers
                    features = torch.where(features < 0,
                                           torch.floor(features * layer.negative_slope),
                                           features)
            params = (strip + features) / 2**FIXED_BITS  # (2C, p)
            means[:, done : done + len(inside)], scales[:, done : done + len(inside)] = \
                params.chunk(2)
            done += len(inside)
        return means, scales

    def _tables(self, scales: torch.Tensor) -> torch.Tensor:
        """Each value's coding table (uint8): the first ladder scale >= its scale."""
        ladder = self.gaussian.scale_ladder[:-1].double().contiguous()  # exact widening
        return torch.bucketize(scales.clamp_min(SCALE_BOUND).contiguous(), ladder).to(torch.uint8)

    def _checked(self, *tensors: torch.Tensor) -> None:
        if not all(torch.isfinite(t).all() for t in tensors):
            raise CodecError("corrupt stream: its latents make the entropy model overflow")

    def compress_latents(self, y: torch.Tensor, z: torch.Tensor | None = None) -> bytes:
        """Latents -> the range-coded stream: z_hat (its factorized prior), then the
        anchors' symbols round(y - means), then the non-anchors', each with the table its
        scale picks.

        Args:
            y: latents (1, C, h, w), already multiplied by the gain of `self.lmbda`.
            z: side latents (1, S, h/4, w/4); default: `hyper_encode(y)`.
        """
        z_hat = quantize(self.hyper_encode(y) if z is None else z)  # (1, S, h/4, w/4)
        hyper = self.hyper_decoder(z_hat.contiguous(memory_format=torch.channels_last))
        anchors = anchor_mask(*y.shape[-2:]).bool()[0, 0]  # (h, w)
        y_hat = torch.zeros(y.shape, dtype=torch.float64)  # (1, C, h, w)
        writer = StreamWriter()
        self.z_prior.encode(writer, z_hat[0])
        for half, context in ((anchors, None), (~anchors, y_hat)):
            means, scales = self.coding_parameters(hyper, half, context)  # (C, P) each
            symbols = torch.round(y[0][:, half].double() - means)  # (C, P) integers
            y_hat[0][:, half] = symbols + means
            self.gaussian.encode(writer, symbols, self._tables(scales))
        return writer.getvalue()

    def decompress_latents(self, stream: bytes,
                           shapes: dict[str, tuple[int, ...]]) -> dict[str, Any]:
        """Mirror of `compress_latents`: {"y_hat" (1, C, h, w) float32, "integers":
        {"z_hat" (S, h/4, w/4), "symbols" (C, h, w)} int64, "tables" (C, h, w) uint8}.
        Raises `CodecError` for a stream no encoder wrote."""
        (c, h, w) = shapes["y"]
        reader = StreamReader(stream, math.prod(shapes["y"]) + math.prod(shapes["z"]))
        z_hat = self.z_prior.decode(reader, shapes["z"])  # (S, h/4, w/4) int64
        hyper = self.hyper_decoder(z_hat[None].float().contiguous(
            memory_format=torch.channels_last))  # (1, 2C, h, w)
        self._checked(hyper)
        anchors = anchor_mask(h, w).bool()[0, 0]  # (h, w)
        symbols = torch.zeros(c, h, w, dtype=torch.int64)
        tables = torch.zeros(c, h, w, dtype=torch.uint8)
        y_hat = torch.zeros(1, c, h, w, dtype=torch.float64)
        for half, context in ((anchors, None), (~anchors, y_hat)):
            means, scales = self.coding_parameters(hyper, half, context)  # (C, P) each
            self._checked(means, scales)
            chosen = self._tables(scales)  # (C, P)
            decoded = self.gaussian.decode(reader, tuple(chosen.shape), chosen)  # (C, P)
            symbols[:, half], tables[:, half] = decoded, chosen
            y_hat[0][:, half] = decoded.double() + means
        reader.close()
        self._checked(y_hat)
        return {"y_hat": y_hat.float(), "integers": {"z_hat": z_hat, "symbols": symbols},
                "tables": tables}

    def estimated_latent_bits(self, x: torch.Tensor) -> dict[str, float]:
        y = self.encode(x)  # (1, C, h, w)
        z_hat = quantize(self.hyper_encode(y))  # (1, S, h/4, w/4)
        _, likelihoods_y = self.likelihoods(y, z_hat)  # rounded, as a file is (eval mode)
        return {"y": estimated_bits(likelihoods_y).item(),
                "z": estimated_bits(self.z_prior.likelihood(z_hat)).item()}

    def rounded_rate(self, latents: dict[str, torch.Tensor],
                     rounding: Rounding) -> tuple[torch.Tensor, torch.Tensor]:
        """(y_hat, estimated bits) when `rounding` rounds the latents, the non-anchors'
        densities seeing the anchors' rounded values, as in the file (`aecodec.refine`)."""
        y, z_hat = latents["y"], rounding(latents["z"])
        hyper = self.hyper_decoder(z_hat.contiguous(memory_format=torch.channels_last))
        mask = anchor_mask(*y.shape[-2:], device=y.device)  # (1, 1, h, w)
        means, scales = self.context_parameters(hyper, y, anchors=True)
        y_hat_a = rounding(y - means) + means  # (N, C, h, w), valid on the anchors
        likelihoods_a = gaussian_likelihood(y_hat_a - means, scales)
        means, scales = self.context_parameters(hyper, y_hat_a, anchors=False)
        y_hat_n = rounding(y - means) + means  # valid off the anchors
        likelihoods_n = gaussian_likelihood(y_hat_n - means, scales)
        y_hat = y_hat_a * mask + y_hat_n * (1 - mask)
        likelihoods = likelihoods_a * mask + likelihoods_n * (1 - mask)
        bits = estimated_bits(self.z_prior.likelihood(z_hat)) + estimated_bits(likelihoods)
        return y_hat, bits
