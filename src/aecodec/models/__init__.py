"""Convolutional autoencoders: `ConvEncoder`, `ConvDecoder`, the `Autoencoder` joining them,
the `RateDistortionAutoencoder` that adds an entropy model and becomes a codec, the
`HyperpriorAutoencoder` that sends side information about its latents, and the
`VariableRateHyperprior`, one hyperprior codec for every lambda of a range.

The package, one file per family (each importable from here, as before):
    autoencoder.py    ConvEncoder, ConvDecoder, Autoencoder, AutoencoderConfig, helpers
    protocol.py       Codec: what a codec model gives the file container
    factorized.py     RateDistortionAutoencoder, RateDistortionConfig
    hyperprior.py     HyperpriorAutoencoder, HyperpriorConfig (the one hyper path)
    variable_rate.py  VariableRateHyperprior, VariableRateConfig
    context.py        VariableRateCheckerboard, ContextConfig (the default codec's family)
and here `build_model` (a config -> its untrained model, `MODEL_CLASSES`).

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

from aecodec.models.autoencoder import (
    KERNEL,
    Autoencoder,
    AutoencoderConfig,
    ConvDecoder,
    ConvEncoder,
    compression_ratio,
    latent_shape,
    num_latent_values,
    pad_to_multiple,
)
from aecodec.models.context import ContextConfig, VariableRateCheckerboard
from aecodec.models.factorized import (
    LATENT_INIT_GAIN,
    RateDistortionAutoencoder,
    RateDistortionConfig,
)
from aecodec.models.hyperprior import HyperpriorAutoencoder, HyperpriorConfig
from aecodec.models.protocol import Codec, Rounding
from aecodec.models.variable_rate import VariableRateConfig, VariableRateHyperprior

__all__ = [
    "KERNEL", "LATENT_INIT_GAIN", "MODEL_CLASSES", "Autoencoder", "AutoencoderConfig", "Codec",
    "ContextConfig", "VariableRateCheckerboard",
    "ConvDecoder", "ConvEncoder", "HyperpriorAutoencoder", "HyperpriorConfig",
    "RateDistortionAutoencoder", "RateDistortionConfig", "Rounding", "VariableRateConfig",
    "VariableRateHyperprior", "build_model", "compression_ratio", "latent_shape",
    "num_latent_values", "pad_to_multiple",
]


MODEL_CLASSES = {AutoencoderConfig: Autoencoder, RateDistortionConfig: RateDistortionAutoencoder,
                 HyperpriorConfig: HyperpriorAutoencoder,
                 VariableRateConfig: VariableRateHyperprior,
                 ContextConfig: VariableRateCheckerboard}  # each config's model


def build_model(config: AutoencoderConfig) -> Autoencoder:
    """An untrained model of `config` (of one of the `MODEL_CLASSES` configs)."""
    if type(config) not in MODEL_CLASSES:
        raise TypeError(f"no model is built from a {type(config).__name__}")
    return MODEL_CLASSES[type(config)].from_config(config)
