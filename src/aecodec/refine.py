"""A better encoder at encode time: optimise this image's latents, keep the decoder.

The encoder is one network for every image, so for a given image its y is good but not
the best: the gap between what it gives and the latents that minimise this image's own
rate-distortion loss is the *amortization gap*. `refine_latents` closes part of it by
gradient descent on the latents themselves (y, and z for a hyperprior codec), starting
from the encoder's output, with the network's weights frozen. The file format and the
decoder do not change: `compress(model, x, latents=...)` codes the refined latents into an
ordinary .aec file.

Rounding has no gradient, and the noise used in training is not what the file does. So the
latents are rounded softly, by stochastic Gumbel annealing (Yang, Bamler and Mandt 2020,
"Improving Inference for Neural Image Compression"): each value goes to its floor or its
ceiling at random, with probabilities that follow how near it is to each, made differentiable
by the Gumbel-softmax trick; a temperature tau, annealed towards 0 over the steps, makes the
choice harder and harder until it is the rounding the file will do.

Holds: `soft_round` (the annealed rounding, with `round_up_probability` and its
`temperature` schedule), `refine_latents` and `REFINE_MAX_PIXELS`.
Does not hold: the file format (`aecodec.codec`) or the models.
"""

import math
from functools import partial

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from aecodec.errors import CodecError
from aecodec.layers import flush_denormal
from aecodec.losses import rd_loss
from aecodec.models import Codec

REFINE_MAX_PIXELS = 2**22  # gradients through the whole decoder: 4.2 megapixels at most
TAU_START = 0.5  # temperature of the first steps
TAU_DECAY = 4.0  # tau(t) = TAU_START * exp(-TAU_DECAY * t), t from 0 to 1 over the steps


def round_up_probability(frac: torch.Tensor, tau: float) -> torch.Tensor:
    """The probability that soft rounding sends a value up to its ceiling, from its
    distance `frac` in (0, 1) above its floor: softmax over the logits -atanh(frac) / tau
    (down) and -atanh(1 - frac) / tau (up), i.e. sigmoid((atanh(frac) - atanh(1 - frac)) / tau).
    1/2 at frac = 1/2; as tau -> 0, 0 below it and 1 above it (ordinary rounding)."""
    frac = frac.clamp(1e-4, 1 - 1e-4)
    return torch.sigmoid((torch.atanh(frac) - torch.atanh(1 - frac)) / tau)


def temperature(step: int, steps: int) -> float:
    """tau at `step` of `steps`: TAU_START, falling as exp(-TAU_DECAY * t) where t goes
    from 0 (first step) to 1 (last step)."""
    return TAU_START * math.exp(-TAU_DECAY * step / max(steps - 1, 1))


def soft_round(y: torch.Tensor, tau: float) -> torch.Tensor:
    """Round y to its floor or ceiling at random, differentiably (Gumbel-softmax).

    A value 0.2 above its floor goes down with high probability (`round_up_probability`);
    how sharp the choice is depends on tau: near 0 it is ordinary rounding, larger values
    blur it.

    Args:
        y: latents of any shape.
        tau: the temperature, > 0.
    """
    floor = torch.floor(y).detach()
    frac = (y - floor).clamp(1e-4, 1 - 1e-4)  # distance to the floor, in (0, 1)
    # logit of going down grows as frac -> 0, of going up as frac -> 1 (the paper's atanh)
    logits = torch.stack([-torch.atanh(frac), -torch.atanh(1 - frac)], dim=-1) / tau
    up = F.gumbel_softmax(logits, tau=tau, hard=False)[..., 1]  # in (0, 1), -> 0 or 1
    return floor + up


def refine_latents(model: Codec, x: torch.Tensor, steps: int, *, lr: float = 0.01,
                   progress: bool = True) -> dict[str, torch.Tensor]:
    """The latents of image x refined for `steps` steps of Adam on its own rate-distortion
    loss `rd_loss` (lambda * 255^2 * MSE + bpp, with the model's lambda).

    Args:
        model: a trained codec; its weights are not changed.
        x: the image (3, H, W) in [0, 1], at most `REFINE_MAX_PIXELS` pixels.
        steps: optimizer steps (0: the encoder's own latents).
        lr: Adam's learning rate on the latents.
        progress: show a progress bar.

    Returns:
        {"y": (1, C, h, w)} for a factorized codec, {"y", "z": (1, S, h/4, w/4)} for a
        hyperprior one: what `compress(model, x, latents=...)` codes.
    """
    if x.dim() != 3 or x.shape[0] != 3:
        raise ValueError(f"refine_latents takes one image x (3, H, W), got {tuple(x.shape)}")
    height, width = x.shape[-2:]
    if height * width > REFINE_MAX_PIXELS:
        raise CodecError(f"refining a {width}x{height} image would take too much memory: "
                         f"at most {REFINE_MAX_PIXELS:,} pixels (compress it without refine)")
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    try:
        with torch.no_grad():
            y = model.encode(x[None])  # (1, C, h, w)
            latents = {"y": y, **model.side_latents(y)}  # and z (1, S, h/4, w/4), if any
        latents = {name: value.clone().requires_grad_(True) for name, value in latents.items()}
        optimizer = torch.optim.Adam(latents.values(), lr=lr)
        pixels = height * width
        with flush_denormal():
            for step in tqdm(range(steps), desc="refining", disable=not progress):
                tau = temperature(step, steps)
                # as the file does (for a hyperprior: z_hat first, then y around its means)
                y_hat, bits = model.rounded_rate(latents, partial(soft_round, tau=tau))
                x_hat = model.decode(y_hat, (height, width))  # (1, 3, H, W)
                loss = rd_loss(F.mse_loss(x_hat, x[None]), bits / pixels, model.lmbda)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
    finally:
        for p in model.parameters():
            p.requires_grad_(True)
    return {name: value.detach() for name, value in latents.items()}
