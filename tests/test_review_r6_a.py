"""Round-6 review A (notebooks 00-02): the wrong answers it found misdiagnosed, kept as tests.

- check_noise_prediction: MSEs (sigma^2) in place of dB are named as MSEs, and the keys
  '0.1' and '0.01' written as strings are named as strings.
- check_latent_values: rounding down is told that each 5/2/2 layer halves rounding up (no
  padding of the image in this exercise).
- The "Not yet" verdict is kept for a NotImplementedError that the learner's own code
  raises (the stub); one that torch raises on what the learner returned (a sparse tensor)
  or inside the learner's code is a "Wrong:" verdict.
- Notebook 00 cites Cui et al. 2021 among the course's learned codecs and methods.
- Notebook 02 frames the enlarged corner of feature 3 (show_images(frame=True)), so its
  white corner pixel does not merge with the page.
"""

import json
import math

import numpy as np
import pytest
import torch

from aecodec.course import exercises
from conftest import REPO

MEASURED = {0.1: 20.0, 0.01: 40.0}  # PSNR of noise of sigma 0.1 and 0.01: -20 log10(sigma)


def _cells(stem: str) -> list[str]:
    """The source of every cell of the notebook whose name starts with `stem`."""
    path = next((REPO / "notebooks").glob(f"{stem}_*.ipynb"))
    return ["".join(cell["source"]) for cell in json.loads(path.read_text())["cells"]]


def _verdict(check, answer, capsys, **kwargs) -> str:
    assert check(answer, grade=True, **kwargs) is False
    return capsys.readouterr().out


def test_noise_prediction_of_mses_is_named_as_mses(capsys):
    out = _verdict(exercises.check_noise_prediction, lambda: {0.1: 0.01, 0.01: 0.0001},
                   capsys, measured=MEASURED)
    assert out.startswith("Wrong: ") and "these are MSEs; PSNR = 10 log10(1/MSE)" in out, out
    assert "More noise is more error" not in out and "0.0 dB" not in out, out


def test_noise_prediction_with_string_keys_is_told_they_are_strings(capsys):
    out = _verdict(exercises.check_noise_prediction, lambda: {"0.1": 20, "0.01": 40}, capsys,
                   measured=MEASURED)
    assert out.startswith("Wrong: ") and "no entry for" in out, out
    assert "are strings: the keys must be the numbers 0.01 and 0.1, not strings" in out, out


def test_noise_prediction_right_answer_still_passes(capsys):
    right = {s: -20 * math.log10(s) for s in MEASURED}
    assert exercises.check_noise_prediction(lambda: right, MEASURED, grade=True) is True


def test_latent_values_rounding_down_is_told_each_layer_halves_rounding_up(capsys):
    out = _verdict(exercises.check_latent_values,
                   lambda h, w, c, k: c * (h // 2**k) * (w // 2**k), capsys)
    assert out.startswith("Wrong: ") and "halves rounding up" in out, out
    assert "ceil(n / 2^k)" in out and "padded" not in out, out


def _to_batch(pixels: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(pixels).permute(2, 0, 1)[None].float() / 255  # (1, 3, H, W)


def test_a_sparse_result_that_torch_cannot_use_is_wrong_not_unwritten(capsys):
    out = _verdict(exercises.check_to_batch, lambda p: _to_batch(p).to_sparse(), capsys)
    assert out.startswith("Wrong: to_batch: ") and "not implemented yet" not in out, out
    assert "NotImplementedError" in out and "torch.sparse_coo" in out, out


def test_notimplementederror_from_torch_inside_the_learners_code_is_wrong(capsys):
    def to_batch(pixels):
        return torch.bincount(torch.from_numpy(pixels).float())  # no bincount of floats

    out = _verdict(exercises.check_to_batch, to_batch, capsys)
    assert out.startswith("Wrong: to_batch: calling it with") and "bincount" in out, out


@pytest.mark.parametrize("check, kwargs", [
    (exercises.check_to_batch, {}),
    (exercises.check_latent_values, {}),
    (exercises.check_noise_prediction, {"measured": MEASURED}),
])
def test_the_stubs_own_raise_is_still_not_yet(check, kwargs, capsys):
    def stub(*args):
        raise NotImplementedError("Exercise: write it")

    out = _verdict(check, stub, capsys, **kwargs)
    assert out.startswith("Not yet: ") and "not implemented yet" in out, out


def test_notebook_00_cites_cui_et_al_among_the_learned_codecs():
    references = next(c for c in _cells("00") if c.startswith("**References.**"))
    learned = " ".join(references[references.index("The main learned codecs"):].split())
    assert "Cui" in learned and "Asymmetric gained deep image compression" in learned
    assert "CVPR 2021" in learned.split("Cui", 1)[1]


def test_show_images_frame_draws_a_grey_frame_without_ticks():
    from aecodec.viz import show_images

    white = torch.ones(3, 4, 6)
    plain, framed = show_images([white]), show_images([white], frame=True)
    assert not plain.axes[0].axison
    ax = framed.axes[0]
    assert ax.axison and not ax.get_xticks().size and not ax.get_yticks().size
    assert all(spine.get_visible() for spine in ax.spines.values())


def test_notebook_02_frames_the_enlarged_corner():
    corner = next(c for c in _cells("02") if "feature 3, bottom-left corner" in c)
    assert "frame=True" in corner
