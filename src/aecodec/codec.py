"""The .aec file container: header, checksum, model id and tiles around a model's stream.

Holds: `compress` / `decompress` (which mirror each other), `read_header`, `model_id`,
`decoded_latents` / `decode_symbols` / `decoded_digests` (what a file decodes to), the
table `FORMATS` (format version -> the model class that writes it and its extra header
fields) and tiling (`analysis` / `synthesis`: the model's own `encode` and `decode` run
tile by tile, so big images fit in memory). Does not hold: how a family codes its latents
(each codec model does, `aecodec.models.Codec`), the entropy models and their integer
tables (`aecodec.entropy`) or range coding (`aecodec.rangecoder`). Nothing here asks which
family a model is: the container frames what the model's methods give.

The protocol a codec model implements (see `aecodec.models.Codec`, whose defaults cover
the optional ones). Latents are named "y" (1, C, h, w) and, for a model with side
information, "z" (1, S, h/4, w/4):

    coding_tables() -> list[CodingTables]
        the entropy models whose tables code files (`compress` refuses a model without)
    latent_shapes(height, width) -> dict[str, tuple]
        {"y": (C, h, w)} or {"y": ..., "z": (S, h/4, w/4)}: the shapes the header holds
    side_latents(y) -> dict[str, Tensor]
        {} or {"z": z}: the other latents, computed from y (1, C, h, w)
    compress_latents(y, z=None) -> bytes
        the range-coded stream (y rounded by the model; z computed from y when None)
    decompress_latents(stream, shapes) -> dict
        its mirror, given `latent_shapes` as the header declares them: {"y_hat":
        (1, C, h, w) float, what `synthesis` decodes; "integers": {name: int64 tensor},
        what the stream holds in stream order (`decoded_digests` hashes them in this
        order); anything else the model shows, e.g. "means_hat", "tables"}; raises
        `CodecError` for a stream no encoder wrote
    latent_bits(decoded) -> dict[str, Tensor]
        bits of each integer of decoded["integers"], per latent ({"y": (C, h, w), "z": ...})
    header_fields() -> dict            (optional) the values of the format's extra fields
    decoding(fields) -> context        (optional) decode as the file's extra fields say;
                                       raises `CodecError` when they do not fit the model
Two more are asked by others, not by the container: `rounded_rate(latents, rounding)`
(`aecodec.refine`) and `estimated_latent_bits(x)` (`aecodec.evaluation`). The container
calls the model in eval mode, under `torch.no_grad()` and `flush_denormal`, after it has
checked the header, the checksum, the model id and the shapes; `decompress_latents` then
reads with `aecodec.rangecoder.StreamReader` (which refuses hostile streams) and raises
`CodecError` for what it computes from them (`GaussianConditional.decompress` refuses
non-finite means or scales).

A new family is a model class implementing these and one row of `FORMATS`: its version,
its kind (a name), the class, the latents whose shapes the header holds, and its extra
header fields as (name, struct code, check). A model writes the format of the nearest
class in its class hierarchy that has a row (until it has its own, a subclass of
`VariableRateHyperprior` writes version-3 files). The checkerboard codec, for example:
    FileFormat(4, "checkerboard", VariableRateCheckerboard, ("y", "z"),
               (("lmbda", "f", _check_lambda),))

Bit-exact decoding: what is guaranteed. The decoder must use exactly the probabilities the
encoder used, or it decodes garbage. So the probabilities are *integer* counts summing to
2^16, built once from the trained entropy models by their `update_tables()` and stored
with the weights (`aecodec.entropy.CodingTables`); `aecodec.rangecoder` codes with them.
A factorized file's tables are fixed per channel: no float maths picks them. A hyperprior
file's table for each value is picked by the scale the hyper-decoder predicts, a float:
the encoder and decoder compute it with the same code on the same integers z_hat, and
channels-last convolutions give the same bits on 1, 2 or 3 threads of one CPU (tested in
fresh processes, and golden files guard it against a later PyTorch), but a CPU with other
vector instructions may round a scale differently and, where it lies on a table boundary,
pick another table. Integer networks (Ballé et al. 2019) remove that risk; the context
codec computes its own layers that way (`aecodec.models.context`).

File format (little-endian): a header, the stream, a 4-byte checksum. Every header is
    magic        4 bytes   b"AECZ"
    version      1 byte    a row of `FORMATS`
    model id     8 bytes   start of the SHA-256 of the model's weights and tables
                           (`model_id`: the file names the model that decodes it)
    height       u32       image size in pixels
    width        u32
    shapes       3 x u16   per latent of the format: y's C, h, w (h = ceil(height / 2^k)
                           ...), then z's S, h/4, w/4 for a hyperprior
    fields       ...       the format's extra fields (version 3: the lambda, float32)
    stream size  u32       bytes of range-coded stream that follow
    stream       ...
    crc32        u32       of everything before it
Version 1 (a factorized codec's file) has a 31-byte header: y's channels coded each with
its own table. Version 2 (a hyperprior codec's, 37 bytes): z_hat's symbols first, then y's
(round(y - means_hat)), each coded with the table its predicted scale picks
(`aecodec.entropy.GaussianConditional`). Version 3 (a variable-rate hyperprior codec's,
`aecodec.models.VariableRateHyperprior`, 41 bytes) adds the lambda it was coded at: the
decoder sets its gains from it. The gains act only on y's values, never on the hyper path,
so the tables of a version-3 file are picked exactly as a version-2 file's are. Version 4
(the default codec's, `aecodec.models.context.VariableRateCheckerboard`, 41 bytes) has version
3's header; its stream holds z_hat, then the anchors' symbols, then the non-anchors',
whose tables the decoded anchors help pick (the checkerboard context). The encoder and
decoder run by tiles (below); the small hyper-encoder and hyper-decoder, and the context,
run on the whole latent at once.

Hostile files. `decompress` either returns a valid image or raises `CodecError` with a
message naming the problem; nothing else (the test suite fuzzes it with thousands of
damaged files). Every size is checked before memory is allocated: images above
`MAX_PIXELS` are refused, the stream may not be longer than the latents could need, and
a stream the range decoder finds invalid, that leaves data over, or that escapes to values
no encoder writes is refused (`aecodec.rangecoder`).

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

import hashlib
import math
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from aecodec.entropy import CodingTables
from aecodec.errors import CodecError
from aecodec.layers import flush_denormal
from aecodec.metrics import quantize_8bit
from aecodec.models import (
    Codec,
    HyperpriorAutoencoder,
    RateDistortionAutoencoder,
    VariableRateHyperprior,
)
from aecodec.models.context import VariableRateCheckerboard
from aecodec.rangecoder import (  # noqa: F401  (MAX_VALUE, MAX_SYMBOL_BITS: the limits)
    MAX_SYMBOL_BITS,
    MAX_VALUE,
    StreamReader,
    StreamWriter,
    check_stream_size,
)

MAGIC = b"AECZ"
CRC = struct.Struct("<I")
MAX_PIXELS = 2**25  # largest image accepted (33.5 megapixels: 8K UHD, 7680x4320, fits)
TILE_PIXELS = 768  # pixels per tile side (a Kodak image, 768x512, is one tile)
MARGIN = 3  # latent positions of overlap around each tile


def _check_lambda(lmbda: float) -> None:
    if not (math.isfinite(lmbda) and lmbda > 0):
        raise CodecError(f"corrupt header: a lambda of {lmbda:.7g}")


@dataclass(frozen=True)
class FileFormat:
    """One version of the .aec format: the model class that writes it, and its header.

    Attributes:
        version: the header's version byte.
        kind: its name ("factorized", ...), in messages and `read_header`'s answer.
        model: the class whose models write it (and subclasses without a row of their own).
        latents: the latents whose (3 x u16) shapes the header holds, in order.
        fields: extra header fields after the shapes: (name, struct code, check), the
            check raising `CodecError` for a value no encoder writes.
    """

    version: int
    kind: str
    model: type[Codec]
    latents: tuple[str, ...] = ("y",)
    fields: tuple[tuple[str, str, Callable[[Any], None]], ...] = ()

    @property
    def header(self) -> struct.Struct:
        """magic, version, model id, H, W, the latents' shapes, the fields, stream size."""
        fields = "".join(code for _, code, _ in self.fields)
        return struct.Struct("<4sB8sII" + "HHH" * len(self.latents) + fields + "I")


FORMATS = {row.version: row for row in (
    FileFormat(1, "factorized", RateDistortionAutoencoder),
    FileFormat(2, "hyperprior", HyperpriorAutoencoder, ("y", "z")),
    FileFormat(3, "variable-rate", VariableRateHyperprior, ("y", "z"),
               (("lmbda", "f", _check_lambda),)),
    FileFormat(4, "context", VariableRateCheckerboard, ("y", "z"),
               (("lmbda", "f", _check_lambda),)),
)}
KINDS = {version: row.kind for version, row in FORMATS.items()}
FORMAT_VERSION = 1  # a factorized-prior codec's file
HEADER = FORMATS[1].header  # magic, version, model id, H, W, C, h, w, stream size
HYPERPRIOR_VERSION = 2  # a hyperprior codec's file: the side latent's shape comes too
HYPERPRIOR_HEADER = FORMATS[2].header  # ..., C, h, w, S, h/4, w/4, stream size
VARIABLE_RATE_VERSION = 3  # a variable-rate hyperprior codec's file: its lambda comes too
VARIABLE_RATE_HEADER = FORMATS[3].header  # ..., S, h/4, w/4, lambda, stream size


def file_format(model: Codec) -> FileFormat:
    """The format `model` writes: the row of the nearest class in its hierarchy."""
    rows = {row.model: row for row in FORMATS.values()}
    for cls in type(model).__mro__:
        if cls in rows:
            return rows[cls]
    raise TypeError(f"a {type(model).__name__} writes no .aec format (see aecodec.codec.FORMATS)")


# Format 1 hashes the coding tables under the names they had when it was defined, so
# that files written then still name their model.
_ID_NAMES = {"prior." + name: name for name in ("cdf_counts", "cdf_offsets", "cdf_lengths")}


def model_id(model: Codec) -> bytes:
    """8 bytes identifying the model: the start of the SHA-256 of its weights and tables."""
    digest = hashlib.sha256()
    named = {_ID_NAMES.get(name, name): tensor for name, tensor in model.state_dict().items()}
    for name, tensor in sorted(named.items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.digest()[:8]


def encode_latents(tables: CodingTables, y_hat: torch.Tensor) -> bytes:
    """Integer latents y_hat (C, h, w) -> a stream of their own, channel c coded with
    table c (a factorized codec's stream; `RateDistortionAutoencoder.compress_latents`)."""
    writer = StreamWriter()
    tables.encode(writer, y_hat)
    return writer.getvalue()


def decode_latents(tables: CodingTables, stream: bytes,
                   shape: tuple[int, int, int]) -> torch.Tensor:
    """Mirror of `encode_latents`: the stream -> integer latents (C, h, w), int64; raises
    `CodecError` for a stream no encoder wrote (see `aecodec.rangecoder`)."""
    reader = StreamReader(stream, math.prod(shape))
    y_hat = tables.decode(reader, shape)
    reader.close()
    return y_hat


# --- the model, tile by tile ----------------------------------------------------------


def _spans(length: int, tile: int) -> list[tuple[int, int, int, int]]:
    """Cut range(length) into tiles: (start, stop) of each, and (lo, hi) with the margin."""
    return [(start, min(start + tile, length), max(start - MARGIN, 0),
             min(start + tile + MARGIN, length)) for start in range(0, length, tile)]


def tile_size(model: Codec) -> int:
    """Latent positions per tile side: `TILE_PIXELS` at the model's scale."""
    return TILE_PIXELS // 2**model.config.downsamplings


def analysis(model: Codec, x: torch.Tensor,
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


def synthesis(model: Codec, y_hat: torch.Tensor, size: tuple[int, int],
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


def _check_latents(shapes: dict[str, tuple[int, ...]], latents: dict[str, torch.Tensor],
                   height: int, width: int) -> None:
    expected = {name: (1, *shape) for name, shape in shapes.items()}
    got = {name: tuple(value.shape) for name, value in latents.items()}
    if got != expected:
        raise ValueError(f"latents for a {width}x{height} image with this model have shapes "
                         f"{expected}, got {got}")


@torch.no_grad()
def compress(model: Codec, x: torch.Tensor,
             latents: dict[str, torch.Tensor] | None = None) -> bytes:
    """One image x (3, H, W) in [0, 1] -> the bytes of an .aec file.

    Args:
        model: a trained codec (an `aecodec.models.Codec`: factorized, hyperprior, ...)
            whose entropy models have coding tables.
        x: the image, at most `MAX_PIXELS` pixels.
        latents: code these latents instead of the encoder's: {"y": (1, C, h, w)}, and
            {"z": (1, S, h/4, w/4)} for a hyperprior codec (`aecodec.refine.refine_latents`).
            The decoder needs nothing else.
    """
    if not all(tables.has_tables() for tables in model.coding_tables()):
        raise CodecError("the model has no coding tables: save it with save_checkpoint, or "
                         "run update_tables() on its entropy models (model.prior, ...)")
    if x.dim() != 3 or x.shape[0] != 3:
        raise ValueError(f"compress takes one image x (3, H, W), got shape {tuple(x.shape)}")
    height, width = x.shape[-2:]
    _check_image_size(height, width, model)
    shapes = model.latent_shapes(height, width)
    if latents is not None:
        _check_latents(shapes, latents, height, width)
    row = file_format(model)
    model.eval()
    with flush_denormal():
        if latents is None:
            y = analysis(model, x[None])  # (1, C, h, w)
            latents = {"y": y, **model.side_latents(y)}
        stream = model.compress_latents(**latents)
    fields = model.header_fields()
    body = row.header.pack(MAGIC, row.version, model_id(model), height, width,
                           *(n for name in row.latents for n in shapes[name]),
                           *(fields[name] for name, _, _ in row.fields), len(stream)) + stream
    return body + CRC.pack(zlib.crc32(body))


def read_header(data: bytes) -> dict:
    """Check and parse an .aec file's header and checksum (no model needed).

    Args:
        data: the file's bytes.

    Returns:
        {"kind": "factorized", "hyperprior" or "variable-rate" (`FORMATS`), "version",
        "model_id", "height", "width", "shapes": {latent: shape}, "latent_shape":
        (C, h, w), "side_shape": (S, h/4, w/4) or None, each extra field of any format
        by name ("lmbda": the lambda of a variable-rate file, else None), "stream": bytes}.
    """
    if len(data) < HEADER.size + CRC.size:
        raise CodecError(f"not an .aec file: only {len(data)} bytes")
    magic, version = struct.unpack_from("<4sB", data)
    if magic != MAGIC:
        raise CodecError("not an .aec file (wrong magic bytes)")
    if version not in FORMATS:
        raise CodecError(f".aec format version {version}, this aecodec reads "
                         + ", ".join(f"{v} ({kind})" for v, kind in KINDS.items()))
    row = FORMATS[version]
    layout = row.header
    if len(data) < layout.size + CRC.size:
        raise CodecError(f"truncated file: only {len(data)} bytes")
    _, _, ident, height, width, *values, size = layout.unpack_from(data)
    shapes = {name: tuple(values[3 * i : 3 * i + 3]) for i, name in enumerate(row.latents)}
    fields = dict(zip((name for name, _, _ in row.fields), values[3 * len(row.latents) :]))
    if len(data) != layout.size + size + CRC.size:
        raise CodecError(f"truncated or padded file: header says {size} stream bytes, "
                         f"file holds {len(data) - layout.size - CRC.size}")
    (crc,) = CRC.unpack_from(data, len(data) - CRC.size)
    if crc != zlib.crc32(data[: -CRC.size]):
        raise CodecError("corrupt file: checksum mismatch")
    if height * width == 0:
        raise CodecError(f"corrupt header: an image of {width}x{height} pixels")
    if height * width > MAX_PIXELS:
        raise CodecError(f"header declares a {width}x{height} image, more than the "
                         f"{MAX_PIXELS:,} pixels aecodec accepts (MAX_PIXELS)")
    check_stream_size(size, sum(math.prod(shape) for shape in shapes.values()))
    for name, _, check in row.fields:
        check(fields[name])
    every_field = {name: None for r in FORMATS.values() for name, _, _ in r.fields}
    return dict(kind=row.kind, version=version, model_id=ident, height=height, width=width,
                shapes=shapes, latent_shape=shapes["y"], side_shape=shapes.get("z"),
                **{**every_field, **fields}, stream=data[layout.size : layout.size + size])


def _decoding(model: Codec, header: dict):
    """Check that the file is of this model's format, made by this very model, with shapes
    that fit; then the model's context for decoding it (its extra fields applied)."""
    kind = file_format(model).kind
    if header["kind"] != kind:
        raise CodecError(f"this file was made by a {header['kind']} model, not a {kind} one")
    if header["model_id"] != model_id(model):
        raise CodecError("this file was made by another model (model id differs)")
    row = FORMATS[header["version"]]
    context = model.decoding({name: header[name] for name, _, _ in row.fields})
    height, width = header["height"], header["width"]
    expected = model.latent_shapes(height, width)
    for name, declared in header["shapes"].items():
        if expected[name] != declared:
            raise CodecError(f"header latent shape {declared} does not fit a "
                             f"{width}x{height} image for this model")
    return context


def decoded_latents(model: Codec, data: bytes) -> dict[str, Any]:
    """What the model's `decompress_latents` makes of an .aec file's stream, after the
    container's checks: {"y_hat": (1, C, h, w) float, "integers": {...}, ...}.

    Args:
        model: the model that wrote the file.
        data: the file's bytes.
    """
    header = read_header(data)
    model.eval()
    with torch.no_grad(), flush_denormal(), _decoding(model, header):
        return model.decompress_latents(header["stream"], header["shapes"])


def decode_symbols(model: Codec, data: bytes) -> dict[str, torch.Tensor]:
    """The integers an .aec file holds, and what the model shows beside them: {"y_hat"}
    (C, h, w) for a factorized model's file; {"z_hat", "symbols" (round(y - means_hat)),
    "means_hat", "tables" (the coding table of each symbol, uint8)} for a hyperprior's (and
    a variable-rate one's: its lambda does not change them).

    Args:
        model: the model that wrote the file.
        data: the file's bytes.
    """
    decoded = decoded_latents(model, data)
    shown = {name: value for name, value in decoded.items() if name not in ("y_hat", "integers")}
    return {**decoded["integers"], **shown}


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
    model.eval()
    with flush_denormal(), _decoding(model, header):
        y_hat = model.decompress_latents(header["stream"], header["shapes"])["y_hat"]
        return synthesis(model, y_hat, (header["height"], header["width"]))[0]  # (3, H, W)


def decoded_digests(model: Codec, data: bytes) -> dict[str, str]:
    """SHA-256 of what an .aec file decodes to: its integers (`decompress_latents`'
    "integers", as int64, in stream order: for a hyperprior file the side latents first)
    and its 8-bit pixels. Two machines that decode a file alike give the same digests (the
    golden-file tests and `benchmarks/make_golden.py` compare them).

    Args:
        model: the model that wrote the file.
        data: the file's bytes.
    """
    integers = [t.flatten() for t in decoded_latents(model, data)["integers"].values()]
    pixels = torch.round(decompress(model, data) * 255).to(torch.uint8)  # (3, H, W)
    return {name: hashlib.sha256(t.contiguous().numpy().tobytes()).hexdigest()
            for name, t in (("latents_sha256", torch.cat(integers)), ("pixels_sha256", pixels))}
