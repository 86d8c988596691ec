"""How fast the shipped codecs encode and decode Kodak, and how much memory they take,
beside Pillow's JPEG and WebP measured in the same run.

    .venv/bin/python benchmarks/codec_speed.py [--kodak DIR] [--limit N] [--threads N]
                                               [--family F ...] [--out FILE]

(`make bench` runs it.) Each codec runs in its own fresh Python process (this script
with `--one CODEC`), so the peak memory reported (the process's ru_maxrss: Python,
PyTorch and the codec, the images loaded one at a time) is that codec's alone.

Speed is in megapixels per second over all images, from pixels in memory to bytes and
back: reading PNG files and converting pixels to tensors are not timed. Each process
codes its first image once untimed, so one-off set-up is not counted. bpp and PSNR are
given for context (8-bit reconstructions, averaged per image).

Holds only the measurement; the codecs live in `aecodec.codec` and `aecodec.baselines`.
"""

import argparse
import io
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

from tqdm import tqdm

REPO = Path(__file__).resolve().parents[1]
BASELINES = ("JPEG q75", "WebP q75")
TARGET_SECONDS = 1.0  # encode and decode a Kodak image each in well under this
TARGET_MEMORY = 2**30  # peak memory for a Kodak image


def codecs(families: list[str] | None = None) -> list[str]:
    """The shipped codecs (in data/models, or $AECODEC_MODELS), each family low to high
    quality, then the baselines; `families`: only these."""
    from aecodec import zoo

    names = []
    for family in families or zoo.shipped_families():
        prefix = "aecodec" if family == "factorized" else f"aecodec {family}"
        names += [f"{prefix} lambda={lmbda}" for lmbda in zoo.qualities(family).values()]
    return names + list(BASELINES)


def kodak_default() -> str:
    return os.environ.get("AECODEC_KODAK", str(REPO.parent / "shared" / "kodak"))


def peak_memory() -> int:
    """Peak resident memory of this process so far, in bytes (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


# --- one codec, in its own process ------------------------------------------------------


def aecodec_coder(name: str):
    """(encode, decode) for a shipped codec named as in `codecs()`: x (3, H, W) -> bytes
    -> x_hat (3, H, W)."""
    from aecodec import zoo
    from aecodec.checkpoint import load_model
    from aecodec.codec import compress, decompress

    words = name.split()  # "aecodec [family] lambda=L"
    family = words[1] if len(words) == 3 else "factorized"
    lmbda = float(name.split("=")[1])
    model = (zoo.load_codec(lmbda=lmbda, family=family) if family in zoo.VARIABLE_FAMILIES
             else load_model(zoo.codec_path(lmbda, family)))
    return (lambda x: compress(model, x)), (lambda data: decompress(model, data))


def pillow_coder(fmt: str, quality: int):
    """(encode, decode) with Pillow: 8-bit RGB pixels -> bytes -> 8-bit RGB pixels."""
    from PIL import Image

    def encode(image: Image.Image) -> bytes:
        buffer = io.BytesIO()
        image.save(buffer, format=fmt, quality=quality)
        return buffer.getvalue()

    def decode(data: bytes) -> Image.Image:
        image = Image.open(io.BytesIO(data))
        image.load()
        return image.convert("RGB")

    return encode, decode


def measure_one(codec: str, kodak: Path, limit: int, threads: int | None) -> dict:
    """Code the Kodak images with one codec; times, sizes, PSNR and peak memory."""
    import torch

    from aecodec.images import image_to_tensor, open_image, tensor_to_image
    from aecodec.metrics import psnr

    if threads:
        torch.set_num_threads(threads)
    is_pillow = not codec.startswith("aecodec")
    if is_pillow:
        fmt, quality = codec.split(" q")
        encode, decode = pillow_coder(fmt.upper(), int(quality))
    else:
        encode, decode = aecodec_coder(codec)
    paths = sorted(kodak.glob("kodim*.png"))[:limit]
    baseline = peak_memory()
    totals = dict(encode_s=0.0, decode_s=0.0, pixels=0, bits=0, psnr=0.0)
    for i, path in enumerate(paths):
        x = image_to_tensor(open_image(path))  # (3, H, W)
        source = tensor_to_image(x) if is_pillow else x
        if i == 0:
            decode(encode(source))  # warm-up, untimed
        start = time.perf_counter()
        data = encode(source)
        middle = time.perf_counter()
        decoded = decode(data)
        end = time.perf_counter()
        x_hat = image_to_tensor(decoded) if is_pillow else decoded
        totals["encode_s"] += middle - start
        totals["decode_s"] += end - middle
        totals["pixels"] += x.shape[1] * x.shape[2]
        totals["bits"] += 8 * len(data)
        totals["psnr"] += psnr(x, x_hat) / len(paths)
    return dict(codec=codec, images=len(paths), threads=torch.get_num_threads(),
                baseline_memory=baseline, peak_memory=peak_memory(), **totals)


# --- the parent: every codec, a table ---------------------------------------------------


def run_one(codec: str, kodak: str, limit: int, threads: int | None) -> dict:
    command = [sys.executable, __file__, "--one", codec, "--kodak", kodak, "--limit", str(limit)]
    command += ["--threads", str(threads)] if threads else []
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"{codec} failed:\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def table(rows: list[dict]) -> str:
    lines = [
        "| codec | bpp | PSNR (dB) | encode MP/s | decode MP/s | encode s/image "
        "| decode s/image | peak memory (MiB) | of which before the first image |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        mp = r["pixels"] / 1e6
        lines.append(
            f"| {r['codec']} | {r['bits'] / r['pixels']:.3f} | {r['psnr']:.2f} "
            f"| {mp / r['encode_s']:.2f} | {mp / r['decode_s']:.2f} "
            f"| {r['encode_s'] / r['images']:.3f} | {r['decode_s'] / r['images']:.3f} "
            f"| {r['peak_memory'] / 2**20:.0f} | {r['baseline_memory'] / 2**20:.0f} |"
        )
    return "\n".join(lines)


def verdict(rows: list[dict]) -> str:
    ours = [r for r in rows if r["codec"].startswith("aecodec")]
    slowest = max(max(r["encode_s"], r["decode_s"]) / r["images"] for r in ours)
    memory = max(r["peak_memory"] for r in ours)
    return (f"Targets: encode and decode a Kodak image each in well under {TARGET_SECONDS:.0f} s "
            f"(slowest here: {slowest:.2f} s, {'met' if slowest < TARGET_SECONDS else 'missed'}); "
            f"peak memory under {TARGET_MEMORY / 2**30:.0f} GiB (largest here: "
            f"{memory / 2**20:.0f} MiB, {'met' if memory < TARGET_MEMORY else 'missed'}).")


def machine(threads: int) -> str:
    import torch

    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{cpu}, {os.cpu_count()} CPU cores, Python {platform.python_version()}, "
            f"torch {torch.__version__} ({threads} threads)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kodak", default=kodak_default(), help="folder with kodim*.png")
    parser.add_argument("--limit", type=int, default=24, help="use the first N images")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--out", default=None, help="also write the markdown here")
    parser.add_argument("--family", action="append", default=None,
                        help="measure only this family (repeatable; default: every shipped one)")
    parser.add_argument("--one", default=None, help=argparse.SUPPRESS)  # one codec, in a child
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure_one(args.one, Path(args.kodak), args.limit, args.threads)))
        return
    load_before = os.getloadavg()[0]
    rows = []
    for codec in (bar := tqdm(codecs(args.family), desc="codecs", unit="codec")):
        bar.set_postfix_str(codec)
        rows.append(run_one(codec, args.kodak, args.limit, args.threads))
    load_after = os.getloadavg()[0]
    report = "\n\n".join([
        f"Kodak, {rows[0]['images']} images; {machine(rows[0]['threads'])}.",
        table(rows),
        verdict(rows),
        f"Load average (1 min) {load_before:.2f} before, {load_after:.2f} after the run.",
    ])
    print(report)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(report + "\n")


if __name__ == "__main__":
    main()
