"""aecodec: learned image compression with convolutional autoencoders, for learning.

Modules, one concern each:
    aecodec.images       image files <-> tensors x (3, H, W) in [0, 1], every mode to RGB
    aecodec.data         sample photos, image folders, patch datasets
    aecodec.kodak        the Kodak benchmark: verified download, loading
    aecodec.metrics      mse, psnr, ms_ssim, bpp, 8-bit rounding
    aecodec.layers       GDN, Upsample2x (the decoder's deterministic upsampling)
    aecodec.rangecoder   integers <-> bytes with integer tables (the only user of constriction)
    aecodec.entropy      quantization, the entropy models and their integer coding tables
    aecodec.models       the autoencoders and codecs (`Codec`: each codec codes its latents)
    aecodec.losses       rd_loss: lambda * 255^2 * MSE + bpp
    aecodec.latents8bit  latents stored as 8-bit values (plain autoencoders)
    aecodec.codec        the .aec file container: compress / decompress, header, tiling
    aecodec.checkpoint   safe, atomic checkpoints
    aecodec.refine       better latents at encode time (the amortization gap)
    aecodec.catalogue    the shipped codecs' names and numbers (no PyTorch: for --help)
    aecodec.zoo          the shipped models: their constants, where they are, loading them
    aecodec.training     the training loop: train_step, evaluate, fit (steps or minutes)
    aecodec.recipes      every training recipe, and the training of the shipped families
    aecodec.baselines    JPEG, WebP and AVIF through Pillow
    aecodec.evaluation   the scoring harness `score`, codecs against baselines, BD-rate
    aecodec.viz          matplotlib figures
    aecodec.widgets      the explorers (ipywidgets)
    aecodec.course       the course's helpers: exercise checks, the classroom edition
    aecodec.cli          the `aecodec` command
    aecodec.pillow       the Pillow plugin for .aec files (imported only when asked)

Layers: a module imports only from its own layer or the layers above it in this list,
never from one below, and imports form no circle (tests/test_import_graph.py checks both,
lazy imports inside functions included). So loading a shipped model (zoo) needs no
training code, and the codec container needs no figures.
    0 foundations   errors, catalogue, _atomic, metrics, losses, layers, distributed
    1 pixels        images, data, kodak, baselines
    2 coding        rangecoder, entropy
    3 models        models (its context.py: the default codec), latents8bit
    4 files         codec, checkpoint, refine
    5 shipped       zoo
    6 training      training, recipes
    7 measuring     evaluation, viz, widgets, course
    8 entry points  cli, __main__, pillow, this package
(This package imports its names from their modules when first asked for, so that
`import aecodec.zoo` loads no training code, and `aecodec --help` no PyTorch.)
"""

import importlib

from aecodec.errors import AecodecError, CheckpointError, CodecError, DownloadError, ImageError

# The rest is imported on first use (`from aecodec import compress` works as usual): most of
# it imports PyTorch, which takes seconds, and `aecodec --help` or `import aecodec.pillow`
# should not wait for it.
_LAZY = {
    "aecodec.checkpoint": ("load_checkpoint", "load_model", "save_checkpoint"),
    "aecodec.codec": ("compress", "decompress"),
    "aecodec.data": ("CenterCropDataset", "PatchDataset", "load_folder", "load_sample",
                     "load_samples"),
    "aecodec.images": ("load_image", "save_image"),
    "aecodec.kodak": ("download_kodak", "load_kodak"),
    "aecodec.losses": ("rd_loss",),
    "aecodec.metrics": ("bpp", "ms_ssim", "mse", "psnr", "quantize_8bit"),
    "aecodec.models": ("Autoencoder", "AutoencoderConfig", "ConvDecoder", "ConvEncoder",
                       "RateDistortionAutoencoder", "RateDistortionConfig"),
    "aecodec.training": ("evaluate", "fit"),
}
_HOME = {name: module for module, names in _LAZY.items() for name in names}


def __getattr__(name: str):
    """`aecodec.compress` and the other names above, imported from their module when asked;
    `aecodec.metrics` and the other modules likewise, after a plain `import aecodec`."""
    if name in _HOME:
        value = getattr(importlib.import_module(_HOME[name]), name)
        globals()[name] = value  # the next lookup is an ordinary one
        return value
    try:
        return importlib.import_module(f"{__name__}.{name}")
    except ModuleNotFoundError as e:
        if e.name != f"{__name__}.{name}":
            raise  # the module exists but something it imports is missing
    raise AttributeError(f"module 'aecodec' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_HOME})


__version__ = "0.2.0"

__all__ = [
    "AecodecError", "Autoencoder", "AutoencoderConfig", "CenterCropDataset", "CheckpointError",
    "CodecError", "ConvDecoder", "ConvEncoder", "DownloadError", "ImageError", "PatchDataset",
    "RateDistortionAutoencoder", "RateDistortionConfig", "bpp", "compress", "decompress",
    "download_kodak", "evaluate", "fit", "load_checkpoint", "load_folder", "load_image",
    "load_kodak", "load_model", "load_sample", "load_samples", "ms_ssim", "mse", "psnr",
    "quantize_8bit", "rd_loss", "save_checkpoint", "save_image",
]

