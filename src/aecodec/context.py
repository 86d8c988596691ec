"""The checkerboard context model: a variable-rate hyperprior codec that also looks at the
latents it has already decoded (He et al. 2021, "Checkerboard Context Model for Efficient
Learned Image Compression").

Holds: `VariableRateCheckerboard`, `anchor_mask`. Does not hold: the gains (inherited from
`aecodec.models.VariableRateHyperprior`), the Gaussian's coding tables
(`aecodec.entropy.GaussianConditional`) or the file container (`aecodec.codec`).

What the hyperprior leaves. The hyper-decoder predicts a mean and a scale for every value
of y from z_hat, which is 4x coarser than y. Neighbouring values of y still know things
about each other that z_hat did not say. A context model lets the decoder use them: it
splits y's positions like a checkerboard,

    anchors      (i + j) even   coded first, with the hyperprior's means and scales alone
    non-anchors  (i + j) odd    coded second; their means and scales also see the decoded
                                anchors around them (a 5x5 window)

Both halves are coded in one parallel pass each, so decoding runs two passes of small
convolutions, not one network call per position as a serial (autoregressive) context
model does (Minnen et al. 2018; 14 s to decode a Kodak image on a CPU).

    y = encoder(x) * gain(lambda)                       (N, C, h, w)
    hyper = hyper_decoder(z_hat)                        (N, 2C, h, w)  means, scales
    anchors:      params = hyper + parameters(hyper, 0)
    non-anchors:  params = hyper + parameters(hyper, context(y_hat on the anchors))
    x_hat = decoder(y_hat * inverse_gain(lambda))

`parameters` ends in a layer whose weights start at zero, so a model warm-started from a
trained `VariableRateHyperprior` starts out exactly as good as it, and learns from there.

Coding exactly. The means and scales of the non-anchors come out of a network: a float
that differed by one rounding step between encoder and decoder could pick another coding
table and the file would decode to garbage. The kit therefore computes everything that
picks a table (the hyper-decoder, `context`, `parameters`) in float64 on one thread
(`exact_parameters`): the result then does not depend on the thread count, and a table
changes only where a scale lies within ~1e-12 of a ladder step. That is a guard, not a
proof: only integer networks (Ballé et al. 2019, "Integer networks for data compression
with latent-variable models") make it exact across machines; a golden file checks it.
"""

import contextlib
import copy
from collections.abc import Iterator

import torch
from torch import nn

from aecodec.entropy import gaussian_likelihood, quantize
from aecodec.losses import rd_loss
from aecodec.models import VariableRateHyperprior, pad_to_multiple


def anchor_mask(h: int, w: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """(1, 1, h, w) float mask: 1 on the anchors ((i + j) even), 0 on the non-anchors."""
    i = torch.arange(h, device=device)[:, None]
    j = torch.arange(w, device=device)[None, :]
    return ((i + j) % 2 == 0).float()[None, None]  # (1, 1, h, w)


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """Run the block on one CPU thread, then restore the thread count."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


class VariableRateCheckerboard(VariableRateHyperprior):
    """A variable-rate mean-scale hyperprior codec with a checkerboard context model.

    Args: as for `VariableRateHyperprior` (the context adds no setting).
    """

    def __init__(
        self, latent_channels: int = 64, downsamplings: int = 3, hidden_channels: int = 64,
        gdn: bool = True, lmbda: float = 0.0067, side_channels: int = 64,
        predict_means: bool = True, lambdas: tuple[float, ...] = (0.0018, 0.0035, 0.0067, 0.013),
    ):
        if not predict_means:
            raise ValueError("the checkerboard context model predicts means: predict_means=True")
        super().__init__(latent_channels, downsamplings, hidden_channels, gdn, lmbda,
                         side_channels, predict_means, lambdas)
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

    def exact_parameters(self, z_hat: torch.Tensor, y_hat: torch.Tensor | None
                         ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(hyper, means, scales) in float64 on one thread, for coding: the anchors' when
        `y_hat` is None, else the non-anchors' (from y_hat's anchors).

        Args:
            z_hat: integer side latents (1, S, h/4, w/4).
            y_hat: None, or y_hat (1, C, h, w) with its anchors decoded.
        """
        networks = nn.ModuleDict(dict(hyper_decoder=self.hyper_decoder, context=self.context,
                                      parameters_net=self.parameters_net))
        exact = copy.deepcopy(networks).double().eval()  # small: a copy per call is cheap
        with torch.no_grad(), one_thread():
            hyper = exact["hyper_decoder"](z_hat.double())  # (1, 2C, h, w)
            h, w = hyper.shape[-2:]
            mask = anchor_mask(h, w).double()  # (1, 1, h, w)
            if y_hat is None:
                context = torch.zeros_like(hyper)
            else:
                context = exact["context"](y_hat.double() * mask) * (1 - mask)  # (1, 2C, h, w)
            params = hyper + exact["parameters_net"](torch.cat([hyper, context], dim=1))
            means, scales = params.chunk(2, dim=1)  # (1, C, h, w) each
        return hyper, means, scales
