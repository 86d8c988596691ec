"""Make a golden .aec file that tests/test_hardening.py decodes on every run.

    .venv/bin/python benchmarks/make_golden.py
        [--family factorized|hyperprior|variable-rate|context] [--kodak DIR]

Writes tests/data/golden/kodim23_64x96.aec (a 64x96 crop of Kodak's kodim23, compressed
by the shipped codec of lambda 0.0067: rd_lambda0.0067.pt) and golden.json beside it,
holding the SHA-256 of its decoded latents and of its decoded 8-bit pixels; with
`--family hyperprior`, kodim23_64x96_hyperprior.aec (hp_lambda0.0067.pt) and
golden_hyperprior.json; with `--family variable-rate`, kodim23_64x96_variable-rate.aec
(vr_hyperprior.pt, coded at lambda 0.0042, between two trained lambdas) and
golden_variable-rate.json; with `--family context`, kodim23_64x96_context.aec (vr_context.pt,
the default codec) and golden_context.json. The test decodes every stored file with today's
code and compares: a change that makes old files decode differently fails.

Run it only when the file format or a shipped model changes on purpose, and say so in the
commit. Does not hold the test itself.
"""

import argparse
import json
import os
from pathlib import Path

import torch

from aecodec import __version__, zoo
from aecodec.checkpoint import load_model
from aecodec.codec import compress, decoded_digests, model_id
from aecodec.images import load_image

REPO = Path(__file__).resolve().parents[1]
GOLDEN = REPO / "tests" / "data" / "golden"
SOURCE, TOP, LEFT, HEIGHT, WIDTH = "kodim23.png", 200, 300, 64, 96
LAMBDA = 0.0067
VARIABLE_RATE_LAMBDA = 0.0042  # between the trained 0.0035 and 0.0067: interpolated gains


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kodak", default=os.environ.get("AECODEC_KODAK", REPO.parent / "shared"
                                                          / "kodak"), help="Kodak folder")
    parser.add_argument("--family", choices=[*sorted(zoo.FAMILIES), "variable-rate", "context"],
                        default="factorized")
    args = parser.parse_args()
    if args.family in zoo.VARIABLE_FAMILIES:
        path = zoo.variable_rate_path() if args.family == "variable-rate" else zoo.default_path()
        model = load_model(path)
        model.set_lambda(VARIABLE_RATE_LAMBDA)
    else:
        path = zoo.codec_path(LAMBDA, args.family)
        model = load_model(path)
    suffix = "" if args.family == "factorized" else f"_{args.family}"
    x = load_image(Path(args.kodak) / SOURCE)[:, TOP : TOP + HEIGHT, LEFT : LEFT + WIDTH]
    data = compress(model, x)
    GOLDEN.mkdir(parents=True, exist_ok=True)
    name = f"{Path(SOURCE).stem}_{HEIGHT}x{WIDTH}{suffix}.aec"
    (GOLDEN / name).write_bytes(data)
    record = dict(file=name, source=SOURCE,
                  crop=dict(top=TOP, left=LEFT, height=HEIGHT, width=WIDTH),
                  model=path.name, model_id=model_id(model).hex(),
                  **decoded_digests(model, data),
                  made_with=f"aecodec {__version__}, torch {torch.__version__}")
    (GOLDEN / f"golden{suffix}.json").write_text(json.dumps(record, indent=1) + "\n")
    print(f"wrote {GOLDEN / name} ({len(data)} bytes) and golden{suffix}.json")


if __name__ == "__main__":
    main()
