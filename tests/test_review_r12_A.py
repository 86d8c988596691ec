"""Review r12-A of notebooks 00 to 02: each defect it found, kept as a test.

- 01 Exercise 2 (noise PSNR): the clipping message said the unclipped MSE is sigma^2
  "exactly" (it is on average); the tolerance message contradicted itself; 20.5 / 40.5
  (+0.5 dB at both sigma) was called clipping.
- 02 Exercise 3 (latent_values): (h + k) // 2**k was told about round(); the first layer
  rounded up and // for the rest had no diagnosis; the package imported by
  `__import__('aecodec.models')` passed.
- 01 Exercise 3 (psnr_int): the sum of the squared differences had no diagnosis.
- 02's "(the cells above only used multiples)" was too broad; 00 blamed hubble_deep_field's
  poor PNG ratio on camera noise, but four samples are shipped as JPEGs.
"""

import math

import numpy as np

from aecodec.course import exercises
from aecodec.data import SAMPLE_IMAGES
from conftest import REPO, assert_diagnosed, notebook_markdown

NB00 = REPO / "notebooks" / "00_what_is_image_compression.ipynb"
NB02 = REPO / "notebooks" / "02_convolutional_encoder.ipynb"
MEASURED = {0.1: 20.0, 0.01: 40.0}  # -20 log10(sigma): the unclipped noise's PSNR
CLIPPED = {0.1: 20.62, 0.01: 40.08}  # notebook 01's photo, noise clipped to [0, 1]


def _noise(guess: dict):
    return lambda: dict(guess)


# --- 01 Exercise 2: the noise prediction ----------------------------------------------------


def test_01_clipping_message_says_sigma_squared_on_average(capsys):
    out = assert_diagnosed(noise_check(), _noise(CLIPPED),
                           "sigma^2 on average", "sigma^2 exactly", capsys)
    assert "within about 0.01 dB of the rule" in out and "clipping" in out, out


def test_01_tolerance_message_does_not_contradict_itself(capsys):
    out = assert_diagnosed(noise_check(), _noise({0.1: 30, 0.01: 45}),
                           "more than the 0.3 dB allowed; one draw scatters by only about "
                           "0.01 dB", "one draw of noise could explain", capsys)
    assert "clipping" not in out, out


def test_01_same_offset_at_both_sigma_is_not_called_clipping(capsys):
    for offset in (0.5, -0.5, 1.5):
        guess = {s: v + offset for s, v in MEASURED.items()}
        out = assert_diagnosed(noise_check(), _noise(guess),
                               "at both sigma", "clipping", capsys)
        assert "the level is not" in out, out


def test_01_noise_solution_still_accepted(capsys):
    solution = {s: -20 * math.log10(s) for s in MEASURED}
    assert exercises.check_noise_prediction(_noise(solution), MEASURED, grade=True) is True
    assert capsys.readouterr().out.startswith("Correct.")


def noise_check():
    """check_noise_prediction with notebook 01's unclipped measurement."""
    return lambda predict, grade=False: exercises.check_noise_prediction(
        predict, MEASURED, grade=grade)


# --- 01 Exercise 3: psnr_int ---------------------------------------------------------------


def test_01_psnr_int_summed_squares_diagnosed(capsys):
    def summed(a, b, bits):
        d = a.astype(np.float64) - b.astype(np.float64)
        return 10 * math.log10((2 ** bits - 1) ** 2 / float(np.sum(d ** 2)))

    assert_diagnosed(exercises.check_psnr_int, summed,
                     "you summed the squared differences; the MSE is their mean", "peak",
                     capsys)


# --- 02 Exercise 3: latent_values -----------------------------------------------------------


def test_02_plus_k_before_dividing_is_not_told_about_round(capsys):
    out = assert_diagnosed(exercises.check_latent_values,
                           lambda h, w, c, k: c * ((h + k) // 2**k) * ((w + k) // 2**k),
                           "rounds up only the remainders", "round()", capsys)
    assert "2^k - 1" in out and "math.ceil" in out, out


def test_02_round_is_still_told_about_round(capsys):
    assert_diagnosed(exercises.check_latent_values,
                     lambda h, w, c, k: c * round(h / 2**k) * round(w / 2**k),
                     "round() goes to the nearest", "before dividing", capsys)


def test_02_first_layer_rounded_up_only_diagnosed(capsys):
    wrong = lambda h, w, c, k: (  # noqa: E731  (the reviewer's answer, as written)
        c * math.ceil(h / 2) // 2 ** (k - 1) * math.ceil(w / 2) // 2 ** (k - 1))
    out = assert_diagnosed(exercises.check_latent_values, wrong,
                           "rounded up at the first layer only", "round()", capsys)
    assert "left to right" in out, out


def test_02_package_imported_by_string_is_refused(capsys):
    wrong = lambda h, w, c, k: __import__("math").prod(  # noqa: E731
        __import__("aecodec.models", fromlist=["x"]).latent_shape(
            h, w, __import__("aecodec.models", fromlist=["x"]).AutoencoderConfig(c, k, 8)))
    assert_diagnosed(exercises.check_latent_values, wrong,
                     "reads `aecodec.models` (imported by name), the course package's own code",
                     "gives the right answer", capsys)


def test_02_latent_solution_with_dunder_import_of_math_still_accepted(capsys):
    right = lambda h, w, c, k: (  # noqa: E731
        c * __import__("math").ceil(h / 2**k) * math.ceil(w / 2**k))
    assert exercises.check_latent_values(right, grade=True) is True
    assert capsys.readouterr().out.startswith("Correct.")


# --- markdown ------------------------------------------------------------------------------


def test_02_multiples_remark_names_the_multi_layer_cells():
    text = notebook_markdown(NB02)
    assert "(the cells above only used multiples)" not in text
    assert "the multi-layer cells above only used multiples of $2^k$" in text


def test_00_jpeg_samples_hedged():
    text = notebook_markdown(NB00)
    jpegs = [name for name, (_, path) in SAMPLE_IMAGES.items() if path.endswith(".jpg")]
    assert jpegs and "shipped as JPEG files" in text and "JPEG's artefacts" in text
    for name in jpegs:
        assert name in text.split("shipped as JPEG files")[0].rsplit(".", 1)[-1], name
