"""JPEG, WebP and AVIF through Pillow, the baselines every learned codec is measured against.

Holds: `encode_jpeg` / `encode_webp` / `encode_avif` (x -> bytes), `decode_image_bytes`,
`jpeg_at_most` (the best JPEG that fits a byte budget), `jpeg_curve`, `webp_curve` and
`avif_curve`, and every sweep of qualities the kit uses (`QUALITIES`, the evaluation's
`JPEG_QUALITIES` / `WEBP_QUALITIES` / `AVIF_QUALITIES`, the explorers' shorter AVIF one).
Sizes are real: `len(data)` of what Pillow writes, headers included.

Each codec gets its best ordinary settings, so that a comparison is fair to it:
    JPEG   optimized Huffman tables (`optimize=True`: the same pixels as Pillow's default
           standard tables, in up to a third fewer bytes at low qualities), 4:2:0 chroma
    WebP   method 6 (the slowest, best compression), lossy
    AVIF   4:4:4 chroma by default (the fair setting for an RGB PSNR comparison; Pillow's
           default is 4:2:0, which `subsampling="4:2:0"` gives), encoder speed 6 of 0-10
"""

import io

import torch

from aecodec.images import decode_image, tensor_to_image

AVIF_SPEED = 6


def encode_jpeg(x: torch.Tensor, quality: int) -> bytes:
    """x (3, H, W) in [0, 1] -> JPEG bytes at `quality` (1..95), 4:2:0 chroma, optimized
    Huffman tables."""
    buffer = io.BytesIO()
    tensor_to_image(x).save(buffer, format="JPEG", quality=quality, optimize=True)
    return buffer.getvalue()


def encode_webp(x: torch.Tensor, quality: int) -> bytes:
    """x (3, H, W) in [0, 1] -> lossy WebP bytes at `quality` (0..100)."""
    buffer = io.BytesIO()
    tensor_to_image(x).save(buffer, format="WEBP", quality=quality, method=6)
    return buffer.getvalue()


def encode_avif(x: torch.Tensor, quality: int, subsampling: str = "4:4:4") -> bytes:
    """x (3, H, W) in [0, 1] -> AVIF bytes at `quality` (0..100), encoder speed
    `AVIF_SPEED`.

    Args:
        x: the image.
        quality: 0 (smallest) to 100 (best).
        subsampling: "4:4:4" (full colour resolution) or "4:2:0".
    """
    buffer = io.BytesIO()
    tensor_to_image(x).save(buffer, format="AVIF", quality=quality, speed=AVIF_SPEED,
                            subsampling=subsampling)
    return buffer.getvalue()


def decode_image_bytes(data: bytes) -> torch.Tensor:
    """Bytes of any image file -> x_hat (3, H, W) in [0, 1]."""
    return decode_image(data, "encoded image")


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


QUALITIES = (5, 10, 20, 30, 50, 70, 85, 95)  # a quick sweep: the curves' default
# `aecodec evaluate`'s sweeps (`evaluation.evaluate_codecs`): dense enough for BD-rate over
# every learned codec's range on Kodak
JPEG_QUALITIES = (2, 3, 4, 5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95)
WEBP_QUALITIES = (5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95)
AVIF_QUALITIES = (10, 20, 30, 40, 50, 60, 70, 80, 90)
AVIF_EXPLORER_QUALITIES = (10, 30, 50, 70, 90)  # the explorers': AVIF encodes slowest


def _curve(encode, x: torch.Tensor, qualities) -> list[tuple[int, int, torch.Tensor]]:
    out = []
    for quality in qualities:
        data = encode(x, quality)
        out.append((quality, len(data), decode_image_bytes(data)))
    return out


def jpeg_curve(
    x: torch.Tensor, qualities: tuple[int, ...] = QUALITIES
) -> list[tuple[int, int, torch.Tensor]]:
    """[(quality, bytes, x_hat)] for a sweep of JPEG qualities."""
    return _curve(encode_jpeg, x, qualities)


def webp_curve(
    x: torch.Tensor, qualities: tuple[int, ...] = QUALITIES
) -> list[tuple[int, int, torch.Tensor]]:
    """[(quality, bytes, x_hat)] for a sweep of WebP qualities."""
    return _curve(encode_webp, x, qualities)


def avif_curve(
    x: torch.Tensor, qualities: tuple[int, ...] = QUALITIES
) -> list[tuple[int, int, torch.Tensor]]:
    """[(quality, bytes, x_hat)] for a sweep of AVIF qualities, in 4:4:4."""
    return _curve(encode_avif, x, qualities)
