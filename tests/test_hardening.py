"""Hardening: awkward images, a 24-megapixel photo in bounded memory, atomic writes, the
same bytes and pixels on 1, 2 or 3 threads, and a golden file that must keep decoding.

Some tests run this file as a script in a fresh Python (`python tests/test_hardening.py
codes|large ...`): to set the number of threads before any work, and to measure the peak
memory of a process that did nothing else. Decoder fuzzing is in test_fuzz.py.
"""

import hashlib
import io
import json
import resource
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from aecodec import codec, zoo
from aecodec.checkpoint import load_checkpoint, load_model
from aecodec.cli import main
from aecodec.codec import (
    compress,
    decode_symbols,
    decoded_digests,
    decompress,
    model_id,
    read_header,
)
from aecodec.data import PatchDataset
from aecodec.errors import ImageError
from aecodec.images import decode_image, load_image
from aecodec.metrics import psnr
from aecodec.models import Autoencoder
from aecodec.training import fit

GOLDEN = Path(__file__).parent / "data" / "golden"
# bytes: compress + decompress of a 6000x4000 photo, Python and PyTorch included (the
# hyperprior's hyper path runs on the whole latent: it needs more)
LARGE_MEMORY_BOUND = {"factorized": 2.5 * 2**30, "hyperprior": 3 * 2**30,
                      "context": 3.5 * 2**30}  # and the context's integer layers on top


def shipped_codec() -> Path:
    """The shipped factorized codec of quality 1 (the smallest files; it codes in tiles)."""
    return zoo.codec_path(zoo.QUALITIES[1], "factorized")


def run_script(*args: str, timeout: float) -> dict:
    """Run this file as a script in a fresh Python; returns the JSON it prints last."""
    result = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True,
                            timeout=timeout)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def random_png(path: Path, height: int, width: int, seed: int = 0) -> Path:
    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path)
    return path


def png_file(width: int, height: int, bit_depth: int, colour_type: int, rows: bytes) -> bytes:
    """A PNG written by hand (Pillow cannot write 16-bit RGB, nor lie about sizes)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    idat = chunk(b"IDAT", zlib.compress(rows)) if rows else b""
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + idat + chunk(b"IEND", b"")


# --- images: every awkward case gives a correct tensor or a clear ImageError ------------


@pytest.mark.parametrize("height, width", [(1, 1), (2, 3), (1, 4000), (8, 3000), (3000, 8)])
def test_tiny_and_strip_images_load_exactly(tmp_path, height, width):
    path = random_png(tmp_path / "a.png", height, width)
    x = load_image(path)
    assert x.shape == (3, height, width)
    expected = np.asarray(Image.open(path)).astype(np.float32) / 255  # (H, W, 3), as to_rgb
    assert torch.equal(x, torch.from_numpy(expected).permute(2, 0, 1))


def jpeg_bytes(seed: int = 0) -> bytes:
    buffer = io.BytesIO()
    pixels = np.random.default_rng(seed).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


@pytest.mark.parametrize("damage, message", [
    (lambda d: b"", "empty"),
    (lambda d: d[: len(d) // 2], "corrupt or truncated"),
    (lambda d: d[:2] + b"\xff\xc0\x00\x05garbage" + d[20:], "corrupt|not an image"),
    (lambda d: d[:200], "corrupt or truncated"),
])
def test_corrupt_jpegs_are_refused(tmp_path, damage, message):
    (tmp_path / "bad.jpg").write_bytes(damage(jpeg_bytes()))
    with pytest.raises(ImageError, match=message):
        load_image(tmp_path / "bad.jpg")


def test_jpeg_with_damaged_scan_data_gives_an_image_or_an_error():
    data = bytearray(jpeg_bytes())
    for position in range(700, len(data) - 10, 97):  # inside the entropy-coded scan
        data[position] ^= 0x55
    try:
        x = decode_image(bytes(data), "damaged.jpg")
    except ImageError as e:
        assert "damaged.jpg" in str(e)
    else:
        assert x.shape == (3, 64, 64) and 0 <= x.min() and x.max() <= 1


def test_png_with_a_bad_chunk_checksum_is_refused(tmp_path):
    data = bytearray(png_file(4, 4, 8, 2, b"".join(b"\0" + bytes(12) for _ in range(4))))
    data[-20] ^= 0xFF  # inside IDAT: its CRC no longer matches
    (tmp_path / "bad.png").write_bytes(bytes(data))
    with pytest.raises(ImageError, match="corrupt|not an image"):
        load_image(tmp_path / "bad.png")


def test_16_bit_rgb_keeps_the_top_byte(tmp_path):
    values = np.array([[[0, 65535, 32896], [1000, 40000, 65280]]], dtype=np.uint16)  # (1, 2, 3)
    rows = b"\0" + values[0].astype(">u2").tobytes()
    (tmp_path / "rgb16.png").write_bytes(png_file(2, 1, 16, 2, rows))
    x = load_image(tmp_path / "rgb16.png")
    assert x.shape == (3, 1, 2)
    expected = torch.from_numpy((values >> 8).astype(np.float32) / 255).permute(2, 0, 1)
    assert torch.equal(x, expected)
    assert (x - torch.from_numpy(values / 65535).permute(2, 0, 1)).abs().max() < 1 / 255


def test_cmyk_jpeg_file(tmp_path):
    Image.new("CMYK", (16, 16), (0, 255, 255, 0)).save(tmp_path / "red.jpg", quality=95)
    x = load_image(tmp_path / "red.jpg")
    assert x.shape == (3, 16, 16)
    assert torch.allclose(x[:, 8, 8], torch.tensor([1.0, 0.0, 0.0]), atol=3 / 255)


@pytest.mark.parametrize("fmt", ["GIF", "PNG", "TIFF", "WEBP"])
def test_animations_give_their_first_frame(tmp_path, fmt):
    frames = [Image.new("RGB", (8, 8), c) for c in ((255, 0, 0), (0, 0, 255))]
    path = tmp_path / f"anim.{fmt.lower()}"
    extra = dict(lossless=True) if fmt == "WEBP" else {}
    frames[0].save(path, format=fmt, save_all=True, append_images=frames[1:], **extra)
    assert Image.open(path).n_frames == 2
    assert load_image(path)[:, 4, 4].tolist() == [1.0, 0.0, 0.0]


def test_decompression_bomb_is_refused_before_decoding(tmp_path):
    (tmp_path / "bomb.png").write_bytes(png_file(30000, 30000, 8, 2, b""))  # 900 Mpx, no data
    with pytest.raises(ImageError, match="too large to open safely"):
        load_image(tmp_path / "bomb.png")


# --- the command line on tiny and strip images ------------------------------------------


@pytest.mark.parametrize("height, width", [(1, 1), (2, 3), (1, 4000), (8, 3000)])
def test_cli_round_trip_of_tiny_and_strip_images(tmp_path, height, width):
    image = random_png(tmp_path / "in.png", height, width, seed=height * width)
    aec, out = tmp_path / "x.aec", tmp_path / "out.png"
    assert main(["compress", str(image), str(aec), "--model", str(shipped_codec())]) == 0
    assert main(["decompress", str(aec), str(out)]) == 0  # the model is found by its id
    x_hat = load_image(out)
    assert x_hat.shape == (3, height, width)
    assert torch.equal(x_hat, decompress(load_model(shipped_codec()), aec.read_bytes()))


# --- a large photo in bounded memory ----------------------------------------------------


def large_image(kodak_dir: Path, height: int = 4000, width: int = 6000) -> torch.Tensor:
    """A (3, height, width) photo tiled from landscape Kodak images, built in place."""
    names = ["kodim01", "kodim02", "kodim03", "kodim05", "kodim06", "kodim07", "kodim08"]
    photos = [load_image(kodak_dir / f"{name}.png") for name in names]  # (3, 512, 768) each
    x = torch.empty(3, height, width)
    k = 0
    for top in range(0, height, 512):
        for left in range(0, width, 768):
            photo = photos[k % len(photos)]
            x[:, top : top + 512, left : left + 768] = photo[:, : height - top, : width - left]
            k += 1
    return x


def large_round_trip(kodak_dir: str, threads: str, family: str) -> dict:
    """Script mode: compress and decompress a 6000x4000 photo; memory, time, seams."""
    def peak() -> int:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB

    torch.set_num_threads(int(threads))
    model = zoo.load_codec(1, family)
    x = large_image(Path(kodak_dir))
    start_memory, start = peak(), time.perf_counter()
    data = compress(model, x)
    encode_s, encode_memory = time.perf_counter() - start, peak()
    x_hat = decompress(model, data)
    decode_s = time.perf_counter() - start - encode_s
    measured = dict(start_memory=start_memory, encode_memory=encode_memory,
                    peak_memory=peak(), encode_s=encode_s, decode_s=decode_s)
    decoded = decode_symbols(model, data)
    if family == "factorized":
        y_hat = decoded["y_hat"][None].float()  # (1, C, h, w)
        y_rounded = y_hat
    else:  # y_hat = round(y - means_hat) + means_hat: compare round(y) instead
        y_hat = codec.decoded_latents(model, data)["y_hat"]  # (1, C, h, w)
        with torch.no_grad():
            y_rounded = torch.round(codec.analysis(model, x[None]))
    return dict(measured, bytes=len(data), shape=list(x_hat.shape), psnr=psnr(x, x_hat),
                **seams(model, x, y_rounded, y_hat, x_hat))


def seams(model, x: torch.Tensor, y_rounded: torch.Tensor, y_hat: torch.Tensor,
          x_hat: torch.Tensor) -> dict:
    """Compare the tiled results around the first tile corner with one-piece ones.

    A window of 16x16 latent positions centred on the corner is coded in one piece; its
    middle 8x8 (4 positions from the window's edge, more than the kernels see) must match:
    round(y) against the tiled `y_rounded`, and the pixels decoded from `y_hat`.
    """
    s, t = 2**model.config.downsamplings, codec.tile_size(model)
    window = slice(t - 8, t + 8)
    middle, inner = slice(t - 4, t + 4), slice(4, 12)
    pixels = slice((t - 8) * s, (t + 8) * s)
    with torch.no_grad():
        y_piece = torch.round(codec.analysis(model, x[None, :, pixels, pixels]))  # (1, C, 16, 16)
        x_piece = codec.synthesis(model, y_hat[..., window, window].float(), (16 * s, 16 * s))
    y_same = (y_piece[..., inner, inner] == y_rounded[..., middle, middle]).float().mean().item()
    x_tiled = x_hat[..., (t - 4) * s : (t + 4) * s, (t - 4) * s : (t + 4) * s]
    x_diff = (x_piece[..., 4 * s : 12 * s, 4 * s : 12 * s] - x_tiled).abs()
    return dict(latents_equal=y_same, pixels_equal=(x_diff == 0).float().mean().item(),
                pixels_max_diff=x_diff.max().item() * 255)


@pytest.mark.parametrize("family", ["factorized", "hyperprior", "context"])
def test_large_photo_in_bounded_memory_and_without_seams(kodak_dir, family):
    """6000x4000: under LARGE_MEMORY_BOUND[family], and the tiles join like one piece would.

    One thread: the time then suffers least from other work sharing the CPU.
    """
    r = run_script("large", str(kodak_dir), "1", family, timeout=600)
    print(json.dumps(r, indent=1))  # shown with pytest -s: the numbers for the README
    assert r["shape"] == [3, 4000, 6000]
    assert r["peak_memory"] < LARGE_MEMORY_BOUND[family], f"{r['peak_memory'] / 2**30:.2f} GiB"
    assert r["psnr"] > 22  # a photo, not garbage
    assert r["latents_equal"] > 0.999 and r["pixels_equal"] > 0.999
    assert r["pixels_max_diff"] <= 1.0001  # at most one 8-bit step, from float rounding


# --- atomic writes ----------------------------------------------------------------------


def interrupt(*args, **kwargs):
    raise KeyboardInterrupt


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


@pytest.mark.parametrize("where", ["os.fsync", "os.replace"])
def test_interrupted_compress_leaves_nothing(tmp_path, monkeypatch, where, kodak_dir):
    out = tmp_path / "out" / "x.aec"
    monkeypatch.setattr(where, interrupt)
    image = kodak_dir / "kodim23.png"
    status = main(["compress", str(image), str(out), "--model", str(shipped_codec())])
    assert status == 130  # "aecodec: interrupted"
    assert not out.exists() and leftovers(out.parent) == []


def test_interrupted_decompress_keeps_the_old_file(tmp_path, monkeypatch):
    aec, out = tmp_path / "x.aec", tmp_path / "x.png"
    assert main(["compress", str(random_png(tmp_path / "in.png", 40, 60)), str(aec),
                 "--model", str(shipped_codec())]) == 0
    out.write_bytes(b"the previous picture")

    def half_then_interrupt(self, fp, *args, **kwargs):
        fp.write(b"\x89PNG\r\n\x1a\n half a file")
        raise KeyboardInterrupt

    monkeypatch.setattr(Image.Image, "save", half_then_interrupt)
    assert main(["decompress", str(aec), str(out), "--model", str(shipped_codec())]) == 130
    assert out.read_bytes() == b"the previous picture" and leftovers(tmp_path) == []


def test_interrupted_checkpoint_during_training_keeps_the_last_good_one(tmp_path, monkeypatch,
                                                                        smooth_image):
    path = tmp_path / "run.pt"
    dataset = PatchDataset([smooth_image], patch_size=16, patches_per_image=4)
    settings = dict(steps=4, batch_size=4, save_every=2, device="cpu", progress=False)
    fit(Autoencoder(4, 2, 8), dataset, checkpoint=path, **{**settings, "steps": 2})
    good = path.read_bytes()
    monkeypatch.setattr("os.fsync", interrupt)  # Ctrl-C while the next checkpoint is written
    with pytest.raises(KeyboardInterrupt):
        fit(Autoencoder(4, 2, 8), dataset, checkpoint=path, resume=True, **settings)
    assert path.read_bytes() == good and leftovers(tmp_path) == []
    assert load_checkpoint(path)["training"]["step"] == 2


# --- determinism ------------------------------------------------------------------------


def codes(threads: str, kodak_dir: str) -> dict:
    """Script mode: SHA-256 of the file and the decoded pixels of two images (one and two
    tiles) with a factorized codec, of one with a hyperprior codec and of both with the
    default (context) codec if they are shipped."""
    torch.set_num_threads(int(threads))
    kodak = Path(kodak_dir)
    x = load_image(kodak / "kodim01.png")  # (3, 512, 768): one tile
    wide = torch.cat([x, load_image(kodak / "kodim02.png")], dim=2)[:, :, :1300]  # two tiles
    model = load_model(shipped_codec())
    runs = [("kodim01", model, x), ("two tiles", model, wide)]
    if "hyperprior" in zoo.shipped_families():  # its table indexes come from a network too
        runs.append(("hyperprior", zoo.load_codec(1, "hyperprior"), x))
    if "context" in zoo.shipped_families():  # and the context's from decoded latents
        runs.append(("context", zoo.load_codec(1), x))
        runs.append(("context, two tiles", zoo.load_codec(6), wide))
    result = {}
    for name, model, image in runs:
        data = compress(model, image)
        result[name] = [hashlib.sha256(data).hexdigest(),
                        decoded_digests(model, data)["pixels_sha256"]]
    return result


def test_same_bytes_and_pixels_with_1_2_or_3_threads(kodak_dir):
    runs = {threads: run_script("codes", threads, str(kodak_dir), timeout=300)
            for threads in ("1", "2", "3")}
    assert runs["1"] == runs["2"] == runs["3"]
    assert len({tuple(v) for v in runs["1"].values()}) == len(runs["1"])  # all differ


def test_repeated_runs_in_one_process_agree(kodak_dir):
    model = load_model(shipped_codec())
    x = load_image(kodak_dir / "kodim05.png")[:, :200, :300]
    data = compress(model, x)
    assert all(compress(model, x) == data for _ in range(2))
    assert torch.equal(decompress(model, data), decompress(model, data))


@pytest.mark.parametrize("record_file", ["golden.json", "golden_hyperprior.json",
                                         "golden_variable-rate.json", "golden_context.json"])
def test_golden_file_still_decodes_to_its_checksum(record_file):
    """tests/data/golden holds a file made by a shipped codec of each kind
    (benchmarks/make_golden.py): a change to the format, the coder, the decoder or the model
    that alters it fails."""
    record = json.loads((GOLDEN / record_file).read_text())
    model = load_model(zoo.models_dir() / record["model"])
    data = (GOLDEN / record["file"]).read_bytes()
    assert model_id(model).hex() == record["model_id"], (
        f"{record['model']} is not the model that made the golden file: files it wrote no "
        "longer decode. If replacing it was intended, run benchmarks/make_golden.py")
    header = read_header(data)
    assert (header["height"], header["width"]) == (record["crop"]["height"],
                                                   record["crop"]["width"])
    digests = decoded_digests(model, data)
    assert digests["latents_sha256"] == record["latents_sha256"], "the entropy decoder changed"
    assert digests["pixels_sha256"] == record["pixels_sha256"], "the decoder's pixels changed"


if __name__ == "__main__":  # script mode, used by the tests above
    command, *arguments = sys.argv[1:]
    functions = {"codes": codes, "large": large_round_trip}
    print(json.dumps(functions[command](*arguments)))
