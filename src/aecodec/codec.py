"""Entropy coding: quantized latents -> bytes in a file -> latents -> image.

Holds: the file format (`compress` / `decompress`, which mirror each other, `read_header`,
and `decoded_digests`, the fingerprint of what a file decodes to), range coding
(`encode_latents` / `decode_latents`, with the `constriction` library) and tiling
(`analysis` / `synthesis`: the model's own `encode` and `decode` run tile by tile, so big
images fit in memory). Does not hold: the model, its entropy model or their coding tables
(`aecodec.models`, `aecodec.entropy`); nothing here looks inside the network.

Bit-exact decoding on any machine. The decoder must use exactly the probabilities the
encoder used, or it decodes garbage. So the probabilities are *integer* counts summing to
2^16, built once from the trained prior by `model.prior.update_tables()` and stored with
the weights. The coder receives counts / 2^16, an exact floating-point division by a
power of two, and `constriction` turns them into its fixed-point model deterministically.
No float maths of the network is on the decode path's probabilities.

Each channel c has counts for the integers offset_c .. offset_c + L_c - 2, plus one last
"escape" symbol for values outside that range; an escaped value is then written as a
32-bit number with two uniform 16-bit symbols.

File format (little-endian): a header, the stream, a 4-byte checksum. Version 1 (a
factorized-prior codec's file) has a 31-byte header:
    magic        4 bytes   b"AECZ"
    version      1 byte    FORMAT_VERSION
    model id     8 bytes   start of the SHA-256 of the model's weights and tables
                           (`model_id`: the file names the model that decodes it)
    height       u32       image size in pixels
    width        u32
    channels     u16       latent shape C, h, w (h = ceil(height / 2^k) ...)
    h, w         u16, u16
    stream size  u32       bytes of range-coded stream that follow
    stream       ...
    crc32        u32       of everything before it
Version 2 (a hyperprior codec's file) adds the side latent's shape S, h/4, w/4 (3 x u16)
after the latent shape, a 37-byte header; its stream holds z_hat's symbols first, then
y's (round(y - means_hat)), each coded with the table its predicted scale picks
(`aecodec.entropy.GaussianConditional`). Version 3 (a variable-rate hyperprior codec's
file, `aecodec.models.VariableRateHyperprior`) adds, after the side latent's shape, the
lambda it was coded at as a float32 (41 bytes): the decoder sets its gains from it. The
gains act only on y's values, never on the hyper path, so the tables of a version-3 file
are picked exactly as a version-2 file's are. The encoder and decoder run by tiles (below); the
small hyper-encoder and hyper-decoder run on the whole latent at once.

Hostile files. `decompress` either returns a valid image or raises `CodecError` with a
message naming the problem; nothing else (the test suite fuzzes it with thousands of
damaged files). Every size is checked before memory is allocated: images above
`MAX_PIXELS` are refused, the stream may not be longer than the latents could need, and
a stream the range decoder finds invalid, that leaves data over, or that escapes to values
no encoder writes is refused.

Big images. The encoder and decoder run on tiles of `TILE_PIXELS` x `TILE_PIXELS` pixels
whose latents overlap their neighbours' by `MARGIN` positions, more than the 5x5 kernels
can see (under 2 latent positions), so the tiles join without seams. Memory then depends on
the tile, not on the image: compressing and decompressing a 6000x4000 photo in one process
stays under 2.5 GiB of peak memory, Python and PyTorch included (in one piece, a 64-channel
model with k = 4 took 7 GB). The tiling is fixed by the image size, so decoding is
deterministic. Images of one tile or less (Kodak) are coded in one piece.

Same bytes and pixels with any number of threads. The network runs in PyTorch's
channels-last layout, whose CPU convolutions give the same bits with 1, 2 or more threads,
and the decoder's upsampling layers (`aecodec.layers.Upsample2x`) compute their transposed
convolutions as ordinary ones, since PyTorch's own transposed ones do not. So decoding a
file and `model.decode(y_hat)` are the same code and give the same pixels. (A CPU with
other vector instructions may round floats differently: rarely, a latent or an 8-bit pixel
then differs by one step. Entropy decoding is exact everywhere.) `compress` and
`decompress` run under `flush_denormal`, as training does: numbers too small to matter
then count as zero instead of making the CPU several times slower.
"""

import contextlib
import hashlib
import math
import struct
import zlib

import constriction
import numpy as np
import torch
import torch.nn.functional as F

from aecodec.entropy import TABLE_PRECISION, FactorizedPrior
from aecodec.errors import CodecError
from aecodec.layers import flush_denormal
from aecodec.metrics import quantize_8bit
from aecodec.models import (
    Codec,
    HyperpriorAutoencoder,
    RateDistortionAutoencoder,
    VariableRateHyperprior,
)

MAGIC = b"AECZ"
FORMAT_VERSION = 1  # a factorized-prior codec's file
HEADER = struct.Struct("<4sB8sIIHHHI")  # magic, version, model id, H, W, C, h, w, stream size
HYPERPRIOR_VERSION = 2  # a hyperprior codec's file: the side latent's shape comes too
HYPERPRIOR_HEADER = struct.Struct("<4sB8sIIHHHHHHI")  # ..., C, h, w, S, h/4, w/4, stream size
VARIABLE_RATE_VERSION = 3  # a variable-rate hyperprior codec's file: its lambda comes too
VARIABLE_RATE_HEADER = struct.Struct("<4sB8sIIHHHHHHfI")  # ..., S, h/4, w/4, lambda, size
KINDS = {FORMAT_VERSION: "factorized", HYPERPRIOR_VERSION: "hyperprior",
         VARIABLE_RATE_VERSION: "variable-rate"}
CRC = struct.Struct("<I")
MAX_VALUE = 2**30  # latents are clamped to +-2^30 so escapes fit in 32 bits
MAX_PIXELS = 2**25  # largest image accepted (33.5 megapixels: 8K UHD, 7680x4320, fits)
MAX_SYMBOL_BITS = 24 + 32  # most one latent can cost: a symbol (>= 2^-24) + an escape
TILE_PIXELS = 768  # pixels per tile side (a Kodak image, 768x512, is one tile)
MARGIN = 3  # latent positions of overlap around each tile


# Format 1 hashes the coding tables under the names they had when it was defined, so
# that files written then still name their model.
_ID_NAMES = {"prior." + name: name for name in ("cdf_counts", "cdf_offsets", "cdf_lengths")}


def model_id(model: RateDistortionAutoencoder) -> bytes:
    """8 bytes identifying the model: the start of the SHA-256 of its weights and tables."""
    digest = hashlib.sha256()
    named = {_ID_NAMES.get(name, name): tensor for name, tensor in model.state_dict().items()}
    for name, tensor in sorted(named.items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.digest()[:8]


# --- symbols <-> stream ---------------------------------------------------------------


def _channel_model(counts: torch.Tensor):
    """constriction's model of one table: counts / 2^16, an exact division."""
    probabilities = counts.numpy().astype(np.float64) / 2**TABLE_PRECISION
    return constriction.stream.model.Categorical(probabilities, perfect=False)


def encode_latents(prior: FactorizedPrior, y_hat: torch.Tensor) -> bytes:
    """Integer latents y_hat (C, h, w) -> range-coded bytes, with the prior's tables."""
    encoder = constriction.stream.queue.RangeEncoder()
    _encode_groups(encoder, [(y_hat[c], *prior.table(c)) for c in range(len(y_hat))])
    return encoder.get_compressed().tobytes()


def decode_latents(prior: FactorizedPrior, stream: bytes,
                   shape: tuple[int, int, int]) -> torch.Tensor:
    """Range-coded bytes -> integer latents y_hat (C, h, w); mirrors `encode_latents`.

    Raises `CodecError` for a stream no encoder could have written: of a length that is
    not whole 32-bit words or longer than the latents could need, one the range decoder
    finds invalid, one with data left over, or one escaping to impossible values.

    Args:
        prior: the entropy model whose tables wrote the stream (the model's `prior`).
        stream: the range-coded bytes.
        shape: the latent shape (C, h, w) from the file's header.
    """
    channels, h, w = shape
    _check_stream_size(len(stream), channels * h * w)
    decoder = _decoder(stream)
    values = _decode_groups(decoder, [(h * w, *prior.table(c)) for c in range(channels)])
    _check_exhausted(decoder)
    return torch.from_numpy(np.stack(values)).view(channels, h, w)


def _encode_groups(encoder, groups: list[tuple[torch.Tensor, int, torch.Tensor]]) -> None:
    """Append groups of integers to the range coder, each (values, offset, counts) with its
    own table: value v is symbol v - offset; values outside the table are sent as the
    escape symbol (the table's last), then, after all groups, as 32-bit numbers."""
    escaped = []
    for values, offset, counts in groups:
        values = values.flatten().long().clamp(-MAX_VALUE, MAX_VALUE).numpy()
        escape = len(counts) - 1
        symbols = values - offset
        outside = (symbols < 0) | (symbols >= escape)
        symbols[outside] = escape
        encoder.encode(symbols.astype(np.int32), _channel_model(counts))
        escaped.append(values[outside])
    escaped = np.concatenate(escaped).astype(np.int64)
    if len(escaped):
        bits = (escaped & 0xFFFFFFFF).astype(np.uint32)  # two's complement, 32 bits
        uniform = constriction.stream.model.Uniform(2**16)
        encoder.encode((bits >> 16).astype(np.int32), uniform)
        encoder.encode((bits & 0xFFFF).astype(np.int32), uniform)


def _decode_groups(decoder, groups: list[tuple[int, int, torch.Tensor]]) -> list[np.ndarray]:
    """Mirror of `_encode_groups`: (how many values, offset, counts) per group -> the values
    of each group (int64)."""
    decoded, escapes = [], []
    for amount, offset, counts in groups:
        symbols = _decode(decoder, _channel_model(counts), amount).astype(np.int64)
        decoded.append(symbols + offset)
        escapes.append(np.nonzero(symbols == len(counts) - 1)[0])
    count = sum(len(where) for where in escapes)
    if count:
        uniform = constriction.stream.model.Uniform(2**16)
        high = _decode(decoder, uniform, count).astype(np.int64)
        low = _decode(decoder, uniform, count).astype(np.int64)
        bits = (high << 16) | low
        values = np.where(bits >= 2**31, bits - 2**32, bits)  # back from two's complement
        start = 0
        for i, ((_, offset, counts), where) in enumerate(zip(groups, escapes)):
            decoded[i][where] = _check_escaped(i, offset, counts,
                                               values[start : start + len(where)])
            start += len(where)
    return decoded


def _decoder(stream: bytes):
    return constriction.stream.queue.RangeDecoder(np.frombuffer(stream, dtype=np.uint32))


def _check_exhausted(decoder) -> None:
    if not decoder.maybe_exhausted():
        raise CodecError("corrupt stream: data is left over after the last latent")


def _check_stream_size(size: int, num_values: int) -> None:
    """Refuse stream sizes no encoder writes, before decoding anything."""
    if size % 4:
        raise CodecError("corrupt stream: its length is not a multiple of 4 bytes")
    most = (num_values * MAX_SYMBOL_BITS + 7) // 8 + 8  # + the coder's last two words
    if size > most:
        raise CodecError(f"corrupt stream: {size} bytes, but {num_values} latents "
                         f"never need more than {most}")


def _decode(decoder, entropy_model, amount: int) -> np.ndarray:
    """`amount` symbols from the range decoder, its complaints turned into `CodecError`."""
    try:
        return decoder.decode(entropy_model, amount)
    except (AssertionError, ValueError, RuntimeError) as e:  # what constriction raises
        raise CodecError(f"corrupt stream: the range decoder refused it ({e})") from None


def _check_escaped(group: int, offset: int, counts: torch.Tensor,
                   values: np.ndarray) -> np.ndarray:
    """Escaped values must lie outside their table and within +-MAX_VALUE."""
    high = offset + len(counts) - 1  # the table covers offset .. high - 1
    bad = ((values >= offset) & (values < high)) | (np.abs(values) > MAX_VALUE)
    if bad.any():
        raise CodecError(f"corrupt stream: group {group} escapes to {int(values[bad][0])}, "
                         "a value no encoder escapes")
    return values


# --- the model, tile by tile ----------------------------------------------------------


def _spans(length: int, tile: int) -> list[tuple[int, int, int, int]]:
    """Cut range(length) into tiles: (start, stop) of each, and (lo, hi) with the margin."""
    return [(start, min(start + tile, length), max(start - MARGIN, 0),
             min(start + tile + MARGIN, length)) for start in range(0, length, tile)]


def tile_size(model: RateDistortionAutoencoder) -> int:
    """Latent positions per tile side: `TILE_PIXELS` at the model's scale."""
    return TILE_PIXELS // 2**model.config.downsamplings


def analysis(model: RateDistortionAutoencoder, x: torch.Tensor,
             tile: int | None = None) -> torch.Tensor:
    """x (1, 3, H, W) -> y (1, C, h, w): `model.encode`, tile by tile if x is large.

    Args:
        model: the codec's model.
        x: one image in [0, 1].
        tile: latent positions per tile side (default: `tile_size(model)`).
    """
    scale, tile = 2**model.config.downsamplings, tile or tile_size(model)
    channels, h, w = model.latent_shape(*x.shape[-2:])
    if h <= tile and w <= tile:
        return model.encode(x)
    y = torch.empty(1, channels, h, w)
    for top, bottom, lo_r, hi_r in _spans(h, tile):
        for left, right, lo_c, hi_c in _spans(w, tile):
            patch = x[..., lo_r * scale : hi_r * scale, lo_c * scale : hi_c * scale]
            # tiles at the image's edge: pad as model.encode pads the whole image
            patch = F.pad(patch, (0, (hi_c - lo_c) * scale - patch.shape[-1],
                                  0, (hi_r - lo_r) * scale - patch.shape[-2]), mode="replicate")
            y_tile = model.analysis_transform(patch)  # (1, C, hi_r - lo_r, hi_c - lo_c)
            y[..., top:bottom, left:right] = y_tile[..., top - lo_r : bottom - lo_r,
                                                    left - lo_c : right - lo_c]
    return y


def synthesis(model: RateDistortionAutoencoder, y_hat: torch.Tensor, size: tuple[int, int],
              tile: int | None = None) -> torch.Tensor:
    """y_hat (1, C, h, w) -> x_hat (1, 3, H, W) in 8-bit steps: `model.decode`, by tiles.

    Args:
        model: the codec's model.
        y_hat: the quantized latents (float).
        size: (H, W) of the image.
        tile: latent positions per tile side (default: `tile_size(model)`).
    """
    scale, tile = 2**model.config.downsamplings, tile or tile_size(model)
    height, width = size
    h, w = y_hat.shape[-2:]
    if h <= tile and w <= tile:
        return _finite_8bit(model.decode(y_hat, size)).contiguous()
    x_hat = torch.empty(1, 3, height, width)
    for top, bottom, lo_r, hi_r in _spans(h, tile):
        rows = slice(top * scale, min(bottom * scale, height))
        for left, right, lo_c, hi_c in _spans(w, tile):
            cols = slice(left * scale, min(right * scale, width))
            # the tile and its margin -> (1, 3, 2^k (hi_r - lo_r), 2^k (hi_c - lo_c))
            x_tile = model.decode(y_hat[..., lo_r:hi_r, lo_c:hi_c])
            x_hat[..., rows, cols] = _finite_8bit(
                x_tile[..., rows.start - lo_r * scale : rows.stop - lo_r * scale,
                       cols.start - lo_c * scale : cols.stop - lo_c * scale])
    return x_hat


def _finite_8bit(x_hat: torch.Tensor) -> torch.Tensor:
    """Round x_hat to 8-bit steps; NaN (latents far out of range) means a corrupt file."""
    if torch.isnan(x_hat).any():
        raise CodecError("corrupt stream: its latents make the decoder overflow")
    return quantize_8bit(x_hat)


# --- files ----------------------------------------------------------------------------



def _check_image_size(height: int, width: int, model: Codec) -> None:
    if height * width > MAX_PIXELS:
        raise CodecError(f"an image of {width}x{height} pixels is larger than the "
                         f"{MAX_PIXELS:,} pixels aecodec codes (see aecodec.codec)")
    if max(height, width) > 65535 * 2**model.config.downsamplings:
        raise CodecError(f"an image of {width}x{height} pixels is too long for the format")


def _check_latents(model: Codec, latents: dict[str, torch.Tensor], height: int,
                   width: int) -> None:
    expected = {"y": (1, *model.latent_shape(height, width))}
    if isinstance(model, HyperpriorAutoencoder):
        expected["z"] = (1, *model.side_shape(height, width))
    got = {name: tuple(value.shape) for name, value in latents.items()}
    if got != expected:
        raise ValueError(f"latents for a {width}x{height} image with this model have shapes "
                         f"{expected}, got {got}")


def _entropy_models(model: Codec) -> list:
    if isinstance(model, HyperpriorAutoencoder):
        return [model.z_prior, model.gaussian]
    return [model.prior]


@torch.no_grad()
def compress(model: Codec, x: torch.Tensor,
             latents: dict[str, torch.Tensor] | None = None) -> bytes:
    """One image x (3, H, W) in [0, 1] -> the bytes of an .aec file.

    Args:
        model: a trained codec (`RateDistortionAutoencoder` or `HyperpriorAutoencoder`)
            whose entropy models have coding tables.
        x: the image, at most `MAX_PIXELS` pixels.
        latents: code these latents instead of the encoder's: {"y": (1, C, h, w)}, and
            {"z": (1, S, h/4, w/4)} for a hyperprior codec (`aecodec.refine.refine_latents`).
            The decoder needs nothing else.
    """
    if not all(m.has_tables() for m in _entropy_models(model)):
        raise CodecError("the model has no coding tables: save it with save_checkpoint, or "
                         "run update_tables() on its entropy models (model.prior, ...)")
    if x.dim() != 3 or x.shape[0] != 3:
        raise ValueError(f"compress takes one image x (3, H, W), got shape {tuple(x.shape)}")
    height, width = x.shape[-2:]
    _check_image_size(height, width, model)
    if latents is not None:
        _check_latents(model, latents, height, width)
    model.eval()
    with flush_denormal():
        if isinstance(model, HyperpriorAutoencoder):
            body = _compress_hyperprior(model, x, latents)
        else:
            y = latents["y"] if latents else analysis(model, x[None])  # (1, C, h, w)
            y_hat = torch.round(y)[0]  # (C, h, w) integers
            stream = encode_latents(model.prior, y_hat)
            body = HEADER.pack(MAGIC, FORMAT_VERSION, model_id(model), height, width,
                               *y_hat.shape, len(stream)) + stream
    return body + CRC.pack(zlib.crc32(body))


def _kind(model: Codec) -> str:
    if isinstance(model, VariableRateHyperprior):
        return "variable-rate"
    return "hyperprior" if isinstance(model, HyperpriorAutoencoder) else "factorized"


def _compress_hyperprior(model: HyperpriorAutoencoder, x: torch.Tensor,
                         latents: dict[str, torch.Tensor] | None) -> bytes:
    """Header and stream of a hyperprior file: first z_hat, coded with its factorized
    prior; then y as the integers round(y - means_hat), each coded with the table that
    its predicted scale picks."""
    y = latents["y"] if latents else analysis(model, x[None])  # (1, C, h, w)
    z = latents["z"] if latents else model.hyper_encode(y)  # (1, S, h/4, w/4)
    z_hat = torch.round(z)  # (1, S, h/4, w/4)
    means_hat, scales_hat = model.hyper_decode(z_hat)  # (1, C, h, w) each
    symbols = torch.round(y - means_hat)[0]  # (C, h, w) integers
    del y, means_hat  # big images: free the floats before coding
    indexes, used = _table_numbers(model, scales_hat)  # (C, h, w) table numbers
    encoder = constriction.stream.queue.RangeEncoder()
    _encode_groups(encoder, [(z_hat[0, c], *model.z_prior.table(c)) for c in range(len(z_hat[0]))])
    _encode_groups(encoder, [(symbols[indexes == i], *model.gaussian.table(i)) for i in used])
    stream = encoder.get_compressed().tobytes()
    shapes = (*x.shape[-2:], *symbols.shape, *z_hat.shape[1:])
    if isinstance(model, VariableRateHyperprior):  # version 3: the lambda comes too
        return VARIABLE_RATE_HEADER.pack(MAGIC, VARIABLE_RATE_VERSION, model_id(model),
                                         *shapes, model.lmbda, len(stream)) + stream
    return HYPERPRIOR_HEADER.pack(MAGIC, HYPERPRIOR_VERSION, model_id(model), *shapes,
                                  len(stream)) + stream


def _table_numbers(model: HyperpriorAutoencoder,
                   scales_hat: torch.Tensor) -> tuple[torch.Tensor, list[int]]:
    """Each value's coding table, (C, h, w) as uint8 (there are 64 tables: a big image's
    table numbers then take an eighth of the memory), and the table numbers in use."""
    indexes = model.gaussian.table_index(scales_hat)[0].to(torch.uint8)  # (C, h, w)
    counts = torch.bincount(indexes.flatten(), minlength=len(model.gaussian.scale_ladder))
    return indexes, counts.nonzero().flatten().tolist()


def read_header(data: bytes) -> dict:
    """Check and parse an .aec file's header and checksum (no model needed).

    Args:
        data: the file's bytes.

    Returns:
        {"kind": "factorized", "hyperprior" or "variable-rate", "model_id", "height",
        "width", "latent_shape": (C, h, w), "side_shape": (S, h/4, w/4) or None,
        "lmbda": the lambda of a variable-rate file or None, "stream": bytes}.
    """
    if len(data) < HEADER.size + CRC.size:
        raise CodecError(f"not an .aec file: only {len(data)} bytes")
    magic, version = struct.unpack_from("<4sB", data)
    if magic != MAGIC:
        raise CodecError("not an .aec file (wrong magic bytes)")
    if version not in KINDS:
        raise CodecError(f".aec format version {version}, this aecodec reads "
                         + ", ".join(f"{v} ({kind})" for v, kind in KINDS.items()))
    side_shape, lmbda = None, None
    if version == FORMAT_VERSION:
        _, _, ident, height, width, c, h, w, size = HEADER.unpack_from(data)
        header_size = HEADER.size
    else:
        layout = HYPERPRIOR_HEADER if version == HYPERPRIOR_VERSION else VARIABLE_RATE_HEADER
        if len(data) < layout.size + CRC.size:
            raise CodecError(f"truncated file: only {len(data)} bytes")
        _, _, ident, height, width, c, h, w, s, hz, wz, *rest = layout.unpack_from(data)
        *lmbda, size = rest  # a version-3 file's lambda, then the stream size
        lmbda = lmbda[0] if lmbda else None
        header_size, side_shape = layout.size, (s, hz, wz)
    if len(data) != header_size + size + CRC.size:
        raise CodecError(f"truncated or padded file: header says {size} stream bytes, "
                         f"file holds {len(data) - header_size - CRC.size}")
    (crc,) = CRC.unpack_from(data, len(data) - CRC.size)
    if crc != zlib.crc32(data[: -CRC.size]):
        raise CodecError("corrupt file: checksum mismatch")
    if height * width == 0:
        raise CodecError(f"corrupt header: an image of {width}x{height} pixels")
    if height * width > MAX_PIXELS:
        raise CodecError(f"header declares a {width}x{height} image, more than the "
                         f"{MAX_PIXELS:,} pixels aecodec accepts (MAX_PIXELS)")
    side_values = 0 if side_shape is None else side_shape[0] * side_shape[1] * side_shape[2]
    _check_stream_size(size, c * h * w + side_values)
    if lmbda is not None and not (math.isfinite(lmbda) and lmbda > 0):
        raise CodecError(f"corrupt header: a lambda of {lmbda:.7g}")
    return dict(kind=KINDS[version], model_id=ident, height=height, width=width,
                latent_shape=(c, h, w), side_shape=side_shape, lmbda=lmbda,
                stream=data[header_size : header_size + size])


def _check_model(model: Codec, header: dict) -> None:
    """The file must be of this model's kind, made by this very model, of fitting shapes."""
    kind = _kind(model)
    if header["kind"] != kind:
        raise CodecError(f"this file was made by a {header['kind']} model, not a {kind} one")
    if header["model_id"] != model_id(model):
        raise CodecError("this file was made by another model (model id differs)")
    if kind == "variable-rate":
        low, high = model.config.lambdas[0], model.config.lambdas[-1]
        if not model.in_range(header["lmbda"]):
            raise CodecError(f"corrupt header: lambda {header['lmbda']:.7g} is outside the "
                             f"model's range {low} .. {high}")
    height, width = header["height"], header["width"]
    shapes = [(model.latent_shape(height, width), header["latent_shape"])]
    if kind != "factorized":
        shapes.append((model.side_shape(height, width), header["side_shape"]))
    for expected, declared in shapes:
        if expected != declared:
            raise CodecError(f"header latent shape {declared} does not fit a "
                             f"{width}x{height} image for this model")


def decode_symbols(model: Codec, data: bytes) -> dict[str, torch.Tensor]:
    """The integers an .aec file holds: {"y_hat"} for a factorized model's file;
    {"z_hat", "symbols" (round(y - means_hat)), "means_hat", "tables" (the coding table of
    each symbol, uint8)} for a hyperprior's (and a variable-rate one's: its lambda does not
    change them).

    Args:
        model: the model that wrote the file.
        data: the file's bytes.
    """
    return _decode_symbols(model, read_header(data))


def _decode_symbols(model: Codec, header: dict) -> dict[str, torch.Tensor]:
    _check_model(model, header)
    if header["kind"] == "factorized":
        return {"y_hat": decode_latents(model.prior, header["stream"], header["latent_shape"])}
    (c, h, w), (s, hz, wz) = header["latent_shape"], header["side_shape"]
    decoder = _decoder(header["stream"])
    z_hat = _decode_groups(decoder, [(hz * wz, *model.z_prior.table(i)) for i in range(s)])
    z_hat = torch.from_numpy(np.stack(z_hat)).view(1, s, hz, wz)  # (1, S, h/4, w/4)
    model.eval()
    with torch.no_grad(), flush_denormal():
        means_hat, scales_hat = model.hyper_decode(z_hat.float())  # (1, C, h, w) each
    if not (torch.isfinite(means_hat).all() and torch.isfinite(scales_hat).all()):
        raise CodecError("corrupt stream: its side information makes the hyper-decoder overflow")
    indexes, used = _table_numbers(model, scales_hat)  # (C, h, w)
    del scales_hat
    groups = [(int((indexes == i).sum()), *model.gaussian.table(i)) for i in used]
    values = _decode_groups(decoder, groups)
    _check_exhausted(decoder)
    symbols = torch.empty(c, h, w, dtype=torch.int64)
    for i, group in zip(used, values):
        symbols[indexes == i] = torch.from_numpy(group)
    return {"z_hat": z_hat[0], "symbols": symbols, "means_hat": means_hat, "tables": indexes}


@torch.no_grad()
def decompress(model: Codec, data: bytes) -> torch.Tensor:
    """The bytes of an .aec file -> x_hat (3, H, W), 8-bit values in [0, 1].

    Mirrors `compress`: checks the header, the checksum, and that the file was made by
    this very model, then decodes the latents and runs the decoder. Any problem with the
    file raises `CodecError`.

    Args:
        model: the model that wrote the file.
        data: the file's bytes.
    """
    header = read_header(data)
    decoded = _decode_symbols(model, header)
    size = (header["height"], header["width"])
    model.eval()
    with flush_denormal():
        if header["kind"] == "factorized":
            return synthesis(model, decoded["y_hat"][None].float(), size)[0]  # (3, H, W)
        y_hat = decoded["symbols"][None].float() + decoded["means_hat"]  # (1, C, h, w)
        del decoded  # big images: free the integers and tables before the decoder runs
        # a variable-rate file: the decoder's inverse gains of the file's lambda
        rate = (model.at_lambda(header["lmbda"]) if header["kind"] == "variable-rate"
                else contextlib.nullcontext())
        with rate:
            return synthesis(model, y_hat, size)[0]  # (3, H, W)


def decoded_digests(model: Codec, data: bytes) -> dict[str, str]:
    """SHA-256 of what an .aec file decodes to: its integers (the latents, and for a
    hyperprior file the side latents too, as int64) and its 8-bit pixels. Two machines
    that decode a file alike give the same digests (the golden-file tests and
    `benchmarks/make_golden.py` compare them).

    Args:
        model: the model that wrote the file.
        data: the file's bytes.
    """
    decoded = decode_symbols(model, data)
    integers = [decoded[k].flatten() for k in ("z_hat", "y_hat", "symbols") if k in decoded]
    pixels = torch.round(decompress(model, data) * 255).to(torch.uint8)  # (3, H, W)
    return {name: hashlib.sha256(t.contiguous().numpy().tobytes()).hexdigest()
            for name, t in (("latents_sha256", torch.cat(integers)), ("pixels_sha256", pixels))}
