"""JPEG (and WebP) through Pillow, the baselines every learned codec is measured against.

Holds: `encode_jpeg` / `encode_webp` (x -> bytes), `decode_image_bytes`,
`jpeg_at_most` (the best JPEG that fits a byte budget) and `jpeg_curve`.
Sizes are real: `len(data)` of what Pillow writes, headers included.
"""

import io

import torch
from PIL import Image

from aecodec.images import image_to_tensor, tensor_to_image


def encode_jpeg(x: torch.Tensor, quality: int) -> bytes:
    """x (3, H, W) in [0, 1] -> JPEG bytes at `quality` (1..95), 4:2:0 chroma."""
    buffer = io.BytesIO()
    tensor_to_image(x).save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def encode_webp(x: torch.Tensor, quality: int) -> bytes:
    """x (3, H, W) in [0, 1] -> lossy WebP bytes at `quality` (0..100)."""
    buffer = io.BytesIO()
    tensor_to_image(x).save(buffer, format="WEBP", quality=quality, method=6)
    return buffer.getvalue()


def decode_image_bytes(data: bytes) -> torch.Tensor:
    """Bytes of any image file -> x_hat (3, H, W) in [0, 1]."""
    return image_to_tensor(Image.open(io.BytesIO(data)))


def jpeg_at_most(x: torch.Tensor, max_bytes: int) -> tuple[torch.Tensor, int, int]:
    """The highest-quality JPEG of x that takes at most `max_bytes` bytes.

    Returns:
        (x_hat (3, H, W), its size in bytes, the quality used). If even quality 1 is
        larger than the budget, quality 1 is returned: check the size.
    """
    low, high = 1, 95
    best = None
    while low <= high:  # binary search: file size grows with quality
        quality = (low + high) // 2
        data = encode_jpeg(x, quality)
        if len(data) <= max_bytes:
            best, low = (data, quality), quality + 1
        else:
            high = quality - 1
    data, quality = best if best is not None else (encode_jpeg(x, 1), 1)
    return decode_image_bytes(data), len(data), quality


def jpeg_curve(
    x: torch.Tensor, qualities: tuple[int, ...] = (5, 10, 20, 30, 50, 70, 85, 95)
) -> list[tuple[int, int, torch.Tensor]]:
    """[(quality, bytes, x_hat)] for a sweep of JPEG qualities."""
    out = []
    for quality in qualities:
        data = encode_jpeg(x, quality)
        out.append((quality, len(data), decode_image_bytes(data)))
    return out
