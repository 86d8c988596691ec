"""The refactor guard: `compress` writes the same bytes, and files decode to the same
integers and pixels, as before the codec families took over their own coding (issue 22).

tests/data/compress_digests.json was recorded before that change, by the code then on
main, for every shipped codec (the variable-rate one at three lambdas, two shipped codecs
with refined latents too) on a 104x72 crop of a sample photo (both sides need padding).
Besides the file's SHA-256 it holds `bits_map`'s totals, which the file's own tables give.
(A CPU with other vector instructions may round the encoder's floats differently; these
digests were recorded on x86-64 with AVX2, as the golden files were.)
"""

import hashlib
import json
from pathlib import Path

import pytest
import torch

from aecodec import zoo
from aecodec.checkpoint import load_model
from aecodec.codec import FORMATS, compress, decoded_digests
from aecodec.data import load_sample
from aecodec.entropy import estimated_bits
from aecodec.evaluation import bits_map
from aecodec.models import Codec
from aecodec.refine import refine_latents

RECORD = json.loads((Path(__file__).parent / "data" / "compress_digests.json").read_text())


@pytest.fixture(scope="module")
def x() -> torch.Tensor:
    return load_sample("grace_hopper")[:, 100:172, 150:254]  # (3, 72, 104)


@pytest.mark.parametrize("key", sorted(RECORD["files"]))
def test_compress_writes_the_recorded_bytes(key, x):
    record = RECORD["files"][key]
    name, _, lmbda = key.partition("@")
    name, _, refine = name.partition("+")
    model = load_model(zoo.models_dir() / name)
    if lmbda:
        model.set_lambda(float(lmbda))
    latents = None
    if refine:
        torch.manual_seed(0)
        latents = refine_latents(model, x, int(refine.removeprefix("refine")), progress=False)
    data = compress(model, x, latents=latents)
    assert len(data) == record["bytes"]
    assert hashlib.sha256(data).hexdigest() == record["sha256"]
    digests = decoded_digests(model, data)
    assert digests["latents_sha256"] == record["latents_sha256"]
    assert digests["pixels_sha256"] == record["pixels_sha256"]
    if "bits_total" in record:
        bits = bits_map(model, data)
        assert bits["total"] == pytest.approx(record["bits_total"], abs=2e-3)
        assert float(bits["z"]) == pytest.approx(record["bits_z"], abs=2e-3)


def test_the_format_table_keeps_the_historical_headers():
    """31, 37 and 41 bytes: the layouts files were written with before the table; version 4
    (the context codec) took version 3's."""
    assert {v: (row.kind, row.header.format, row.header.size) for v, row in FORMATS.items()} == {
        1: ("factorized", "<4sB8sIIHHHI", 31),
        2: ("hyperprior", "<4sB8sIIHHHHHHI", 37),
        3: ("variable-rate", "<4sB8sIIHHHHHHfI", 41),
        4: ("context", "<4sB8sIIHHHHHHfI", 41),
    }


@pytest.mark.parametrize("version", sorted(FORMATS))
def test_every_format_model_implements_the_codec_protocol(version):
    """A row of FORMATS names a model class that codes for itself (aecodec.codec's
    docstring lists the protocol): none of the required methods is the base's stub."""
    model_class = FORMATS[version].model
    for name in ("coding_tables", "compress_latents", "decompress_latents", "latent_bits",
                 "rounded_rate", "estimated_latent_bits"):
        assert getattr(model_class, name) is not getattr(Codec, name), (model_class, name)


def test_the_side_estimate_is_z_priors_likelihood(x):
    """codec_runs' side_bpp_estimated, now asked of the model, is what it was: the bits
    z_prior gives round(z) of the encoder's y."""
    model = load_model(zoo.models_dir() / "hp_lambda0.0067.pt")
    with torch.no_grad():
        _, likelihoods_z = model.z_prior(model.hyper_encode(model.encode(x[None])))
    assert model.estimated_latent_bits(x[None])["z"] == estimated_bits(likelihoods_z).item()
