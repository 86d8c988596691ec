"""aecodec: learned image compression with convolutional autoencoders, for learning.

Modules, one concern each:
    aecodec.images      image files <-> tensors x (3, H, W) in [0, 1]
    aecodec.data        sample photos, image folders, patch datasets, Kodak
    aecodec.models      ConvEncoder, ConvDecoder, Autoencoder, RateDistortionAutoencoder
    aecodec.training    the training loop: train_one_epoch, evaluate, fit (steps or minutes)
    aecodec.checkpoint  safe, atomic checkpoints
    aecodec.metrics     mse, psnr, ms_ssim, bpp
    aecodec.quantize    latents stored as 8-bit values (plain autoencoders)
    aecodec.entropy     quantization, the learned entropy model, GDN
    aecodec.codec       compress / decompress: real .aec files
    aecodec.jpeg        the JPEG and WebP baselines
    aecodec.evaluation  codecs on image folders, BD-rate
    aecodec.zoo         the shipped models and how they were trained
    aecodec.exercises   the notebooks' exercise checks
    aecodec.classroom   the student edition of the notebooks (solutions -> stubs)
    aecodec.viz         matplotlib figures
    aecodec.widgets     the explorers (ipywidgets)
    aecodec.cli         the `aecodec` command
"""

from aecodec.checkpoint import load_checkpoint, load_model, save_checkpoint
from aecodec.codec import CodecError, compress, decompress
from aecodec.data import (
    CenterCropDataset,
    ImageFolder,
    PatchDataset,
    download_kodak,
    load_folder,
    load_kodak,
    load_sample,
    load_samples,
)
from aecodec.errors import AecodecError, CheckpointError, DownloadError, ImageError
from aecodec.images import load_image, save_image
from aecodec.metrics import bpp, ms_ssim, mse, psnr, quantize_8bit
from aecodec.models import (
    Autoencoder,
    AutoencoderConfig,
    ConvDecoder,
    ConvEncoder,
    RateDistortionAutoencoder,
    RateDistortionConfig,
)
from aecodec.training import evaluate, fit, train_one_epoch

__version__ = "0.1.0"

__all__ = [
    "AecodecError", "Autoencoder", "AutoencoderConfig", "CenterCropDataset", "CheckpointError",
    "CodecError", "RateDistortionAutoencoder", "RateDistortionConfig", "compress", "decompress",
    "ConvDecoder", "ConvEncoder", "DownloadError", "ImageError", "ImageFolder", "PatchDataset",
    "bpp", "download_kodak", "evaluate", "fit", "load_checkpoint", "load_folder", "load_image",
    "load_kodak", "load_model", "load_sample", "load_samples", "ms_ssim", "mse", "psnr",
    "quantize_8bit", "save_checkpoint", "save_image", "train_one_epoch",
]
