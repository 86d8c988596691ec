"""Check a trained codec before shipping it: it loads, codes a photo, and the file decodes
bit-exactly here in fresh processes on 1 and 2 threads (the same pixels as in the process
that wrote it). For a codec trained elsewhere, e.g. on a lent GPU (`make train-device`).

    .venv/bin/python benchmarks/verify_codec.py runs/device/default_codec.pt \
        --image ../shared/kodak/kodim01.png

Prints one line per check and exits with status 1 if any fails.
"""

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
from pathlib import Path


def decode_digest(model_path: str, aec_path: str, threads: int) -> str:
    """SHA-256 of the 8-bit pixels a fresh Python decodes on `threads` threads."""
    code = ("import sys, hashlib, torch; torch.set_num_threads(int(sys.argv[3])); "
            "from aecodec.checkpoint import load_model; from aecodec.codec import decompress; "
            "m = load_model(sys.argv[1]); x = decompress(m, open(sys.argv[2], 'rb').read()); "
            "print(hashlib.sha256(torch.round(x * 255).to(torch.uint8).numpy().tobytes())"
            ".hexdigest())")
    out = subprocess.run([sys.executable, "-c", code, model_path, aec_path, str(threads)],
                         capture_output=True, text=True, timeout=600)
    if out.returncode:
        raise SystemExit(f"decoding on {threads} thread(s) failed:\n{out.stderr[-2000:]}")
    return out.stdout.strip().splitlines()[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", help="the checkpoint to check")
    parser.add_argument("--image", required=True, help="a photo to code (e.g. kodim01.png)")
    args = parser.parse_args()

    import torch

    from aecodec.checkpoint import load_model
    from aecodec.codec import compress, decompress
    from aecodec.images import load_image
    from aecodec.metrics import bpp, psnr

    model = load_model(args.model)
    x = load_image(args.image)
    data = compress(model, x)
    x_hat = decompress(model, data)
    here = hashlib.sha256(torch.round(x_hat * 255).to(torch.uint8).numpy().tobytes()).hexdigest()
    result = dict(model=type(model).__name__, lmbda=model.lmbda,
                  bpp=bpp(len(data), *x.shape[-2:]), psnr=psnr(x, x_hat))
    print(f"loads and codes: {json.dumps(result)}")
    with tempfile.TemporaryDirectory() as folder:
        aec = Path(folder) / "photo.aec"
        aec.write_bytes(data)
        digests = {n: decode_digest(args.model, str(aec), n) for n in (1, 2)}
    same = all(d == here for d in digests.values())
    print(f"decodes bit-exactly in fresh processes on 1 and 2 threads: {same}")
    if not same:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
