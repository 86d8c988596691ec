"""Entropy coding: quantized latents -> bytes in a file -> latents -> image.

Holds: `encode_latents` / `decode_latents` (range coding with the `constriction`
library), and `compress` / `decompress`, which mirror each other and read and write the
file format below.
Does not hold: the model or its training (`aecodec.models`, `aecodec.training`).

Bit-exact decoding on any machine. The decoder must use exactly the probabilities the
encoder used, or it decodes garbage. So the probabilities are *integer* counts summing to
2^16, computed once from the trained prior by `model.update_tables()` and stored in it.
The coder receives counts / 2^16, an exact floating-point division by a power of two,
and `constriction` turns them into its fixed-point model deterministically. No float
maths of the network is on the decode path's probabilities.

Each channel c has counts for the integers offset_c .. offset_c + L_c - 2, plus one last
"escape" symbol for values outside that range; an escaped value is then written as a
32-bit number with two uniform 16-bit symbols.

File format (little-endian), 35 bytes of header and checksum around the stream:
    magic        4 bytes   b"AECZ"
    version      1 byte    FORMAT_VERSION
    model id     8 bytes   start of the SHA-256 of the model's weights and tables
    height       u32       image size in pixels
    width        u32
    channels     u16       latent shape C, h, w (h = ceil(height / 2^k) ...)
    h, w         u16, u16
    stream size  u32       bytes of range-coded stream that follow
    stream       ...
    crc32        u32       of everything before it
"""

import hashlib
import struct
import zlib

import constriction
import numpy as np
import torch

from aecodec.errors import AecodecError
from aecodec.metrics import quantize_8bit
from aecodec.models import RateDistortionAutoencoder

MAGIC = b"AECZ"
FORMAT_VERSION = 1
HEADER = struct.Struct("<4sB8sIIHHHI")  # magic, version, model id, H, W, C, h, w, stream size
CRC = struct.Struct("<I")
PRECISION = 16  # counts sum to 2^16 (see FactorizedPrior.integer_tables)
MAX_VALUE = 2**30  # latents are clamped to +-2^30 so escapes fit in 32 bits


class CodecError(AecodecError):
    """A file that is not a valid .aec file for this model."""


# --- tables ---------------------------------------------------------------------------


def _has_tables(model: RateDistortionAutoencoder) -> bool:
    return bool(model.cdf_lengths.numel()) and int(model.cdf_lengths.min()) > 1


def model_id(model: RateDistortionAutoencoder) -> bytes:
    """8 bytes identifying the model: the start of the SHA-256 of its weights and tables."""
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.digest()[:8]


# --- symbols <-> stream ---------------------------------------------------------------


def _channel_model(model: RateDistortionAutoencoder, c: int):
    length = int(model.cdf_lengths[c])
    counts = model.cdf_counts[c, :length].numpy().astype(np.float64)
    return constriction.stream.model.Categorical(counts / 2**PRECISION, perfect=False)


def encode_latents(model: RateDistortionAutoencoder, y_hat: torch.Tensor) -> bytes:
    """Integer latents y_hat (C, h, w) -> range-coded bytes."""
    encoder = constriction.stream.queue.RangeEncoder()
    escaped = []
    for c in range(y_hat.shape[0]):
        values = y_hat[c].flatten().long().clamp(-MAX_VALUE, MAX_VALUE).numpy()
        escape = int(model.cdf_lengths[c]) - 1
        symbols = values - int(model.cdf_offsets[c])
        outside = (symbols < 0) | (symbols >= escape)
        symbols[outside] = escape
        encoder.encode(symbols.astype(np.int32), _channel_model(model, c))
        escaped.append(values[outside])
    escaped = np.concatenate(escaped).astype(np.int64)
    if len(escaped):
        bits = (escaped & 0xFFFFFFFF).astype(np.uint32)  # two's complement, 32 bits
        uniform = constriction.stream.model.Uniform(2**16)
        encoder.encode((bits >> 16).astype(np.int32), uniform)
        encoder.encode((bits & 0xFFFF).astype(np.int32), uniform)
    return encoder.get_compressed().tobytes()


def decode_latents(model: RateDistortionAutoencoder, stream: bytes,
                   shape: tuple[int, int, int]) -> torch.Tensor:
    """Range-coded bytes -> integer latents y_hat (C, h, w); mirrors `encode_latents`."""
    channels, h, w = shape
    if len(stream) % 4:
        raise CodecError("corrupt stream: its length is not a multiple of 4 bytes")
    decoder = constriction.stream.queue.RangeDecoder(np.frombuffer(stream, dtype=np.uint32))
    y_hat = np.empty((channels, h * w), dtype=np.int64)
    escapes = []
    for c in range(channels):
        symbols = decoder.decode(_channel_model(model, c), h * w).astype(np.int64)
        escape = int(model.cdf_lengths[c]) - 1
        y_hat[c] = symbols + int(model.cdf_offsets[c])
        escapes.append((c, np.nonzero(symbols == escape)[0]))
    count = sum(len(where) for _, where in escapes)
    if count:
        uniform = constriction.stream.model.Uniform(2**16)
        high = decoder.decode(uniform, count).astype(np.int64)
        low = decoder.decode(uniform, count).astype(np.int64)
        bits = (high << 16) | low
        values = np.where(bits >= 2**31, bits - 2**32, bits)  # back from two's complement
        start = 0
        for c, where in escapes:
            y_hat[c, where] = values[start : start + len(where)]
            start += len(where)
    return torch.from_numpy(y_hat).view(channels, h, w)


# --- files ----------------------------------------------------------------------------


@torch.no_grad()
def compress(model: RateDistortionAutoencoder, x: torch.Tensor) -> bytes:
    """One image x (3, H, W) or (1, 3, H, W) in [0, 1] -> the bytes of an .aec file.

    Args:
        model: a trained `RateDistortionAutoencoder` with tables (`update_tables`).
        x: the image.
    """
    if not _has_tables(model):
        raise CodecError("the model has no coding tables: run model.update_tables()")
    x = x[None] if x.dim() == 3 else x
    if x.dim() != 4 or x.shape[0] != 1 or x.shape[1] != 3:
        raise ValueError(f"compress takes one image (3, H, W), got shape {tuple(x.shape)}")
    height, width = x.shape[-2:]
    if max(height, width) > 65535 * 2**model.config.downsamplings or height > 2**32 - 1:
        raise CodecError(f"image of {width}x{height} pixels is too large for the format")
    model.eval()
    y_hat = torch.round(model.encode(x))[0]  # (C, h, w) integers
    stream = encode_latents(model, y_hat)
    header = HEADER.pack(MAGIC, FORMAT_VERSION, model_id(model), height, width, *y_hat.shape,
                         len(stream))
    body = header + stream
    return body + CRC.pack(zlib.crc32(body))


def read_header(data: bytes) -> dict:
    """Check and parse an .aec file's header and checksum (no model needed)."""
    if len(data) < HEADER.size + CRC.size:
        raise CodecError(f"not an .aec file: only {len(data)} bytes")
    magic, version, ident, height, width, c, h, w, size = HEADER.unpack_from(data)
    if magic != MAGIC:
        raise CodecError("not an .aec file (wrong magic bytes)")
    if version != FORMAT_VERSION:
        raise CodecError(f".aec format version {version}, this aecodec reads {FORMAT_VERSION}")
    if len(data) != HEADER.size + size + CRC.size:
        raise CodecError(f"truncated or padded file: header says {size} stream bytes, "
                         f"file holds {len(data) - HEADER.size - CRC.size}")
    (crc,) = CRC.unpack_from(data, len(data) - CRC.size)
    if crc != zlib.crc32(data[: -CRC.size]):
        raise CodecError("corrupt file: checksum mismatch")
    return dict(model_id=ident, height=height, width=width, latent_shape=(c, h, w),
                stream=data[HEADER.size : HEADER.size + size])


@torch.no_grad()
def decompress(model: RateDistortionAutoencoder, data: bytes) -> torch.Tensor:
    """The bytes of an .aec file -> x_hat (1, 3, H, W), 8-bit values in [0, 1].

    Mirrors `compress`: checks the header, the checksum, and that the file was made by
    this very model, then decodes the latents and runs the decoder.
    """
    header = read_header(data)
    if header["model_id"] != model_id(model):
        raise CodecError("this file was made by another model (model id differs)")
    height, width = header["height"], header["width"]
    expected = model.latent_shape(height, width) if height and width else None
    if expected != header["latent_shape"]:
        raise CodecError(f"header latent shape {header['latent_shape']} does not fit a "
                         f"{width}x{height} image for this model")
    y_hat = decode_latents(model, header["stream"], header["latent_shape"])  # (C, h, w)
    model.eval()
    x_hat = model.decode(y_hat[None].float(), size=(height, width))  # (1, 3, H, W)
    return quantize_8bit(x_hat)
