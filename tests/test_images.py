"""Reading images of every mode, and refusing bad files with clear messages."""

import numpy as np
import pytest
import torch
from PIL import Image

from aecodec.errors import ImageError
from aecodec.images import (
    decode_image,
    image_to_tensor,
    load_image,
    save_image,
    tensor_to_image,
)


def test_rgb_png_round_trip_is_exact(tmp_path):
    pixels = np.random.default_rng(0).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(tmp_path / "a.png")
    x = load_image(tmp_path / "a.png")
    assert x.shape == (3, 5, 7) and x.dtype == torch.float32
    assert torch.equal((x * 255).round().to(torch.uint8).permute(1, 2, 0), torch.from_numpy(pixels))
    save_image(x, tmp_path / "b.png")
    assert np.array_equal(np.asarray(Image.open(tmp_path / "b.png")), pixels)


def test_grey_becomes_three_equal_channels():
    x = image_to_tensor(Image.fromarray(np.array([[0, 51], [255, 102]], dtype=np.uint8), "L"))
    assert torch.equal(x[0], x[1]) and torch.equal(x[1], x[2])
    assert x[0, 0, 1].item() == pytest.approx(51 / 255)


def test_bilevel_mode_1():
    x = image_to_tensor(Image.new("1", (3, 2), 1))
    assert torch.all(x == 1.0)


def test_alpha_is_composited_on_white():
    rgba = np.zeros((1, 3, 4), dtype=np.uint8)
    rgba[0, 0] = (255, 0, 0, 255)  # opaque red stays red
    rgba[0, 1] = (255, 0, 0, 0)  # fully transparent -> white
    rgba[0, 2] = (0, 0, 0, 128)  # half-transparent black -> mid grey
    x = image_to_tensor(Image.fromarray(rgba, "RGBA"))
    assert x[:, 0, 0].tolist() == [1.0, 0.0, 0.0]
    assert x[:, 0, 1].tolist() == [1.0, 1.0, 1.0]
    assert x[:, 0, 2].tolist() == pytest.approx([127 / 255] * 3, abs=1.5 / 255)


def test_la_and_palette_with_transparency():
    la = Image.fromarray(np.array([[[0, 0]]], dtype=np.uint8), "LA")
    assert image_to_tensor(la).flatten().tolist() == [1.0, 1.0, 1.0]
    p = Image.new("P", (2, 1))
    p.putpalette([10, 20, 30, 200, 100, 50] + [0] * 762)
    p.putpixel((1, 0), 1)
    p.info["transparency"] = 0  # colour 0 is transparent
    x = image_to_tensor(p)
    assert x[:, 0, 0].tolist() == [1.0, 1.0, 1.0]
    assert x[:, 0, 1].tolist() == pytest.approx([200 / 255, 100 / 255, 50 / 255])


def test_16_bit_grey_keeps_precision(tmp_path):
    values = np.array([[0, 1, 65535], [32768, 257, 1000]], dtype=np.uint16)
    Image.fromarray(values).save(tmp_path / "g16.png")
    x = load_image(tmp_path / "g16.png")
    assert x.shape == (3, 2, 3)
    assert np.allclose(x[0].numpy(), values / 65535, atol=1e-7)


def test_cmyk_uses_pillow_conversion():
    cmyk = Image.new("CMYK", (1, 1), (0, 255, 255, 0))  # pure red in CMYK
    assert image_to_tensor(cmyk)[:, 0, 0].tolist() == [1.0, 0.0, 0.0]


def test_float_mode_is_refused():
    with pytest.raises(ImageError, match="mode F"):
        image_to_tensor(Image.new("F", (2, 2), 0.5))


def test_animated_gif_uses_first_frame(tmp_path):
    frames = [Image.new("RGB", (4, 4), c) for c in ((255, 0, 0), (0, 0, 255))]
    frames[0].save(tmp_path / "a.gif", save_all=True, append_images=frames[1:])
    x = load_image(tmp_path / "a.gif")
    assert x[:, 0, 0].tolist() == [1.0, 0.0, 0.0]


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "empty"),
        (b"hello, I am not a picture", "not an image"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "not an image|corrupt"),
    ],
)
def test_bad_files_get_clear_errors(tmp_path, content, message):
    path = tmp_path / "bad.png"
    path.write_bytes(content)
    with pytest.raises(ImageError, match=message):
        load_image(path)


def test_truncated_png_is_refused(tmp_path):
    pixels = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(tmp_path / "full.png")
    data = (tmp_path / "full.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageError, match="corrupt or truncated"):
        load_image(tmp_path / "cut.png")


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(ImageError, match="no such file"):
        load_image(tmp_path / "nope.png")
    with pytest.raises(ImageError, match="is a folder"):
        load_image(tmp_path)


def test_tensor_to_image_rounds_and_clamps():
    x = torch.tensor([-0.5, 0.5, 2.0]).view(3, 1, 1)
    assert np.asarray(tensor_to_image(x)).tolist() == [[[0, 128, 255]]]
    with pytest.raises(ValueError, match="shape"):
        tensor_to_image(torch.zeros(4, 2, 2))


def test_save_image_unknown_suffix(tmp_path):
    with pytest.raises(ImageError, match="unknown image format"):
        save_image(torch.zeros(3, 2, 2), tmp_path / "a.xyz")
    assert not any(tmp_path.iterdir())


def test_decode_image_bytes_like_files(tmp_path):
    pixels = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(tmp_path / "a.png")
    data = (tmp_path / "a.png").read_bytes()
    assert torch.equal(decode_image(data), load_image(tmp_path / "a.png"))
    with pytest.raises(ImageError, match="upload.png: empty"):
        decode_image(b"", "upload.png")
    with pytest.raises(ImageError, match="upload.png: corrupt or truncated"):
        decode_image(data[: len(data) // 2], "upload.png")
    with pytest.raises(ImageError, match="upload.png: not an image"):
        decode_image(b"plain text", "upload.png")
