"""Make the golden .aec file that tests/test_hardening.py decodes on every run.

    .venv/bin/python benchmarks/make_golden.py [--kodak ../shared/kodak]

Writes tests/data/golden/kodim23_64x96.aec (a 64x96 crop of Kodak's kodim23, compressed
by the shipped model rd_lambda0.0067.pt) and golden.json beside it, holding the SHA-256 of
its decoded latents and of its decoded 8-bit pixels. The test decodes the stored file with
today's code and compares both: a change that makes old files decode differently fails.

Run it only when the file format or a shipped model changes on purpose, and say so in the
commit. Does not hold the test itself.
"""

import argparse
import hashlib
import json
import os
from pathlib import Path

import torch

from aecodec import __version__, zoo
from aecodec.checkpoint import load_model
from aecodec.codec import compress, decode_latents, decompress, model_id, read_header
from aecodec.images import load_image

REPO = Path(__file__).resolve().parents[1]
GOLDEN = REPO / "tests" / "data" / "golden"
SOURCE, TOP, LEFT, HEIGHT, WIDTH = "kodim23.png", 200, 300, 64, 96
LAMBDA = 0.0067


def sha256(tensor: torch.Tensor) -> str:
    return hashlib.sha256(tensor.contiguous().numpy().tobytes()).hexdigest()


def pixels_sha256(x_hat: torch.Tensor) -> str:
    """SHA-256 of an image x_hat (1, 3, H, W) in [0, 1] as 8-bit values."""
    return sha256(torch.round(x_hat * 255).to(torch.uint8))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kodak", default=os.environ.get("AECODEC_KODAK", REPO.parent / "shared"
                                                          / "kodak"), help="Kodak folder")
    args = parser.parse_args()
    model = load_model(zoo.rd_path(LAMBDA))
    x = load_image(Path(args.kodak) / SOURCE)[:, TOP : TOP + HEIGHT, LEFT : LEFT + WIDTH]
    data = compress(model, x)
    header = read_header(data)
    y_hat = decode_latents(model, header["stream"], header["latent_shape"])  # (C, h, w)
    GOLDEN.mkdir(parents=True, exist_ok=True)
    name = f"{Path(SOURCE).stem}_{HEIGHT}x{WIDTH}.aec"
    (GOLDEN / name).write_bytes(data)
    record = dict(file=name, source=SOURCE,
                  crop=dict(top=TOP, left=LEFT, height=HEIGHT, width=WIDTH),
                  model=zoo.rd_path(LAMBDA).name, model_id=model_id(model).hex(),
                  latents_sha256=sha256(y_hat),
                  pixels_sha256=pixels_sha256(decompress(model, data)),
                  made_with=f"aecodec {__version__}, torch {torch.__version__}")
    (GOLDEN / "golden.json").write_text(json.dumps(record, indent=1) + "\n")
    print(f"wrote {GOLDEN / name} ({len(data)} bytes) and golden.json")


if __name__ == "__main__":
    main()
