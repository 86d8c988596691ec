"""A Pillow plugin for .aec files: after `import aecodec.pillow`, Pillow opens and saves them.

    import aecodec.pillow
    from PIL import Image

    im = Image.open("photo.aec")                  # decoded by the shipped model named in it
    im.save("photo.aec", quality=4)               # the default codec: 1 (smallest) to 6 (best)
    im.save("photo.aec", lambda_=0.004)           # the default codec at any lambda in range
    im.save("photo.aec", quality=2, family="factorized")   # the first edition's codecs
    im.save("photo.aec", model=my_codec, refine=50)         # any codec; refined latents

Holds: `AecImageFile` (what `Image.open` returns), `AecDecoder`, `save` (what `im.save`
runs), `MAGIC`, and the registration with Pillow. Does not hold the file format
(`aecodec.codec`) or the models (`aecodec.zoo`).

Importing this module is cheap: PyTorch and the models are imported when an .aec file is
first opened or saved, so a program that never meets one never waits for them. Each model
is loaded once per process and kept (a file names its model only by an id, and finding
the shipped model with that id loads them all).

Errors are Pillow's. A file that is not an .aec file (other magic bytes) is not this
plugin's: `Image.open` raises `UnidentifiedImageError` if no other plugin reads it. An .aec
file that is damaged (truncated, a flipped byte, an unknown version) raises `OSError` with
aecodec's message, from `Image.open` (the header and the checksum are checked there), as
does a file no shipped model made. Saving with an unknown `quality`, `family` or a
`lambda_` outside the codec's range raises `ValueError`.

Pillow 13 has no entry points for plugins (it imports its own plugin modules and nothing
else), so the import is the registration.
"""

from __future__ import annotations

from typing import IO, TYPE_CHECKING

from PIL import Image, ImageFile

from aecodec.errors import AecodecError

if TYPE_CHECKING:  # names for type hints only
    from aecodec.models import Codec

FORMAT = "AEC"
MAGIC = b"AECZ"  # aecodec.codec.MAGIC, written here so that checking it needs no PyTorch
_MODELS: dict[bytes, Codec] = {}  # model id -> model: every model this process used


def _accept(prefix: bytes) -> bool:
    return prefix[:4] == MAGIC


def _model(ident: bytes) -> Codec:
    """The model that wrote a file, by the id in its header (loaded once)."""
    from aecodec import zoo

    if ident not in _MODELS:
        try:
            _MODELS[ident] = zoo.find_model(ident)
        except AecodecError:
            raise OSError(f"no shipped aecodec model made this file (model id {ident.hex()}); "
                          "decode it with aecodec.decompress(model, data) and the model that "
                          "did, or save an image with that model first (im.save(..., "
                          "model=model))") from None
    return _MODELS[ident]


def _remember(model: Codec) -> Codec:
    from aecodec.codec import model_id

    return _MODELS.setdefault(model_id(model), model)


class AecImageFile(ImageFile.ImageFile):
    """An .aec file, as `Image.open` returns it: RGB, the size in its header.

    `info` holds "aec_kind" (factorized, hyperprior or variable-rate), "aec_model_id"
    (hex) and, for a variable-rate file, "aec_lambda".
    """

    format = FORMAT
    format_description = "aecodec learned image codec"

    def _open(self) -> None:
        from aecodec.codec import read_header

        try:
            header = read_header(self.fp.read())
        except AecodecError as e:
            raise OSError(str(e)) from None
        self._mode = "RGB"
        self._size = (header["width"], header["height"])
        self.info.update(aec_kind=header["kind"], aec_model_id=header["model_id"].hex())
        if header["lmbda"] is not None:
            self.info["aec_lambda"] = header["lmbda"]
        self.tile = [ImageFile._Tile("aec", (0, 0, *self.size), 0, None)]


class AecDecoder(ImageFile.PyDecoder):
    """Decodes a whole .aec file (it has no parts to decode alone) into RGB pixels."""

    _pulls_fd = True

    def decode(self, buffer: bytes | Image.SupportsArrayInterface) -> tuple[int, int]:
        from aecodec.codec import decompress, read_header
        from aecodec.images import tensor_to_image

        data = self.fd.read()
        try:
            header = read_header(data)
            x_hat = decompress(_model(header["model_id"]), data)  # (3, H, W)
        except AecodecError as e:
            raise OSError(str(e)) from None
        self.set_as_raw(tensor_to_image(x_hat).tobytes(), "RGB")
        return -1, 0  # done, no error


def _codec_for(info: dict) -> Codec:
    """The codec `im.save(..., quality=, family=, lambda_=, model=)` asks for."""
    from aecodec import zoo
    from aecodec.errors import CheckpointError

    quality, family = info.get("quality"), info.get("family")
    lmbda, model = info.get("lambda_"), info.get("model")
    if lmbda is not None and quality is not None:
        raise ValueError("lambda_ and quality both pick a rate: give one or the other")
    if model is not None and (quality is not None or family is not None):
        raise ValueError("model is the codec to use; quality and family pick a shipped one: "
                         "give one or the other")
    if family is not None and family not in zoo.ALL_FAMILIES:
        raise ValueError(f"family {family!r}: choose one of {', '.join(zoo.ALL_FAMILIES)}")
    if quality is not None and quality not in zoo.qualities(family or zoo.DEFAULT_FAMILY):
        raise ValueError(f"quality {quality!r}: aecodec's qualities are 1 (smallest files) to "
                         f"{len(zoo.qualities(family or zoo.DEFAULT_FAMILY))} (best quality), "
                         "not JPEG's 0 to 100")
    if model is None:
        family = family or zoo.DEFAULT_FAMILY
        if family in zoo.VARIABLE_FAMILIES and lmbda is None:  # set below: models are shared
            lmbda = zoo.qualities(family)[quality or zoo.default_quality(family)]
        try:
            model = zoo.load_codec(None if lmbda is not None else quality, family, lmbda)
        except CheckpointError as e:
            raise ValueError(str(e)) from None
    if not isinstance(model, zoo.Codec):
        raise ValueError(f"model: a {type(model).__name__} cannot write .aec files; pass a "
                         "codec (trained with a lambda)")
    model = _remember(model)
    if lmbda is not None:
        if not model.variable_rate:
            raise ValueError(f"lambda_: a fixed-rate codec (lambda {model.config.lmbda}) has "
                             "no rate knob; only a variable-rate one does")
        if not model.in_range(lmbda):
            low, high = model.config.lambdas[0], model.config.lambdas[-1]
            raise ValueError(f"lambda_ {lmbda} is outside the variable-rate codec's trained "
                             f"range {low} to {high}")
        model.set_lambda(lmbda)
    return model


def save(im: Image.Image, fp: IO[bytes], filename: str | bytes) -> None:
    """Write `im` as an .aec file (Pillow calls this from `im.save`).

    Any mode is accepted and coded as RGB by aecodec's mode rule (`aecodec.images`:
    transparency composited onto white, grey repeated in three channels).

    Keyword arguments of `im.save`:
        quality: 1 (smallest files) to 6 (best quality) for the default codec, 1 to 4 for
            the course's families; default 4 (3 for the course's families).
        family: "context" (the default codec), "variable-rate", "hyperprior" or
            "factorized".
        lambda_: any rate of a variable-rate codec: the default codec's 0.0009 to 0.026.
        model: any codec instead of a shipped one (a variable-rate one takes lambda_).
        refine: optimise this image's latents for that many steps first (slower, better).
    """
    from aecodec.codec import compress
    from aecodec.images import image_to_tensor
    from aecodec.refine import refine_latents

    try:
        model = _codec_for(im.encoderinfo)
        x = image_to_tensor(im)  # (3, H, W)
        steps = int(im.encoderinfo.get("refine") or 0)
        latents = refine_latents(model, x, steps) if steps else None
        data = compress(model, x, latents=latents)
    except AecodecError as e:
        raise OSError(str(e)) from None
    fp.write(data)


Image.register_open(FORMAT, AecImageFile, _accept)
Image.register_save(FORMAT, save)
Image.register_extension(FORMAT, ".aec")
Image.register_decoder("aec", AecDecoder)
