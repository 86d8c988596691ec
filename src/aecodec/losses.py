"""The rate-distortion loss, the one formula every codec in the kit is trained with.

    loss = lambda * 255^2 * MSE + bpp

MSE is measured on images in [0, 1], so 255^2 * MSE is the mean squared error in 8-bit
units; bpp is the (estimated) bits per pixel of the quantized latents. lambda sets the
trade-off: a large lambda buys quality with bits, a small one saves bits (Ballé et al.
2017 write the same loss as R + lambda * D).

Holds: `rd_loss`. Used by `RateDistortionAutoencoder.loss`, the training recipes, the
course's exercise check and the recipe benchmark. Does not hold: how the bits are
estimated (`aecodec.entropy`).
"""

import torch

Number = float | torch.Tensor


def rd_loss(mse: Number, bpp: Number, lmbda: float) -> Number:
    """lambda * 255^2 * MSE + bpp.

    Args:
        mse: mean squared error of images in [0, 1] (a float or a tensor).
        bpp: bits per pixel (a float or a tensor).
        lmbda: the trade-off lambda.
    """
    return lmbda * 255**2 * mse + bpp
