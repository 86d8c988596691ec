"""The Pillow plugin: `Image.open` and `im.save` on .aec files, as aecodec's own functions
would write and read them, with Pillow's errors for damaged files and wrong arguments."""

import struct
import subprocess
import sys
import zlib

import numpy as np
import pytest
from PIL import Image, UnidentifiedImageError

import aecodec.pillow
from aecodec import codec, zoo
from aecodec.images import image_to_tensor, tensor_to_image


@pytest.fixture(scope="module")
def photo(kodak_dir) -> Image.Image:
    """A small crop of a Kodak photo (odd sizes: the latent grid does not divide them)."""
    with Image.open(kodak_dir / "kodim23.png") as im:
        return im.crop((300, 100, 300 + 77, 100 + 53)).convert("RGB")


@pytest.fixture(scope="module")
def saved(photo, tmp_path_factory) -> bytes:
    path = tmp_path_factory.mktemp("aec") / "photo.aec"
    photo.save(path, quality=2)
    return path.read_bytes()


def pixels(im: Image.Image) -> np.ndarray:
    return np.asarray(im)


def test_importing_the_plugin_imports_no_torch_until_an_aec_file_comes(kodak_dir):
    code = ("import sys\n"
            "import aecodec.pillow\n"
            "from PIL import Image\n"
            f"Image.open({str(kodak_dir / 'kodim01.png')!r}).load()\n"
            "print('torch' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120)
    assert result.stdout.strip() == "False", result.stdout + result.stderr


def test_the_magic_bytes_are_the_codecs():
    assert aecodec.pillow.MAGIC == codec.MAGIC


def test_save_writes_what_compress_writes_and_open_decodes_what_decompress_decodes(
        photo, saved, tmp_path):
    model = zoo.load_codec(2)
    assert saved == codec.compress(model, image_to_tensor(photo))
    path = tmp_path / "photo.aec"
    path.write_bytes(saved)
    with Image.open(path) as im:
        assert (im.format, im.mode, im.size) == ("AEC", "RGB", photo.size)
        assert im.info["aec_kind"] == "hyperprior"
        assert im.info["aec_model_id"] == codec.model_id(model).hex()
        decoded = pixels(im)
    assert np.array_equal(decoded, pixels(tensor_to_image(codec.decompress(model, saved))))
    # a lossy codec: close to the photo, not equal to it
    error = np.abs(decoded.astype(int) - pixels(photo).astype(int)).mean()
    assert 0 < error < 20


def test_quality_and_family_pick_the_shipped_codec(photo, tmp_path):
    sizes = {}
    for quality in (1, 4):
        photo.save(tmp_path / f"q{quality}.aec", quality=quality)
        sizes[quality] = (tmp_path / f"q{quality}.aec").stat().st_size
    assert sizes[1] < sizes[4]
    photo.save(tmp_path / "f.aec", quality=3, family="factorized")
    assert (tmp_path / "f.aec").read_bytes() == codec.compress(
        zoo.load_codec(3, "factorized"), image_to_tensor(photo))
    with Image.open(tmp_path / "f.aec") as im:
        assert im.info["aec_kind"] == "factorized" and im.size == photo.size


def test_lambda_codes_with_the_variable_rate_codec_at_that_lambda(photo, tmp_path):
    path = tmp_path / "vr.aec"
    photo.save(path, lambda_=0.004)
    model = zoo.load_variable_rate()
    model.set_lambda(0.004)
    assert path.read_bytes() == codec.compress(model, image_to_tensor(photo))
    with Image.open(path) as im:
        assert im.info["aec_kind"] == "variable-rate"
        assert im.info["aec_lambda"] == pytest.approx(0.004)
        assert np.array_equal(pixels(im), pixels(tensor_to_image(
            codec.decompress(model, path.read_bytes()))))


def test_any_codec_saves_with_model_and_its_files_then_open(photo, tmp_path):
    model = zoo.load_codec(1, "factorized")
    path = tmp_path / "m.aec"
    photo.save(path, model=model)
    assert path.read_bytes() == codec.compress(model, image_to_tensor(photo))
    with Image.open(path) as im:
        assert im.size == photo.size


@pytest.mark.parametrize("options, message", [
    (dict(quality=90), "not JPEG's 0 to 100"),
    (dict(quality=2, family="jpeg"), "family 'jpeg'"),
    (dict(lambda_=1.0), "outside the variable-rate codec's trained range"),
    (dict(lambda_=0.004, quality=2), "give one or the other"),
    (dict(model="codec.pt"), "cannot write .aec files"),
])
def test_wrong_save_arguments_are_value_errors_and_leave_no_file(photo, tmp_path, options,
                                                                 message):
    path = tmp_path / "bad.aec"
    with pytest.raises(ValueError, match=message):
        photo.save(path, **options)
    assert not path.exists()


def test_a_plain_autoencoder_cannot_save(photo, tmp_path):
    with pytest.raises(ValueError, match="cannot write .aec files"):
        photo.save(tmp_path / "p.aec", model=zoo.load_plain(2))


def with_crc(data: bytes) -> bytes:
    """`data` (without its checksum) with a correct checksum after it."""
    return data + struct.pack("<I", zlib.crc32(data))


@pytest.mark.parametrize("damage, message", [
    (lambda d: d[:-10], "truncated or padded file"),
    (lambda d: d[:36], "truncated file: only 36 bytes"),
    (lambda d: d[:20], "only 20 bytes"),
    (lambda d: d[:40] + bytes([d[40] ^ 0x10]) + d[41:], "checksum mismatch"),
    (lambda d: d[:4] + b"\x09" + d[5:], "format version 9"),
])
def test_a_damaged_file_is_an_oserror_with_aecodecs_message(saved, tmp_path, damage, message):
    path = tmp_path / "damaged.aec"
    path.write_bytes(damage(saved))
    with pytest.raises(OSError, match=message) as raised:
        Image.open(path)
    assert not isinstance(raised.value, UnidentifiedImageError)


def test_a_file_of_an_unknown_model_opens_but_does_not_decode(saved, tmp_path):
    path = tmp_path / "unknown.aec"
    path.write_bytes(with_crc(saved[:5] + b"\x00" * 8 + saved[13:-4]))  # another model id
    with Image.open(path) as im:
        assert im.size == (77, 53)
        with pytest.raises(OSError, match="no shipped aecodec model made this file"):
            im.load()


@pytest.mark.parametrize("data", [b"AECX" + b"\x00" * 60, b"", b"AEC", b"\x89PNG\r\n\x1a\n"])
def test_wrong_magic_is_not_an_aec_file(tmp_path, data):
    path = tmp_path / "not.aec"
    path.write_bytes(data)
    with pytest.raises(UnidentifiedImageError):
        Image.open(path)


def rgb_by_hand(im: Image.Image) -> Image.Image:
    """The mode rule of aecodec.images, written out: transparency onto white, then RGB."""
    if im.mode == "RGBA":
        white = Image.new("RGBA", im.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, im).convert("RGB")
    return im.convert("RGB")


@pytest.mark.parametrize("mode", ["RGBA", "L", "P"])
def test_other_modes_are_saved_as_rgb(photo, tmp_path, mode):
    if mode == "RGBA":
        im = photo.convert("RGBA")
        im.putalpha(Image.linear_gradient("L").resize(photo.size))  # transparent to opaque
    elif mode == "P":
        im = photo.quantize(16)
    else:
        im = photo.convert(mode)
    im.save(tmp_path / "m.aec", quality=1)
    rgb_by_hand(im).save(tmp_path / "rgb.aec", quality=1)
    assert (tmp_path / "m.aec").read_bytes() == (tmp_path / "rgb.aec").read_bytes()
    with Image.open(tmp_path / "m.aec") as back:
        assert back.mode == "RGB" and back.size == im.size
