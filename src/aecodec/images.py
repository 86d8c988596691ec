"""Image files <-> tensors, with one documented rule for every image mode.

Holds: `load_image` (any file Pillow reads -> x of shape (3, H, W) in [0, 1]),
`rgb_array` (the mode rule), `image_to_tensor`, `tensor_to_image`, `save_image`.
Does not hold: datasets and downloads (see `aecodec.data`).

The mode rule (what `rgb_array` does with each Pillow mode):

- ``RGB``: used as it is.
- ``1``, ``L``, ``P`` (no transparency), ``CMYK``, ``YCbCr``, ``LAB``, ``HSV``, ``RGBX``:
  converted with Pillow's ``convert("RGB")``. Grey becomes three equal channels. CMYK uses
  Pillow's plain formula, without colour profiles.
- Modes with transparency (``RGBA``, ``LA``, ``PA``, ``RGBa``, ``La``, or ``P`` with a
  transparent colour): composited onto a white background, as a viewer shows them.
- 16/32-bit integer grey (``I``, ``I;16``, ``I;16B``, ``I;16L``): divided by 65535, so
  16-bit images keep their full precision; values outside [0, 65535] are refused.
- 16-bit RGB(A) PNG files: Pillow reads them as 8-bit ``RGB(A)``, keeping the top byte of
  each value (within 1/255 of the 16-bit value).
- ``F`` (32-bit float): refused, because it has no defined white level.
- Animated or multi-page files (GIF, TIFF): the first frame is used.
"""

import io
import os
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from aecodec._atomic import atomic_write
from aecodec.errors import ImageError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
_ALPHA_MODES = {"RGBA", "LA", "PA", "RGBa", "La"}
_INT_GREY_MODES = {"I", "I;16", "I;16B", "I;16L", "I;16N"}


def rgb_array(image: Image.Image) -> np.ndarray:
    """The mode rule (see the module docstring) applied to a Pillow image of any mode.

    Returns:
        (H, W, 3): uint8 for 8-bit images (a quarter of the memory of floats until the last
        step), float32 in [0, 1] for 16/32-bit grey.
    """
    mode = image.mode
    if mode == "P" and "transparency" in image.info:
        image, mode = image.convert("RGBA"), "RGBA"
    if mode in _ALPHA_MODES:
        white = Image.new("RGBA", image.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, image.convert("RGBA"))
        mode = "RGBA"
    if mode in _INT_GREY_MODES:
        grey = np.asarray(image, dtype=np.int64)  # (H, W)
        if grey.min() < 0 or grey.max() > 65535:
            raise ImageError(f"{mode} image has values outside 0..65535; cannot map to [0, 1]")
        grey = grey.astype(np.float32) / 65535.0
        return np.repeat(grey[:, :, None], 3, axis=2)  # (H, W, 3)
    if mode == "F":
        raise ImageError("32-bit float images (mode F) have no defined white level; refusing")
    return np.array(image.convert("RGB"))  # (H, W, 3) uint8, a writable copy


def image_to_tensor(image: Image.Image) -> torch.Tensor:
    """A Pillow image of any mode -> x of shape (3, H, W), float32 in [0, 1]."""
    if image.width == 0 or image.height == 0:
        raise ImageError(f"image has no pixels ({image.width}x{image.height})")
    rgb = torch.from_numpy(rgb_array(image))  # (H, W, 3)
    x = rgb.permute(2, 0, 1).contiguous()  # (3, H, W)
    return x.float().div_(255) if x.dtype == torch.uint8 else x


def _decode(source, name: str) -> Image.Image:
    """Open and fully decode an image (first frame) from a path or file object."""
    try:
        image = Image.open(source)
        image.seek(0)  # first frame of animated / multi-page files
        image.load()
    except UnidentifiedImageError:
        raise ImageError(f"{name}: not an image file Pillow can read") from None
    except Image.DecompressionBombError as e:
        raise ImageError(f"{name}: image is too large to open safely ({e})") from None
    except (OSError, SyntaxError, ValueError, EOFError) as e:
        raise ImageError(f"{name}: corrupt or truncated image ({e})") from None
    return image


def open_image(path: str | os.PathLike) -> Image.Image:
    """Open and fully decode an image file (first frame), with clear errors.

    Args:
        path: a PNG, JPEG or any other file Pillow can read.
    """
    path = Path(path)
    if not path.exists():
        raise ImageError(f"{path}: no such file")
    if path.is_dir():
        raise ImageError(f"{path}: is a folder, not an image file")
    if path.stat().st_size == 0:
        raise ImageError(f"{path}: file is empty (0 bytes)")
    return _decode(path, str(path))


def decode_image(data: bytes, name: str = "image data") -> torch.Tensor:
    """The bytes of an image file (an upload, a JPEG in memory) -> x (3, H, W) in [0, 1].

    Args:
        data: the file's bytes.
        name: what to call it in error messages.
    """
    if not data:
        raise ImageError(f"{name}: empty (0 bytes)")
    try:
        return image_to_tensor(_decode(io.BytesIO(data), name))
    except ImageError as e:
        message = str(e)
        raise ImageError(message if message.startswith(name) else f"{name}: {message}") from None


def load_image(path: str | os.PathLike) -> torch.Tensor:
    """Read an image file as x of shape (3, H, W) in [0, 1] (see the mode rule above).

    Args:
        path: the image file.
    """
    path = Path(path)
    image = open_image(path)
    try:
        return image_to_tensor(image)
    except ImageError as e:
        raise ImageError(f"{path}: {e}") from None


def tensor_to_image(x: torch.Tensor) -> Image.Image:
    """x of shape (3, H, W) (or (1, 3, H, W)) in [0, 1] -> an 8-bit RGB Pillow image.

    Values are clamped to [0, 1], then rounded to the nearest of 256 levels.
    """
    if x.dim() == 4 and x.shape[0] == 1:
        x = x[0]  # (3, H, W)
    if x.dim() != 3 or x.shape[0] != 3:
        raise ValueError(f"expected a (3, H, W) image tensor, got shape {tuple(x.shape)}")
    pixels = x.detach().float().cpu().clamp(0, 1).mul_(255).round_().to(torch.uint8)  # (3, H, W)
    return Image.fromarray(pixels.permute(1, 2, 0).numpy(), mode="RGB")  # (H, W, 3)


def save_image(x: torch.Tensor, path: str | os.PathLike) -> None:
    """Save x (3, H, W) in [0, 1] as an 8-bit image, atomically.

    The format comes from the suffix (.png, .jpg, ...). PNG is lossless.
    """
    path = Path(path)
    fmt = Image.registered_extensions().get(path.suffix.lower())
    if fmt is None:
        raise ImageError(f"{path}: unknown image format for suffix {path.suffix!r}")
    image = tensor_to_image(x)
    with atomic_write(path) as f:
        image.save(f, format=fmt)
