"""Check functions for the notebook exercises: run the learner's answer, explain what is wrong.

Each `check_*` takes the learner's function, tries it on several cases against a
trusted reference and prints one verdict that starts with a word (no emoji needed to
read it):

    Correct.    the answer matches the reference on every case
    Not yet:    the function still raises NotImplementedError
    Wrong:      the first case that failed, with what was found and a hint

It returns None, so a notebook cell that ends with the check shows the verdict and
nothing else. For an autograder, `grade=True` makes it return True or False as well:
`assert check_to_batch(to_batch, grade=True)`. A check never raises: whatever the
learner's code does (crash, return the wrong type, build an unexpected module), the
verdict names what was found.

Sizes in messages are always height x width ("an image of height 100 and width 75").

The exercises, by notebook:
    01  to_batch, my_psnr, noise_psnr
    02  conv_output_size, encoder_block, latent_values
    03  conv_transpose_output_size, decoder_block, doubling_padding
    04  training_step, validation_psnr, parameter_count
    05  predicted_ratio, halving_effect, receptive_field
    06  entropy_bits, measured_bpp, rate_from_likelihoods
    07  rd_loss, pick_lambda, noise_quantize
    08  gaussian_pmf, cheaper_rung (a prediction), side_share (a prediction)
    09  file_objective, up_share (a prediction), refinement_gain (a prediction)
(check_table_index, check_file_bits, check_round_up_probability and check_temperature
are the second edition's exercises of 08-09, kept for teachers who set them.)
"""

import copy
import functools
import math
import numbers
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from aecodec import losses, refine
from aecodec.latents8bit import reconstruct_8bit
from aecodec.metrics import psnr, quantize_8bit
from aecodec.models import Autoencoder, AutoencoderConfig, compression_ratio, num_latent_values

CORRECT, NOT_YET, WRONG = "Correct.", "Not yet:", "Wrong:"


class _Wrong(Exception):
    """Raised inside a check to stop at the first problem found."""


def _run(name: str, check: Callable[[], int]) -> bool:
    """Run `check` (which returns the number of cases tried), print the verdict, and
    return whether it passed. Nothing escapes: an unexpected error becomes a verdict."""
    try:
        with torch.random.fork_rng(devices=[]):  # the notebook's random numbers stay its own
            cases = check()
    except NotImplementedError:
        print(f"{NOT_YET} {name} is not implemented yet. Replace `raise NotImplementedError` "
              "with your code, run that cell, then run this check again.")
        return False
    except _Wrong as e:
        print(f"{WRONG} {name}: {_one_line(str(e))}")
        return False
    except Exception as e:  # the learner's result broke the check itself
        print(f"{WRONG} {name}: the check could not use what your code gave back "
              f"({type(e).__name__}: {_one_line(str(e))}). Compare its type and shape with "
              "what the exercise asks for.")
        return False
    print(f"{CORRECT} {name} gives the right answer on {cases} test "
          f"{'case' if cases == 1 else 'cases'}.")
    return True


def _one_line(text: str, limit: int = 600) -> str:
    """A message on one line (a tensor's repr spans several), cut if very long."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + " ..."


def _prints_verdict(check_fn: Callable[..., bool]) -> Callable[..., bool | None]:
    """Make a check return None (its printed verdict is the answer), or True/False when
    called with grade=True."""

    @functools.wraps(check_fn)
    def check(*args, grade: bool = False, **kwargs) -> bool | None:
        passed = check_fn(*args, **kwargs)
        return passed if grade else None

    return check


def _call(fn: Callable, *args, **kwargs):
    """Call the learner's function; turn its crashes into a plain explanation."""
    try:
        return fn(*args, **kwargs)
    except NotImplementedError:
        raise
    except Exception as e:
        shown = ", ".join([repr(a) if not isinstance(a, (torch.Tensor, nn.Module, np.ndarray))
                           else type(a).__name__ for a in args])
        raise _Wrong(f"calling it with ({shown}) raised {type(e).__name__}: {e}") from None


def _as_number(value) -> float:
    """The learner's result as a float, or a plain complaint that it is not a number."""
    _one_number(value)
    number = float(value)
    if math.isnan(number):
        raise _Wrong("it returned nan (not a number): somewhere a 0 / 0 or the log of a "
                     "negative number?")
    return number


def _one_number(value):
    """`value` unchanged if it is one number (int, float, or a tensor or array of one
    element), else a plain complaint naming what it is."""
    if isinstance(value, bool) or value is None:
        raise _Wrong(f"it should return a number, got {value!r}")
    if isinstance(value, torch.Tensor | np.ndarray):
        if value.size == 1 if isinstance(value, np.ndarray) else value.numel() == 1:
            return value
        raise _Wrong(f"it should return one number, got a {type(value).__name__} of shape "
                     f"{tuple(value.shape)}")
    if not isinstance(value, numbers.Real):
        raise _Wrong(f"it should return a number, got {type(value).__name__}")
    return value


# --- 01 images as tensors -------------------------------------------------------------


@_prints_verdict
def check_to_batch(to_batch: Callable[[np.ndarray], torch.Tensor]) -> bool:
    """to_batch(pixels (H, W, 3) uint8) -> x (1, 3, H, W) float32 in [0, 1]."""

    def check() -> int:
        rng = np.random.default_rng(0)
        sizes = [(4, 6), (5, 5), (1, 7)]
        for h, w in sizes:
            pixels = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
            expected = torch.from_numpy(pixels).permute(2, 0, 1)[None].float() / 255
            x = _call(to_batch, pixels)
            if not isinstance(x, torch.Tensor):
                raise _Wrong(f"it should return a torch.Tensor, got {type(x).__name__}")
            if x.shape == (1, 3, w, h) and h != w:
                raise _Wrong(f"for an image of height {h} and width {w} the shape is "
                             f"{tuple(x.shape)}: height and width are swapped. "
                             "permute(2, 0, 1) keeps the height before the width.")
            if x.shape == (1, h, w, 3):
                raise _Wrong(f"shape is (1, H, W, 3) = {tuple(x.shape)}: the channels must "
                             "come first. Hint: .permute(2, 0, 1) moves them.")
            if x.shape != expected.shape:
                raise _Wrong(f"for an image of height {h} and width {w} the shape should be "
                             f"(1, 3, {h}, {w}), got "
                             f"{tuple(x.shape)}. Hint: add the batch dimension with [None] or "
                             ".unsqueeze(0).")
            if x.dtype != torch.float32:
                raise _Wrong(f"values should be float32, got dtype {x.dtype}: PyTorch's layers "
                             "expect float32. Hint: .float()")
            if x.max() > 1.5:
                raise _Wrong("values go up to 255: divide by 255 to bring them into [0, 1].")
            if torch.allclose(x, expected * 255 / 256, atol=1e-6):
                raise _Wrong("the values are 255/256 of the right ones: divide by 255, the "
                             "largest 8-bit value, so that white becomes exactly 1.")
            if h == w and torch.allclose(x, expected.transpose(-1, -2), atol=1e-6):
                raise _Wrong("the image is transposed (rows became columns): permute(2, 0, 1) "
                             "keeps the height before the width.")
            if not torch.allclose(x, expected, atol=1e-6):
                raise _Wrong("shape and range are right but the values are not: is each pixel "
                             "still in its place (permute, not view or reshape)?")
        return len(sizes)

    return _run("to_batch", check)


@_prints_verdict
def check_psnr(my_psnr: Callable[[torch.Tensor, torch.Tensor], float]) -> bool:
    """my_psnr(x, x_hat) -> PSNR in dB, peak 1.0, for one image (3, H, W)."""

    def check() -> int:
        g = torch.Generator().manual_seed(1)
        cases = [(0.1, None), (0.01, None), (None, 0.05), (None, 0.2)]
        for offset, noise in cases:
            x = torch.rand(3, 8, 8, generator=g) * 0.5 + 0.25
            if offset is not None:
                x_hat = x + offset
            else:
                x_hat = (x + noise * torch.randn(3, 8, 8, generator=g)).clamp(0, 1)
            expected = psnr(x, x_hat)
            got = _call(my_psnr, x, x_hat)
            got = _as_number(got)
            mse_value = ((x - x_hat) ** 2).mean().item()
            if math.isclose(got, expected + 20 * math.log10(255), abs_tol=0.01):
                raise _Wrong("it is 48.13 dB too high: the images are in [0, 1], so the peak "
                             "value is 1, not 255.")
            if math.isclose(got, expected / 2, abs_tol=0.01):
                raise _Wrong("it is half the right value: PSNR = 10 * log10(1 / MSE), or "
                             "20 * log10(1 / RMSE) with the square root.")
            if math.isclose(got, -expected, abs_tol=0.01):
                raise _Wrong(f"it is negative ({got:.2f} dB): the PSNR is 10 * log10(1 / MSE), "
                             "and an MSE below 1 gives a positive number of dB.")
            if math.isclose(got, -10 * math.log(mse_value), abs_tol=0.01):
                raise _Wrong("that is the natural log: PSNR uses log base 10 (math.log10).")
            if not math.isclose(got, expected, abs_tol=1e-3):
                raise _Wrong(f"for an image with MSE {mse_value:.6f} the PSNR should be "
                             f"{expected:.3f} dB, got {got:.3f}.")
        return len(cases)

    return _run("my_psnr", check)


@_prints_verdict
def check_noise_psnr(noise_psnr: Callable[[float], float]) -> bool:
    """noise_psnr(sigma) -> the PSNR (dB) that adding Gaussian noise of standard deviation
    sigma to an image in [0, 1] gives, predicted without any image: the MSE of the noise is
    its variance sigma^2, so PSNR = 10 log10(1 / sigma^2) = -20 log10(sigma)."""

    def check() -> int:
        sigmas = [0.01, 0.05, 0.1, 0.3, 1.0]
        for sigma in sigmas:
            expected = -20 * math.log10(sigma)
            got = _as_number(_call(noise_psnr, sigma))
            if sigma != 1.0 and math.isclose(got, -10 * math.log10(sigma), abs_tol=0.01):
                raise _Wrong(f"for sigma = {sigma} you give {got:.2f} dB, half the right "
                             "value: the MSE of the noise is its variance, sigma squared, "
                             "not sigma.")
            if math.isclose(got, expected + 20 * math.log10(255), abs_tol=0.01):
                raise _Wrong("it is 48.13 dB too high: the noise's sigma is in [0, 1] units, "
                             "so the peak is 1, not 255.")
            if sigma != 1.0 and math.isclose(got, -expected, abs_tol=0.01):
                raise _Wrong("the sign is wrong: more noise must give a lower PSNR.")
            if not math.isclose(got, expected, abs_tol=1e-3):
                raise _Wrong(f"for sigma = {sigma} the PSNR should be {expected:.3f} dB, got "
                             f"{got:.3f}. Hint: what is the mean of noise^2?")
        return len(sigmas)

    return _run("noise_psnr", check)


# --- 02 the convolutional encoder ------------------------------------------------------


@_prints_verdict
def check_conv_output_size(conv_output_size: Callable[[int, int, int, int], int]) -> bool:
    """conv_output_size(size, kernel, stride, padding) -> output size of nn.Conv2d."""

    def check() -> int:
        cases = [(32, 5, 2, 2), (33, 5, 2, 2), (28, 3, 1, 1), (28, 3, 1, 0), (7, 3, 2, 0),
                 (64, 4, 2, 1), (1, 5, 2, 2), (100, 7, 3, 3)]
        for size, kernel, stride, padding in cases:
            conv = nn.Conv2d(1, 1, kernel, stride=stride, padding=padding)
            expected = conv(torch.zeros(1, 1, size, size)).shape[-1]  # ask PyTorch itself
            got = _one_number(_call(conv_output_size, size, kernel, stride, padding))
            if got != expected:
                call = f"conv_output_size({size}, kernel={kernel}, stride={stride}, " \
                       f"padding={padding})"
                hint = "Hint: (size + 2 * padding - kernel) // stride + 1."
                if isinstance(got, float):
                    hint = "Sizes are whole numbers: use integer division // (it rounds down)."
                raise _Wrong(f"{call} returned {got!r}; PyTorch gives {expected}. {hint}")
        return len(cases)

    return _run("conv_output_size", check)


@_prints_verdict
def check_encoder_block(encoder_block: Callable[[int, int], nn.Module]) -> bool:
    """encoder_block(in_channels, out_channels) -> module halving H and W (rounding up):
    one 5x5 nn.Conv2d of stride 2, then a non-linearity."""

    def check() -> int:
        sizes = [(32, 32), (33, 20), (7, 9)]
        for in_channels, out_channels in [(3, 16), (16, 8)]:
            block = _block(encoder_block, in_channels, out_channels, nn.Conv2d, "convolution")
            for h, w in sizes:
                x = torch.randn(2, in_channels, h, w)
                out = _block_output(block, x)
                expected = (2, out_channels, math.ceil(h / 2), math.ceil(w / 2))
                if tuple(out.shape) != expected:
                    raise _Wrong(f"for input {tuple(x.shape)} the output should be {expected}, "
                                 f"got {tuple(out.shape)}. Hint: a 5x5 kernel with stride=2 "
                                 "and padding=2 halves the size, rounding up.")
            _check_block_order(block, nn.Conv2d, in_channels, "convolution")
        return 2 * len(sizes)

    return _run("encoder_block", check)


@_prints_verdict
def check_latent_values(latent_values: Callable[[int, int, int, int], int]) -> bool:
    """latent_values(height, width, latent_channels, downsamplings) -> numbers in y."""

    def check() -> int:
        cases = [(512, 768, 16, 3), (64, 64, 8, 2), (100, 37, 4, 3), (9, 9, 16, 3),
                 (480, 640, 32, 4)]
        for h, w, c, k in cases:
            expected = num_latent_values(h, w, AutoencoderConfig(c, k))
            got = _one_number(_call(latent_values, h, w, c, k))
            if got != expected:
                hint = ""
                if got == c * (h // 2**k) * (w // 2**k):
                    hint = (" Sizes that are not a multiple of 2^k round up (the image is "
                            "padded), so use math.ceil.")
                elif got == expected // c and c > 1:
                    hint = f" That is one channel's positions: the latent has {c} channels."
                elif got == c * math.ceil(h / (2 * k)) * math.ceil(w / (2 * k)):
                    hint = " Each downsampling halves the size, so k of them divide by 2**k."
                raise _Wrong(f"latent_values({h}, {w}, {c}, {k}) returned {got!r}, "
                             f"expected {expected}.{hint}")
        return len(cases)

    return _run("latent_values", check)


# --- 03 the transposed-convolution decoder ---------------------------------------------


@_prints_verdict
def check_conv_transpose_output_size(fn: Callable[[int, int, int, int, int], int]) -> bool:
    """conv_transpose_output_size(size, kernel, stride, padding, output_padding)."""

    def check() -> int:
        cases = [(16, 5, 2, 2, 1), (16, 5, 2, 2, 0), (8, 4, 2, 1, 0), (10, 3, 1, 1, 0),
                 (1, 5, 2, 2, 1), (7, 3, 3, 0, 2)]
        for size, kernel, stride, padding, output_padding in cases:
            deconv = nn.ConvTranspose2d(1, 1, kernel, stride=stride, padding=padding,
                                        output_padding=output_padding)
            expected = deconv(torch.zeros(1, 1, size, size)).shape[-1]
            got = _one_number(_call(fn, size, kernel, stride, padding, output_padding))
            if got != expected:
                hint = "Hint: (size - 1) * stride - 2 * padding + kernel + output_padding."
                if got == expected - output_padding:
                    hint = "You forgot to add output_padding at the end."
                raise _Wrong(f"conv_transpose_output_size({size}, {kernel}, {stride}, "
                             f"{padding}, {output_padding}) returned {got!r}; PyTorch gives "
                             f"{expected}. {hint}")
        return len(cases)

    return _run("conv_transpose_output_size", check)


@_prints_verdict
def check_decoder_block(decoder_block: Callable[[int, int], nn.Module]) -> bool:
    """decoder_block(in_channels, out_channels) -> module exactly doubling H and W:
    one 5x5 nn.ConvTranspose2d of stride 2, then a non-linearity."""

    def check() -> int:
        sizes = [(4, 4), (5, 3), (1, 1)]
        for in_channels, out_channels in [(16, 32), (8, 3)]:
            block = _block(decoder_block, in_channels, out_channels, nn.ConvTranspose2d,
                           "transposed convolution")
            for h, w in sizes:
                y = torch.randn(2, in_channels, h, w)
                out = _block_output(block, y)
                expected = (2, out_channels, 2 * h, 2 * w)
                if tuple(out.shape) == (2, out_channels, 2 * h - 1, 2 * w - 1):
                    raise _Wrong(f"the output is {2 * h - 1}x{2 * w - 1}, one pixel short of "
                                 f"{2 * h}x{2 * w} (height x width): add output_padding=1.")
                if tuple(out.shape) != expected:
                    raise _Wrong(f"for input {tuple(y.shape)} the output should be "
                                 f"{expected}, got {tuple(out.shape)}.")
            _check_block_order(block, nn.ConvTranspose2d, in_channels, "transposed convolution")
        return 2 * len(sizes)

    return _run("decoder_block", check)


_RESAMPLERS = (nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d,
               nn.LPPool2d, nn.Upsample, nn.PixelShuffle, nn.PixelUnshuffle)
_DROPOUTS = (nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d, nn.AlphaDropout,
             nn.FeatureAlphaDropout)


def _block(make_block: Callable, in_channels: int, out_channels: int, kind: type,
           name: str) -> nn.Module:
    """Build the learner's block and look at its layers before running it: exactly one
    5x5 layer of `kind`, which does the resampling itself (stride 2, no pooling or
    upsampling beside it)."""
    torch.manual_seed(0)
    block = _call(make_block, in_channels, out_channels)
    if not isinstance(block, nn.Module):
        raise _Wrong(f"it should return an nn.Module, got {type(block).__name__}")
    layers = [m for m in block.modules() if isinstance(m, kind)]
    if not layers:
        found = sorted({type(m).__name__ for m in block.modules()} - {type(block).__name__})
        inside = f" (it holds {', '.join(found)})" if found else ""
        verb = "downsample" if kind is nn.Conv2d else "upsample"
        raise _Wrong(f"use an nn.{kind.__name__} to {verb}{inside}.")
    if len(layers) != 1:
        raise _Wrong(f"use exactly one {kind.__name__} in the block, found {len(layers)}.")
    layer = layers[0]
    if tuple(layer.kernel_size) != (5, 5):
        raise _Wrong(f"the {name}'s kernel is {layer.kernel_size[0]}x{layer.kernel_size[1]}: "
                     "the kit's blocks use 5x5 kernels (kernel_size=5), which see more of "
                     "the image.")
    resamplers = [type(m).__name__ for m in block.modules() if isinstance(m, _RESAMPLERS)]
    if tuple(layer.stride) != (2, 2):
        stride = "x".join(str(s) for s in layer.stride)
        if resamplers and kind is nn.Conv2d:
            raise _Wrong(f"the convolution has stride {stride} and {resamplers[0]} does the "
                         "halving: the convolution computes a value at every pixel, then the "
                         "pooling keeps one per 2x2 block, four times the work for the same "
                         "size. The exercise asks the convolution itself to step 2 pixels at "
                         "a time: stride=2 (with padding=2) halves the size, rounding up.")
        if resamplers:
            raise _Wrong(f"the transposed convolution has stride {stride} and {resamplers[0]} "
                         "does the doubling. Resizing then convolving is a real alternative "
                         "(Odena et al. 2016 use it against checkerboard artefacts), but this "
                         "exercise asks the transposed convolution to double the size itself: "
                         "stride=2, with padding=2 and output_padding=1.")
        verb = "halves the size, rounding up" if kind is nn.Conv2d else "doubles the size"
        raise _Wrong(f"the {name} has stride {stride}: stride=2 (with padding=2"
                     f"{'' if kind is nn.Conv2d else ' and output_padding=1'}) {verb}.")
    if resamplers:
        raise _Wrong(f"the {name} already changes the size; the block also holds "
                     f"{resamplers[0]}, which changes it again. Use the {name} alone.")
    return block


def _block_output(block: nn.Module, x: torch.Tensor) -> torch.Tensor:
    out = _call(block, x)
    if not isinstance(out, torch.Tensor):
        raise _Wrong(f"calling the block should give a tensor, got {type(out).__name__}.")
    return out


def _check_block_order(block: nn.Module, kind: type, in_channels: int, name: str) -> None:
    """The block's input reaches the layer of `kind` unchanged (nothing before it), and
    what comes after it bends (the block is not linear, in eval mode too)."""
    layer = next(m for m in block.modules() if isinstance(m, kind))
    if isinstance(block, nn.Sequential) and len(block) and \
            not isinstance(block[0], kind | nn.Identity):
        raise _Wrong(f"the block starts with {type(block[0]).__name__}: put the {name} "
                     "first and the non-linearity after it.")
    seen = {}

    def remember(_module, inputs, output):
        seen.setdefault("input", inputs[0].detach() if inputs else None)

    g = torch.Generator().manual_seed(0)
    x, x2 = torch.randn(2, 1, in_channels, 8, 8, generator=g)
    zeros = torch.zeros_like(x)
    was_training = block.training
    block.eval()  # as the trained block will be used: dropout off, batch norm fixed
    hook = layer.register_forward_hook(remember)
    try:
        with torch.no_grad():
            out = _block_output(block, x)
            hook.remove()
            if "input" not in seen:
                raise _Wrong(f"the block's forward never calls its nn.{kind.__name__}.")
            before = seen["input"]
            if not (isinstance(before, torch.Tensor) and before.shape == x.shape
                    and torch.allclose(before, x, atol=1e-6)):
                raise _Wrong(f"something changes x before the {name} sees it (a "
                             f"non-linearity before the {name}?): put the {name} first, then "
                             "the non-linearity after it.")
            # an affine block f has f(x + x2) - f(0) = (f(x) - f(0)) + (f(x2) - f(0))
            at_zero = _block_output(block, zeros)
            both = _block_output(block, x + x2) - at_zero
            apart = (out - at_zero) + (_block_output(block, x2) - at_zero)
    finally:
        hook.remove()
        block.train(was_training)
    if both.shape == apart.shape and torch.allclose(both, apart, atol=1e-4):
        dropouts = [type(m).__name__ for m in block.modules() if isinstance(m, _DROPOUTS)]
        if dropouts:
            raise _Wrong(f"{dropouts[0]} is not a non-linearity: while training it zeroes "
                         "values at random and scales up the others, and in eval mode it does "
                         f"nothing, so the trained block is linear. After the {name} put a "
                         "function that bends, such as nn.ReLU().")
        raise _Wrong(f"the block is linear: add a non-linearity such as nn.ReLU() after the "
                     f"{name}.")


@_prints_verdict
def check_doubling_padding(doubling_padding: Callable[[int], tuple[int, int]]) -> bool:
    """doubling_padding(kernel) -> (padding, output_padding) with which a stride-2
    nn.ConvTranspose2d of that kernel size turns every h into exactly 2h (the output-size
    formula used backwards: (h - 1) * 2 - 2 * padding + kernel + output_padding = 2h)."""

    def check() -> int:
        kernels = [3, 4, 5, 6, 7]
        for kernel in kernels:
            answer = _call(doubling_padding, kernel)
            values = list(answer) if isinstance(answer, tuple | list) else None
            if values is None or len(values) != 2:
                raise _Wrong(f"it should return two integers (padding, output_padding), got "
                             f"{answer!r}")
            if not all(isinstance(v, int | np.integer) and not isinstance(v, bool)
                       for v in values):
                raise _Wrong(f"for kernel {kernel} you give {tuple(values)!r}: a layer's "
                             "padding counts whole pixels, so both must be integers (// "
                             "divides to an integer, / to a float).")
            padding, output_padding = (int(v) for v in values)
            if padding < 0 or output_padding < 0:
                raise _Wrong(f"for kernel {kernel} you give padding {padding} and "
                             f"output_padding {output_padding}: both must be >= 0.")
            if output_padding >= 2:
                raise _Wrong(f"for kernel {kernel} output_padding is {output_padding}: with "
                             "stride 2 it must be 0 or 1 (it only picks between the two sizes "
                             "a stride-2 convolution maps to the same one). Use more padding.")
            layer = nn.ConvTranspose2d(1, 1, kernel, stride=2, padding=padding,
                                       output_padding=output_padding)
            for h in (1, 4, 7):
                try:
                    out = layer(torch.zeros(1, 1, h, h)).shape[-1]
                except RuntimeError:
                    out = None
                if out != 2 * h:
                    made = "an error" if out is None else f"{out} x {out}"
                    raise _Wrong(f"kernel {kernel}, padding {padding}, output_padding "
                                 f"{output_padding} turns {h} x {h} into {made}, not "
                                 f"{2 * h} x {2 * h}. Write Exercise 1's output size for "
                                 "stride 2 and this kernel, set it equal to 2h and solve: what "
                                 "is left once the h's cancel must hold for every kernel you "
                                 "are given, odd and even.")
        return len(kernels)

    return _run("doubling_padding", check)


# --- 04 the training loop --------------------------------------------------------------


def _tiny_setup(seed: int = 0):
    torch.manual_seed(seed)
    model = Autoencoder(latent_channels=4, downsamplings=2, hidden_channels=8)
    x = torch.rand(4, 3, 16, 16)
    return model, x


@_prints_verdict
def check_training_step(training_step: Callable) -> bool:
    """training_step(model, x, optimizer) -> loss as a float; one Adam step on the MSE."""

    def check() -> int:
        model, x = _tiny_setup()
        reference = copy.deepcopy(model)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        ref_opt = torch.optim.Adam(reference.parameters(), lr=1e-3)
        for step in range(3):
            before = [p.detach().clone() for p in model.parameters()]
            loss = _call(training_step, model, x, opt)
            ref_loss = nn.functional.mse_loss(reference(x), x)
            ref_opt.zero_grad()
            ref_loss.backward()
            ref_opt.step()
            if isinstance(loss, torch.Tensor):
                if loss.requires_grad:
                    raise _Wrong("return loss.item() (a float), not the tensor: keeping the "
                                 "tensor keeps the whole graph alive in memory.")
                if loss.numel() != 1:
                    raise _Wrong(f"return the loss as one float (loss.item()), got a tensor "
                                 f"of shape {tuple(loss.shape)}.")
                loss = loss.item()
            if not isinstance(loss, float):
                raise _Wrong(f"it should return the loss as a float, got {type(loss).__name__}")
            if all(torch.equal(b, p) for b, p in zip(before, model.parameters())):
                if all(p.grad is None or not p.grad.any() for p in model.parameters()):
                    raise _Wrong("the weights did not change, and no gradient is left: "
                                 "call loss.backward(), then optimizer.step(); "
                                 "optimizer.zero_grad() belongs before backward (between "
                                 "backward and step it wipes the gradients).")
                raise _Wrong("the weights did not change: call optimizer.step() after "
                             "loss.backward().")
            if not math.isclose(loss, ref_loss.item(), rel_tol=1e-4):
                with torch.no_grad():
                    after = nn.functional.mse_loss(reference(x), x).item()
                if math.isclose(loss, after, rel_tol=1e-5):
                    raise _Wrong(f"step {step + 1}: you return {loss:.6f}, the loss after "
                                 "the update (a second forward pass, or two steps in one "
                                 "call?). One call is one step: forward, loss, zero_grad, "
                                 "backward, step, then return that loss "
                                 f"({ref_loss.item():.6f}).")
                raise _Wrong(f"step {step + 1}: the loss should be the MSE between model(x) "
                             f"and x, {ref_loss.item():.6f}, got {loss:.6f}.")
            for p, q in zip(model.parameters(), reference.parameters()):
                if not torch.allclose(p, q, atol=1e-6):
                    hint = "Did you call optimizer.zero_grad()? Without it gradients add up "\
                           "from step to step." if step > 0 else \
                           "The order is: forward, loss, zero_grad, backward, step."
                    raise _Wrong(f"after step {step + 1} the weights differ from a correct "
                                 f"step. {hint}")
        return 3

    return _run("training_step", check)


class _NearlyPerfect(nn.Module):
    """A stand-in model whose reconstructions are close enough to x that rounding them to
    8-bit values changes the PSNR by dB, with a dropout that acts in training mode only.
    Each image's error is proportional to its mean brightness, so images of different
    brightness get different errors (the mean of their PSNRs is not the PSNR of their
    pooled MSE), whether the images come in one batch or one by one."""

    def __init__(self, error_per_brightness: float = 0.015):
        super().__init__()
        self.error_per_brightness = error_per_brightness
        self.dropout = nn.Dropout(0.5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        error = self.error_per_brightness * x.mean(dim=(1, 2, 3), keepdim=True)  # (N, 1, 1, 1)
        return x + self.dropout(error.expand_as(x))  # (N, 3, H, W)


def _validation_cases() -> list[tuple[nn.Module, torch.Tensor]]:
    model, x = _tiny_setup(seed=1)
    g = torch.Generator().manual_seed(2)
    dark = torch.rand(1, 3, 12, 12, generator=g) * 0.2 + 0.1  # mean 0.2: error 0.003
    bright = torch.rand(1, 3, 12, 12, generator=g) * 0.3 + 0.6  # mean 0.75: error 0.011
    photos = quantize_8bit(torch.cat([dark, bright]))  # (2, 3, 12, 12) on 8-bit values
    return [(_NearlyPerfect(), photos), (model, x), (_NearlyPerfect(), photos[:1])]


@_prints_verdict
def check_validation_psnr(validation_psnr: Callable) -> bool:
    """validation_psnr(model, x) -> mean over the images of the PSNR of the 8-bit-rounded
    reconstruction, with the model in eval mode and without gradients."""

    def check() -> int:
        cases = _validation_cases()
        for number, (model, x) in enumerate(cases, 1):
            model.train()
            with torch.no_grad():
                model.eval()
                x_hat = model(x)
                expected = psnr(x, quantize_8bit(x_hat))
                model.train()
            n = x.shape[0]
            pooled_mse = float(((x - quantize_8bit(x_hat)) ** 2).mean())
            pooled_float_mse = float(((x - x_hat) ** 2).mean())
            pooled = -10 * math.log10(pooled_mse)
            modes = []  # (training, gradients on) at each forward pass
            hook = model.register_forward_hook(
                lambda module, *_, modes=modes: modes.append((module.training,
                                                             torch.is_grad_enabled())))
            try:
                got = _call(validation_psnr, model, x)
            finally:
                hook.remove()
            if any(grad for _, grad in modes):
                raise _Wrong("the model ran with gradients on: wrap the work in "
                             "`with torch.no_grad():` (validation needs no backward pass, "
                             "and the graph would cost memory).")
            if isinstance(got, torch.Tensor):
                if got.requires_grad:
                    raise _Wrong("the result carries gradients: wrap the work in "
                                 "`with torch.no_grad():` (validation needs no backward "
                                 "pass).")
                if got.numel() != 1:
                    raise _Wrong(f"return one number, the mean PSNR, got a tensor of shape "
                                 f"{tuple(got.shape)}.")
            got = _as_number(got)
            if any(training for training, _ in modes):
                raise _Wrong("the model ran in training mode: call model.eval() before "
                             "validating (layers such as dropout and batch norm behave "
                             "differently in training; this case's model has a dropout).")
            if not modes:
                raise _Wrong("the model given was never run: compute x_hat = model(x).")
            if math.isclose(got, expected, abs_tol=1e-4):
                continue
            where = f"case {number} ({n} image{'s' if n > 1 else ''})"
            if n > 1 and math.isclose(got, -10 * math.log10(pooled_float_mse), abs_tol=1e-4):
                raise _Wrong(f"{where}: that is the PSNR of the batch's pooled MSE, without "
                             "rounding x_hat to 8-bit values. Round first (quantize_8bit), as "
                             "a saved image would be, and average the PSNRs of the images "
                             "(aecodec.metrics.psnr does both per image).")
            if math.isclose(got, psnr(x, x_hat), abs_tol=1e-4):
                raise _Wrong(f"{where}: round x_hat to 8-bit values first (quantize_8bit), "
                             f"as a saved image would be: {expected:.3f} dB, not {got:.3f}.")
            if n > 1 and math.isclose(got, pooled, abs_tol=1e-4):
                raise _Wrong(f"{where}: that is the PSNR of the batch's pooled MSE; the "
                             "validation PSNR is the mean of the images' PSNRs "
                             f"({expected:.3f} dB), as aecodec.metrics.psnr computes it.")
            raise _Wrong(f"{where}: expected {expected:.3f} dB, got {got:.3f}.")
        return len(cases)

    return _run("validation_psnr", check)


@_prints_verdict
def check_parameter_count(parameter_count: Callable[[int, int, int], int]) -> bool:
    """parameter_count(latent_channels, downsamplings, hidden_channels) -> how many numbers
    training adjusts in an `Autoencoder` (ReLU, 5x5 kernels): every convolution's weights
    (in * out * 5 * 5) and biases (out), encoder and decoder."""

    def check() -> int:
        configs = [(16, 3, 64), (4, 2, 8), (2, 1, 5), (32, 4, 16)]
        for c, k, n in configs:
            model = Autoencoder(c, k, n)
            expected = sum(p.numel() for p in model.parameters())
            got = _as_number(_call(parameter_count, c, k, n))
            weights = sum(p.numel() for name, p in model.named_parameters() if "weight" in name)
            encoder = sum(p.numel() for p in model.encoder.parameters())
            if got == weights:
                raise _Wrong(f"for C={c}, k={k}, N={n} you count {int(got):,}: the weights "
                             "only. Each output channel of a convolution also has a bias.")
            if got == encoder:
                raise _Wrong(f"for C={c}, k={k}, N={n} you count {int(got):,}: the encoder "
                             "only. The decoder is trained too.")
            if got == 2 * encoder:
                raise _Wrong(f"for C={c}, k={k}, N={n} you count {int(got):,}, twice the "
                             "encoder. The decoder has the same weights' count but not the "
                             "same biases: its last layer has 3 outputs, the encoder's C.")
            if got == 4 * expected:
                raise _Wrong(f"for C={c}, k={k}, N={n} you count {int(got):,}: that is the "
                             "bytes they take as float32 (4 each). Count the numbers.")
            if got != expected:
                raise _Wrong(f"for C={c}, k={k}, N={n} there are {expected:,} parameters, "
                             f"you count {int(got):,}. Hint: list the layers' (in, out) "
                             "channels: 3 -> N, N -> N (k - 2 times), N -> C, then back.")
        return len(configs)

    return _run("parameter_count", check)


# --- 05 latent-size trade-offs ---------------------------------------------------------


@_prints_verdict
def check_predicted_ratio(predicted_ratio: Callable[[int, int, int, int], float]) -> bool:
    """predicted_ratio(height, width, latent_channels, downsamplings) -> 8-bit pixel values
    per 8-bit latent value."""

    def check() -> int:
        cases = [(512, 768, 16, 3), (512, 768, 8, 3), (256, 256, 32, 4), (64, 48, 4, 2),
                 (100, 75, 16, 3)]  # height 100, width 75: the latent is 13 x 10, rounded up
        for h, w, c, k in cases:
            expected = compression_ratio(h, w, AutoencoderConfig(c, k))
            no_rounding = 3 * h * w / (c * (h // 2**k) * (w // 2**k))
            got = _call(predicted_ratio, h, w, c, k)
            got = _as_number(got)
            if math.isclose(got, expected / 3, rel_tol=1e-6):
                raise _Wrong("it is 3 times too small: an RGB image has 3 values per pixel.")
            if math.isclose(got, 1 / expected, rel_tol=1e-6):
                raise _Wrong("it is upside down: the ratio is image values / latent values.")
            if math.isclose(got, no_rounding, rel_tol=1e-6) and no_rounding != expected:
                raise _Wrong(f"for an image of height {h} and width {w} the latent is "
                             f"{math.ceil(h / 2**k)} x {math.ceil(w / 2**k)} (height x width): "
                             "its sizes are rounded up (math.ceil), not down.")
            if not math.isclose(got, expected, rel_tol=1e-6):
                raise _Wrong(f"predicted_ratio({h}, {w}, {c}, {k}) returned {got:.3f}, "
                             f"expected {expected:.3f}.")
        return len(cases)

    return _run("predicted_ratio", check)


def _halving_cases(model_big, model_small, x: torch.Tensor) -> list[tuple]:
    """The notebook's pair of models and photo, then small random pairs whose ratio gains
    are 3 and 1.5 (not 2), so that an answer must compute, not remember."""
    cases = [(model_big, model_small, x)]
    for seed, (big_channels, small_channels) in enumerate([(12, 4), (6, 4)]):
        torch.manual_seed(seed)
        big = Autoencoder(big_channels, 2, 8).eval()
        small = Autoencoder(small_channels, 2, 8).eval()
        cases.append((big, small, torch.rand(3, 24, 20)))
    return cases


@_prints_verdict
def check_halving_effect(halving_effect: Callable, model_big, model_small,
                         x: torch.Tensor) -> bool:
    """halving_effect(model_big, model_small, x) -> (ratio_gain, psnr_drop): how many times
    higher the compression ratio of model_small is, and how many dB of PSNR it loses,
    both measured with 8-bit latents (reconstruct_8bit) on image x (3, H, W). Tried on
    the notebook's models and photo, then on two small pairs of random models."""

    def check() -> int:
        cases = _halving_cases(model_big, model_small, x)
        for number, (big, small, image) in enumerate(cases, 1):
            where = "on the notebook's models" if number == 1 else \
                f"on test pair {number - 1} (C = {big.config.latent_channels} and " \
                f"{small.config.latent_channels})"
            batch = image[None]  # (1, 3, H, W)
            with torch.no_grad():
                x_big, _ = reconstruct_8bit(big, batch)
                x_small, _ = reconstruct_8bit(small, batch)
                float_drop = psnr(batch, big(batch)) - psnr(batch, small(batch))
                rounded_drop = (psnr(batch, quantize_8bit(big(batch)))
                                - psnr(batch, quantize_8bit(small(batch))))
            h, w = image.shape[-2:]
            ratio_gain = small.compression_ratio(h, w) / big.compression_ratio(h, w)
            psnr_drop = psnr(batch, x_big) - psnr(batch, x_small)
            got = _call(halving_effect, big, small, image)
            if not isinstance(got, tuple | list) or len(got) != 2:
                raise _Wrong("return a pair: (ratio_gain, psnr_drop).")
            gain, drop = _as_number(got[0]), _as_number(got[1])
            if not math.isclose(gain, ratio_gain, rel_tol=1e-6):
                hint = ""
                if number > 1 and math.isclose(gain, 2.0):
                    hint = (" Halving C doubles the ratio, but these two models' C differ "
                            "by another factor: compute the gain from the models' ratios.")
                elif math.isclose(gain, 1 / ratio_gain, rel_tol=1e-6):
                    hint = " It is upside down: the small model's ratio over the big one's."
                raise _Wrong(f"{where}, ratio_gain should be {ratio_gain:.2f} (small model's "
                             f"ratio / big model's), got {gain:.3f}.{hint}")
            if math.isclose(drop, psnr_drop, abs_tol=1e-5):
                continue
            if psnr_drop and math.isclose(drop, -psnr_drop, abs_tol=1e-5):
                raise _Wrong("psnr_drop has the wrong sign: it is the big model's PSNR minus "
                             "the small model's (positive when quality drops).")
            if math.isclose(drop, float_drop, abs_tol=1e-6) or \
                    math.isclose(drop, rounded_drop, abs_tol=1e-6):
                raise _Wrong(f"{where}, psnr_drop is {drop:.5f} dB, measured with float "
                             f"latents; with 8-bit latents it is {psnr_drop:.5f}. Measure "
                             "with reconstruct_8bit, which stores the latents in 8 bits, as "
                             "the bytes counted in the ratio assume.")
            raise _Wrong(f"{where}, psnr_drop should be {psnr_drop:.5f} dB, got {drop:.5f}. "
                         "Measure both models with reconstruct_8bit, which stores the "
                         "latents in 8 bits.")
        return len(cases)

    return _run("halving_effect", check)


def measured_receptive_field(downsamplings: int, kernel: int) -> int:
    """The receptive field of `downsamplings` stride-2 convolutions of `kernel` x `kernel`,
    measured: the width of the input pixels whose gradient reaches one output value."""
    layers = [nn.Conv2d(1, 1, kernel, stride=2, padding=kernel // 2, bias=False)
              for _ in range(downsamplings)]
    for layer in layers:
        nn.init.constant_(layer.weight, 1.0)  # positive weights: no gradient cancels out
    size = 8 * 2**downsamplings * kernel
    x = torch.zeros(1, 1, size, size, requires_grad=True)
    y = nn.Sequential(*layers)(x)  # (1, 1, s, s)
    y[0, 0, y.shape[-2] // 2, y.shape[-1] // 2].backward()
    reached = x.grad[0, 0].abs().sum(dim=0).nonzero().flatten()
    return int(reached.max() - reached.min() + 1)


@_prints_verdict
def check_receptive_field(receptive_field: Callable[[int, int], int]) -> bool:
    """receptive_field(downsamplings, kernel) -> how many pixels wide the patch of x is that
    one value of y depends on, for k stride-2 convolutions of K x K: each layer adds
    (K - 1) of its own steps, and a step of layer i is 2^(i-1) pixels of x, so
    1 + (K - 1) * (2^k - 1). Checked against a gradient probe."""

    def check() -> int:
        cases = [(1, 5), (2, 5), (3, 5), (4, 5), (3, 3), (2, 7)]
        for k, kernel in cases:
            expected = measured_receptive_field(k, kernel)
            got = _as_number(_call(receptive_field, k, kernel))
            if got != expected and got == 1 + (kernel - 1) * k:
                raise _Wrong(f"for k={k}, K={kernel} you give {int(got)}: each layer adding "
                             f"K - 1 = {kernel - 1} pixels is true only of the first. After "
                             "i - 1 stride-2 layers one step of the next layer spans 2^(i-1) "
                             "pixels of x.")
            if got != expected and got == kernel * k:
                raise _Wrong(f"for k={k}, K={kernel} you give {int(got)} = K * k: the "
                             "kernels overlap, and later ones step over more pixels.")
            if got != expected:
                raise _Wrong(f"for k={k}, K={kernel} the gradient probe reaches {expected} "
                             f"pixels, you give {int(got)}.")
        return len(cases)

    return _run("receptive_field", check)


# --- 06 from latents to bytes ----------------------------------------------------------


@_prints_verdict
def check_entropy_bits(entropy_bits: Callable[[torch.Tensor], float]) -> bool:
    """entropy_bits(values) -> bits per value of integer `values` by their own histogram:
    -sum p log2 p over the distinct values."""

    def check() -> int:
        cases = [torch.tensor([3, 3, 3, 3]), torch.tensor([0, 1]), torch.tensor([0, 1, 2, 3]),
                 torch.tensor([5, 5, 5, -2]), torch.tensor([0, 0, 1, 2, 2, 2, 2, 7])]
        for values in cases:
            _, counts = torch.unique(values, return_counts=True)
            p = counts.double() / counts.sum()
            expected = float(-(p * torch.log2(p)).sum()) + 0.0  # + 0.0: no "-0.0000"
            got = _call(entropy_bits, values.clone())
            got = _as_number(got)
            shown = values.tolist()
            if math.isclose(got, expected * len(values), abs_tol=1e-6) and len(values) > 1 \
                    and expected > 0:
                raise _Wrong(f"for {shown} that is the total; return bits *per value* "
                             f"({expected:.4f}).")
            if expected > 0 and math.isclose(got, -expected, abs_tol=1e-6):
                raise _Wrong(f"for {shown} you give {got:.4f}, negative: log2 p <= 0, so the "
                             "entropy is -sum p log2 p.")
            if expected > 0 and math.isclose(got, expected * math.log(2), abs_tol=1e-6):
                raise _Wrong("that is in nats (natural log): use log base 2 for bits.")
            if not math.isclose(got, expected, abs_tol=1e-6):
                raise _Wrong(f"for {shown} expected {expected:.4f} bits per value, got "
                             f"{got:.4f}. Hint: probabilities from torch.unique(values, "
                             "return_counts=True).")
        return len(cases)

    return _run("entropy_bits", check)


@_prints_verdict
def check_measured_bpp(measured_bpp: Callable[[bytes, int, int], float]) -> bool:
    """measured_bpp(data, height, width) -> 8 * len(data) / (height * width)."""

    def check() -> int:
        cases = [(b"x" * 1000, 100, 80), (b"\0" * 3, 1, 1), (bytes(49152), 512, 768)]
        for data, height, width in cases:
            expected = 8 * len(data) / (height * width)
            got = _as_number(_call(measured_bpp, data, height, width))
            if math.isclose(got, expected / 8, rel_tol=1e-9):
                raise _Wrong("that is bytes per pixel: a byte has 8 bits.")
            if math.isclose(got, expected / 3, rel_tol=1e-9):
                raise _Wrong("divide by the number of pixels (height * width), not by the "
                             "number of colour values.")
            if not math.isclose(got, expected, rel_tol=1e-9):
                raise _Wrong(f"{len(data)} bytes for an image of height {height} and width "
                             f"{width} is {expected:.4f} bpp, got {got:.4f}.")
        return len(cases)

    return _run("measured_bpp", check)


@_prints_verdict
def check_rate_from_likelihoods(rate_from_likelihoods: Callable[[torch.Tensor, int, int],
                                                                float]) -> bool:
    """rate_from_likelihoods(likelihoods, height, width) -> the bits per pixel an ideal
    entropy coder spends on values with these probabilities: -sum(log2 P) / (H * W)."""

    def check() -> int:
        g = torch.Generator().manual_seed(3)
        cases = [((1, 8, 4, 6), 32, 48), ((1, 2, 3, 3), 24, 24), ((2, 4, 2, 2), 16, 16)]
        for shape, height, width in cases:
            likelihoods = torch.rand(shape, generator=g).clamp_min(1e-3)
            bits = float(-torch.log2(likelihoods).sum())
            expected = bits / (height * width)
            got = _as_number(_call(rate_from_likelihoods, likelihoods, height, width))
            if math.isclose(got, expected * math.log(2), rel_tol=1e-4):
                raise _Wrong("that is in nats (natural log): bits need log base 2 "
                             "(torch.log2).")
            if math.isclose(got, -expected, rel_tol=1e-4):
                raise _Wrong("it is negative: log2 of a probability is <= 0, so the bits are "
                             "-log2 P.")
            if math.isclose(got, bits / likelihoods.numel(), rel_tol=1e-4):
                raise _Wrong("that is bits per latent value: bpp divides by the image's "
                             "pixels, height * width.")
            if math.isclose(got, bits, rel_tol=1e-4):
                raise _Wrong("that is the total bits: divide by height * width for bpp.")
            if math.isclose(got, expected / 3, rel_tol=1e-4):
                raise _Wrong("that is bits per colour value: bpp divides by the pixels, "
                             "height * width, not by 3 * height * width.")
            if not math.isclose(got, expected, rel_tol=1e-4):
                raise _Wrong(f"for likelihoods of shape {shape} and an image of height "
                             f"{height} and width {width} the rate is {expected:.4f} bpp, got "
                             f"{got:.4f}.")
        return len(cases)

    return _run("rate_from_likelihoods", check)


# --- 07 rate-distortion training -------------------------------------------------------


@_prints_verdict
def check_rd_loss(rd_loss: Callable[[float, float, float], float]) -> bool:
    """rd_loss(mse, bpp, lmbda) -> lmbda * 255^2 * mse + bpp, as `aecodec.losses.rd_loss`."""

    def check() -> int:
        cases = [(0.001, 0.5, 0.01), (0.0004, 1.2, 0.0035), (0.01, 0.1, 0.025), (0.0, 2.0, 0.1)]
        for mse_value, rate, lmbda in cases:
            expected = losses.rd_loss(mse_value, rate, lmbda)
            got = _as_number(_call(rd_loss, mse_value, rate, lmbda))
            if math.isclose(got, lmbda * mse_value + rate, rel_tol=1e-9) and mse_value:
                raise _Wrong("the MSE of images in [0, 1] is tiny: scale it by 255^2 (8-bit "
                             "units) before weighting it with lambda.")
            if math.isclose(got, mse_value + lmbda * rate, rel_tol=1e-9):
                raise _Wrong("lambda weights the distortion (the MSE term), not the rate.")
            if not math.isclose(got, expected, rel_tol=1e-9):
                raise _Wrong(f"rd_loss({mse_value}, {rate}, {lmbda}) should be {expected:.4f}, "
                             f"got {got:.4f}.")
        return len(cases)

    return _run("rd_loss", check)


@_prints_verdict
def check_pick_lambda(pick_lambda: Callable[[list[dict], float], float]) -> bool:
    """pick_lambda(points, max_bpp) -> the lambda of the best-PSNR point with bpp <= max_bpp
    (points: dicts with "lmbda", "bpp", "psnr", in any order), or None if none fits."""

    def check() -> int:
        family = [dict(lmbda=0.0035, bpp=0.21, psnr=27.1), dict(lmbda=0.0067, bpp=0.33, psnr=28.4),
                  dict(lmbda=0.013, bpp=0.52, psnr=29.8), dict(lmbda=0.025, bpp=0.80, psnr=31.0)]
        # the same kind of list, out of order, with a model that trained badly: more bits,
        # less PSNR than its neighbour (a point below the curve)
        mixed = [dict(lmbda=0.02, bpp=0.61, psnr=28.9), dict(lmbda=0.0067, bpp=0.33, psnr=28.4),
                 dict(lmbda=0.04, bpp=1.10, psnr=32.2), dict(lmbda=0.013, bpp=0.52, psnr=29.8),
                 dict(lmbda=0.0035, bpp=0.21, psnr=27.1)]
        cases = [(family, 0.5, 0.0067), (family, 0.52, 0.013), (family, 10.0, 0.025),
                 (family, 0.2, None), (family, 0.3, 0.0035), (mixed, 0.7, 0.013),
                 (mixed, 0.4, 0.0067), (mixed, 2.0, 0.04), (mixed, 0.1, None)]
        for points, max_bpp, expected in cases:
            got = _call(pick_lambda, [dict(p) for p in points], max_bpp)
            if got is not None and not isinstance(got, dict):
                got = _one_number(got)
                got = float(got) if isinstance(got, torch.Tensor | np.ndarray) else got
            if got == expected and (expected is None) == (got is None):
                continue
            fitting = [p for p in points if p["bpp"] <= max_bpp]
            shown = ", ".join(f"({p['bpp']} bpp, {p['psnr']} dB)" for p in points)
            where = f"with max_bpp={max_bpp} and the points {shown}"
            hint = ""
            if expected is None:
                hint = " Return None when no point fits."
            elif isinstance(got, dict):
                hint = " Return the point's lambda, p[\"lmbda\"], not the whole point."
            elif got is None:
                hint = " Some points fit (bpp <= max_bpp): return the best one's lambda."
            elif fitting and got == max(fitting, key=lambda p: p["bpp"])["lmbda"]:
                hint = (" That is the point with the most bits that fits, but more bits do "
                        "not always buy more PSNR (a model can train badly): take the "
                        "highest PSNR among the points that fit.")
            elif (strict := [p for p in points if p["bpp"] < max_bpp]) and \
                    got == max(strict, key=lambda p: p["psnr"])["lmbda"]:
                hint = (f" A point of exactly {max_bpp} bpp fits too: \"at most\" is <=, "
                        "not <.")
            elif any(p["lmbda"] == got and p["bpp"] > max_bpp for p in points):
                hint = f" That point needs more than {max_bpp} bpp: it does not fit."
            elif fitting:
                hint = " Among the points that fit, take the one with the highest PSNR."
            raise _Wrong(f"{where}, expected lambda {expected}, got {got!r}.{hint}")
        return len(cases)

    return _run("pick_lambda", check)


def _noise_of(noise_quantize: Callable, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(the output, the noise it adds to y, detached), after checking the output's type."""
    out = _call(noise_quantize, y)
    if not isinstance(out, torch.Tensor) or out.shape != y.shape:
        raise _Wrong(f"it should return a tensor of y's shape {tuple(y.shape)}, got "
                     f"{tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__}")
    return out, (out - y).detach().double()


def _correlation(a: torch.Tensor, b: torch.Tensor) -> float:
    a, b = a - a.mean(), b - b.mean()
    scale = float(a.norm() * b.norm())
    return float((a * b).sum()) / scale if scale else 0.0


@_prints_verdict
def check_noise_quantize(noise_quantize: Callable[[torch.Tensor], torch.Tensor]) -> bool:
    """noise_quantize(y) -> y + u, u uniform in [-1/2, 1/2), drawn anew for every value at
    every call, independently of y: the training stand-in for rounding, whose error it
    imitates and whose gradient it keeps."""

    def check() -> int:
        torch.manual_seed(0)
        y = (torch.randn(100_000) * 3).requires_grad_(True)
        out, error = _noise_of(noise_quantize, y)
        rounding_error = (torch.round(y) - y).detach().double()
        if torch.equal(out.detach(), torch.round(y.detach())):
            raise _Wrong("that is rounding: its gradient is 0 almost everywhere, so the "
                         "encoder would learn nothing from the rate. Add noise instead.")
        if float(error.std()) < 1e-3:
            raise _Wrong(f"every value gets the same noise ({float(error.mean()):.3f}): draw "
                         "one number per value, of y's shape (torch.rand_like(y)).")
        if abs(float(error.mean())) > 0.02:
            raise _Wrong(f"the noise averages {float(error.mean()):.2f}, not 0: "
                         "torch.rand_like gives [0, 1); subtract 0.5.")
        if error.abs().max() > 0.5 + 1e-6:
            raise _Wrong(f"the noise reaches {error.abs().max():.2f}: it must stay within "
                         "+-1/2, like a rounding error (torch.rand_like(y) - 0.5).")
        if _correlation(error, rounding_error) > 0.5:
            raise _Wrong("the output is (nearly) round(y): the noise is y's own rounding error "
                         "round(y) - y, which depends on y. A straight-through trick keeps "
                         "the gradient, but then training sees the rounded values and the "
                         "rate is counted at the integers only. Add noise drawn independently "
                         "of y: y + (torch.rand_like(y) - 0.5).")
        _, flat = _noise_of(noise_quantize, torch.full((100_000,), 0.3))
        if float(flat.std()) < 0.5 * float(error.std()):
            raise _Wrong("for a y whose values are all 0.3 the noise hardly varies "
                         f"(standard deviation {float(flat.std()):.3f}): it depends on y. Draw "
                         "it independently of y: torch.rand_like(y) - 0.5.")
        if abs(float(error.std()) - 12 ** -0.5) > 0.01:
            raise _Wrong(f"the noise's standard deviation is {float(error.std()):.3f}; a "
                         f"uniform one on [-1/2, 1/2) has 1/sqrt(12) = {12 ** -0.5:.3f}. Is "
                         "it uniform (rand), not Gaussian (randn)?")
        if out.requires_grad:
            out.sum().backward()
        if y.grad is None or not torch.allclose(y.grad, torch.ones_like(y)):
            raise _Wrong("the gradient of the output with respect to y should be 1 "
                         "everywhere: add noise to y itself, without detaching y.")
        _, again = _noise_of(noise_quantize, y.detach())
        if torch.equal(again, error) or _correlation(again, error) > 0.1:
            raise _Wrong("two calls give the same noise: draw new noise at every call.")
        # the shape of the noise: uniform on [-1/2, 1/2) puts half of it within +-1/4, and
        # its distribution function is u + 1/2 (Kolmogorov-Smirnov distance under 0.01)
        ordered = error.sort().values
        uniform = torch.arange(1, len(ordered) + 1, dtype=torch.float64) / len(ordered) - 0.5
        distance = float((ordered - uniform).abs().max())
        if distance > 0.01:
            within = float((error.abs() < 0.25).double().mean())
            raise _Wrong(f"the noise has the right mean and spread but not the right shape: "
                         f"{within:.0%} of it lies within +-1/4, where uniform noise on "
                         "[-1/2, 1/2) has 50%. A rounding error is spread evenly over that "
                         "interval: draw with torch.rand_like(y) - 0.5.")
        return 7

    return _run("noise_quantize", check)


# --- 08 side information: the hyperprior -----------------------------------------------
# (third edition, issue 23: notebook 08's exercises are gaussian_pmf, cheaper_rung and
# side_share; check_table_index and check_file_bits stay for teachers who set them.)


def _gaussian_bin_mass(n: torch.Tensor, mean: float, scale: float, low: float = -0.5,
                       high: float = 0.5, variance: bool = False) -> torch.Tensor:
    """The mass of N(mean, scale^2) over [n + low, n + high], in float64 (a reference and
    its plausible mistakes); `variance=True` takes `scale` as a variance."""
    std = math.sqrt(scale) if variance else scale
    normal = torch.distributions.Normal(torch.tensor(mean, dtype=torch.float64),
                                        torch.tensor(std, dtype=torch.float64))
    return normal.cdf(n.double() + high) - normal.cdf(n.double() + low)


@_prints_verdict
def check_gaussian_pmf(gaussian_pmf: Callable[[torch.Tensor, float, float], torch.Tensor]) -> bool:
    """gaussian_pmf(n, mean, scale) -> P(n) = Phi((n + 1/2 - mean) / scale)
    - Phi((n - 1/2 - mean) / scale) for integers n: the Gaussian's mass in n's unit bin."""

    def check() -> int:
        n = torch.arange(-6, 7, dtype=torch.float32)
        cases = [(0.0, 1.0), (0.3, 0.5), (-2.0, 3.0), (1.7, 0.2), (0.0, 4.0)]
        for mean, scale in cases:
            expected = _gaussian_bin_mass(n, mean, scale).float()
            got = _call(gaussian_pmf, n.clone(), mean, scale)
            if not isinstance(got, torch.Tensor) or got.shape != n.shape:
                raise _Wrong("return a tensor of P(n), one value for each n given.")
            got = got.detach().float()

            normal = torch.distributions.Normal(torch.tensor(mean, dtype=torch.float64),
                                                torch.tensor(scale, dtype=torch.float64))
            mistakes = [
                (normal.log_prob(n.double()).exp(),
                 "that is the density at n, not the probability of n: integrate the density "
                 "over n's bin, CDF(n + 1/2) - CDF(n - 1/2)."),
                (_gaussian_bin_mass(n, 0.0, scale),
                 "the Gaussian is centred on its mean: use n - mean."),
                (_gaussian_bin_mass(n, -mean, scale),
                 f"the mean has the wrong sign: with mean {mean} the mass should be centred "
                 f"on {mean}, yours is centred on {-mean}. Use (n - mean), not (n + mean)."),
                (_gaussian_bin_mass(n, mean, scale**2),
                 "the Gaussian came out as wide as scale^2: the scale is the standard "
                 "deviation, and torch's Normal(mean, scale) takes it as it is."),
                (_gaussian_bin_mass(n, mean, scale, variance=True),
                 "the Gaussian came out as wide as sqrt(scale): the scale is already the "
                 "standard deviation, not the variance; do not take its square root."),
                (_gaussian_bin_mass(n, mean, scale, 0.0, 1.0),
                 "that is the mass over [n, n + 1]: n's bin is centred on n, "
                 "[n - 1/2, n + 1/2]."),
                (_gaussian_bin_mass(n, mean, scale, -1.0, 0.0),
                 "that is the mass over [n - 1, n]: n's bin is centred on n, "
                 "[n - 1/2, n + 1/2]."),
                (_gaussian_bin_mass(n, mean, scale, -1.0, 1.0),
                 "that is the mass over [n - 1, n + 1], a bin two wide: neighbouring bins "
                 "overlap and the probabilities add up to about 2. Use n +- 1/2."),
                (normal.cdf(n.double() + 0.5),
                 "that is CDF(n + 1/2) alone, the mass of everything up to n's bin: subtract "
                 "CDF(n - 1/2) to keep n's bin only."),
            ]
            exact = _gaussian_bin_mass(n, mean, scale)
            mistakes.append((exact / exact.sum(),
                             "you normalised over the n given: P(n) is the Gaussian's own mass "
                             "in n's bin, whatever other integers are asked about."))
            for other, why in mistakes:  # a mistake that, here, gives the right P(n) is none
                if (torch.allclose(got, other.float(), atol=1e-6)
                        and not torch.allclose(other.float(), expected, atol=1e-5)):
                    raise _Wrong(why)
            if not torch.allclose(got, expected, atol=1e-5):
                worst = int((got - expected).abs().argmax())
                raise _Wrong(f"with mean {mean} and scale {scale}: the largest error is at "
                             f"n = {int(n[worst])}, where P(n) should be "
                             f"{expected[worst].item():.5f}, got {got[worst].item():.5f} "
                             f"(P(0) should be {expected[6].item():.5f}, got "
                             f"{got[6].item():.5f}). Compare your bin edges and the mean's "
                             "sign with CDF(n + 1/2) - CDF(n - 1/2) of N(mean, scale^2).")
            if not math.isclose(float(got.sum()), float(expected.sum()), abs_tol=1e-4):
                raise _Wrong("the probabilities do not add up as the Gaussian's do.")
        return len(cases)

    return _run("gaussian_pmf", check)


def table_cost(scale: float, table_scale: float) -> float:
    """Average bits per value when values of a zero-mean Gaussian of `scale`, rounded to
    integers, are coded with the zero-mean table of `table_scale`: the cross-entropy
    -sum_n P_scale(n) log2 P_table(n)."""
    n = torch.arange(-400, 401, dtype=torch.float64)
    true = _gaussian_bin_mass(n, 0.0, scale)
    table = _gaussian_bin_mass(n, 0.0, table_scale).clamp_min(1e-300)
    return float(-(true * torch.log2(table)).sum())


@_prints_verdict
def check_table_index(table_index: Callable[[float, list[float]], int]) -> bool:
    """table_index(scale, ladder) -> the index of the first ladder scale >= scale (the
    last one if none is), for a ladder sorted from narrow to wide: the kit's convention,
    CompressAI's (the nearest rung would cost a little less; see check_cheaper_rung)."""

    def check() -> int:
        ladder = [0.11, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0]
        cases = [(0.05, 0), (0.11, 0), (0.3, 2), (1.0, 3), (1.01, 4), (7.9, 6), (100.0, 6)]
        for scale, expected in cases:
            got = _call(table_index, scale, list(ladder))
            if isinstance(got, float) and got in ladder:
                raise _Wrong(f"for scale {scale} you returned the rung {got} itself: return "
                             "its index as an int, the position in the ladder.")
            if not isinstance(got, int | np.integer) and not (
                    isinstance(got, torch.Tensor) and got.numel() == 1):
                raise _Wrong(f"return the index as an int, got {type(got).__name__}.")
            got = int(got)
            if got == expected:
                continue
            if got == len(ladder) and expected == len(ladder) - 1:
                raise _Wrong(f"for scale {scale} no rung is as wide, and you returned "
                             f"{got}, one past the last index: return len(ladder) - 1, the "
                             "widest table there is.")
            if got == expected + 1 and ladder[expected] == scale:
                raise _Wrong(f"scale {scale} is exactly a rung, and that rung is at least as "
                             f"wide as itself: compare with >=, not > (you picked "
                             f"{ladder[got]}).")
            if got == expected + 1:
                raise _Wrong(f"for scale {scale} you returned {got}, one past the index of "
                             f"{ladder[expected]} ({expected}): Python counts from 0, so the "
                             "first rung has index 0.")
            if 0 <= got < expected and ladder[got] < scale:
                below, above = table_cost(scale, ladder[got]), table_cost(scale,
                                                                          ladder[expected])
                raise _Wrong(f"for scale {scale} you picked {ladder[got]}, a rung narrower "
                             f"than the value's own Gaussian. That is not worse coding (on "
                             f"average {below:.3f} bits per value under it, {above:.3f} "
                             f"under {ladder[expected]}; the nearest rung, on a log scale, "
                             "is the cheapest), but the kit follows CompressAI's convention: "
                             "the first rung at least as wide. On the kit's ladder the "
                             "convention costs under 0.01 bit per value.")
            raise _Wrong(f"for scale {scale} the first rung at least as wide is "
                         f"{ladder[expected]}, index {expected}; you returned {got}"
                         + (f" ({ladder[got]})" if 0 <= got < len(ladder) else "")
                         + ". Walk the ladder from the narrow end and stop at the first "
                         "rung >= scale.")
        return len(cases)

    return _run("table_index", check)


@_prints_verdict
def check_file_bits(file_bits: Callable[[torch.Tensor, torch.Tensor], float]) -> bool:
    """file_bits(likelihoods_y, likelihoods_z) -> the estimated bits of a hyperprior file's
    two streams: -sum log2 P over y's values plus over z's."""

    def check() -> int:
        g = torch.Generator().manual_seed(0)
        cases = [(torch.rand(1, 4, 6, 6, generator=g).clamp_min(1e-3),
                  torch.rand(1, 2, 2, 2, generator=g).clamp_min(1e-3)),
                 (torch.full((1, 1, 2, 3), 0.5), torch.full((1, 1, 1, 1), 0.25))]
        for likelihoods_y, likelihoods_z in cases:
            y_bits = float(-torch.log2(likelihoods_y).sum())
            z_bits = float(-torch.log2(likelihoods_z).sum())
            got = _as_number(_call(file_bits, likelihoods_y.clone(), likelihoods_z.clone()))
            mean_bits = float(-torch.log2(likelihoods_y).mean() - torch.log2(likelihoods_z)
                              .mean())
            if math.isclose(got, y_bits, rel_tol=1e-5):
                raise _Wrong("the side information z is sent in the file too: add its bits.")
            if math.isclose(got, z_bits, rel_tol=1e-5):
                raise _Wrong("that is z's bits alone: the file holds y's stream too, by far "
                             "the larger one.")
            if math.isclose(got, (y_bits + z_bits) / 8, rel_tol=1e-5):
                raise _Wrong("that is bytes: return bits.")
            if math.isclose(got, (y_bits + z_bits) * math.log(2), rel_tol=1e-5):
                raise _Wrong("that is in nats (natural log): use log base 2 for bits.")
            if math.isclose(got, (y_bits + z_bits) * math.log10(2), rel_tol=1e-5):
                raise _Wrong("that is in log base 10: use log base 2 for bits.")
            if math.isclose(got, mean_bits, rel_tol=1e-5):
                raise _Wrong("that is the mean bits per value: the file's size is the sum "
                             "over every value, .sum(), not .mean().")
            if math.isclose(abs(got), abs(y_bits - z_bits), rel_tol=1e-5):
                raise _Wrong("one stream's bits came out negative: -log2 P is positive for "
                             "both streams, so add y's and z's bits.")
            if math.isclose(got, -(y_bits + z_bits), rel_tol=1e-5):
                raise _Wrong("the bits are negative: a probability's log is negative, and a "
                             "cost is -log2 P.")
            if not math.isclose(got, y_bits + z_bits, rel_tol=1e-5):
                raise _Wrong(f"expected {y_bits + z_bits:.2f} bits ({y_bits:.2f} for y + "
                             f"{z_bits:.2f} for z), got {got:.2f}: neither stream's bits nor "
                             "a simple multiple of them. Sum -log2 of every likelihood of "
                             "both tensors.")
        return len(cases)

    return _run("file_bits", check)


# --- 09 a better encoder at encode time -------------------------------------------------
# (third edition, issue 23: notebook 09's exercises are file_objective, up_share and
# refinement_gain; check_round_up_probability and check_temperature stay for teachers.)


@_prints_verdict
def check_file_objective(file_objective: Callable[[int, float, int, int, float], float]) -> bool:
    """file_objective(num_bytes, mse, height, width, lmbda) -> lambda * 255^2 * MSE + bpp,
    with bpp measured from the file: 8 * num_bytes / (height * width)."""

    def check() -> int:
        cases = [(1000, 0.001, 64, 96, 0.0067), (52_000, 0.0004, 512, 768, 0.013),
                 (300, 0.01, 32, 32, 0.0018)]
        for num_bytes, mse, height, width, lmbda in cases:
            bpp = 8 * num_bytes / (height * width)
            expected = float(losses.rd_loss(mse, bpp, lmbda))
            got = _as_number(_call(file_objective, num_bytes, mse, height, width, lmbda))
            distortion = lmbda * 255**2 * mse
            if math.isclose(got, float(losses.rd_loss(mse, bpp / 8, lmbda)), rel_tol=1e-6):
                raise _Wrong("the rate is in bits per pixel: a byte is 8 bits.")
            if math.isclose(got, 255**2 * mse + lmbda * bpp, rel_tol=1e-6):
                raise _Wrong("lambda weights the distortion (the MSE term), not the rate.")
            if math.isclose(got, lmbda * mse + bpp, rel_tol=1e-6):
                raise _Wrong("the distortion is MSE on the 0-255 scale: lambda * 255^2 * MSE.")
            if math.isclose(got, lmbda * 255 * mse + bpp, rel_tol=1e-6):
                raise _Wrong("you multiplied the MSE by 255: errors scale by 255 from the 0-1 "
                             "to the 0-255 scale, so squared errors scale by 255^2.")
            if math.isclose(got, float(losses.rd_loss(mse, 8 * num_bytes, lmbda)),
                            rel_tol=1e-6):
                raise _Wrong("divide the bits by the number of pixels, height * width.")
            if math.isclose(got, distortion + bpp / 3, rel_tol=1e-6):
                raise _Wrong("you divided the bits by 3 * height * width, the colour values: "
                             "bpp counts bits per pixel, height * width.")
            if math.isclose(got, distortion + 8 * num_bytes // (height * width), rel_tol=1e-6):
                raise _Wrong("integer division (//) dropped the fraction of the bits per "
                             "pixel: use /.")
            if math.isclose(got, distortion, rel_tol=1e-6):
                raise _Wrong("the rate term is missing: add the bpp of the file.")
            if not math.isclose(got, expected, rel_tol=1e-6):
                raise _Wrong(f"{num_bytes} bytes for an image of height {height} and width "
                             f"{width}, MSE {mse}, lambda {lmbda}: expected {expected:.5f} "
                             f"({distortion:.5f} for the distortion + {bpp:.5f} bpp), got "
                             f"{got:.5f}. Compute the two terms apart and compare.")
        return len(cases)

    return _run("file_objective", check)


@_prints_verdict
def check_round_up_probability(round_up_probability: Callable[[torch.Tensor, float],
                                                              torch.Tensor]) -> bool:
    """round_up_probability(frac, tau) -> softmax of the logits (-atanh(frac) / tau,
    -atanh(1 - frac) / tau), the second: the chance of going up to the ceiling."""

    def check() -> int:
        frac = torch.tensor([0.05, 0.2, 0.4, 0.5, 0.6, 0.8, 0.95])
        logit = torch.atanh(frac) - torch.atanh(1 - frac)
        cases = [0.5, 0.2, 0.05]
        for tau in cases:
            expected = refine.round_up_probability(frac, tau)
            got = _call(round_up_probability, frac.clone(), tau)
            if not isinstance(got, torch.Tensor) or got.shape != frac.shape:
                raise _Wrong("return a tensor with one probability per value of frac.")
            got = got.detach().float()
            if torch.allclose(got, expected, atol=1e-4):
                continue
            if torch.allclose(got, 1 - expected, atol=1e-4):
                raise _Wrong("that is the chance of going down: a value near its ceiling "
                             "(frac near 1) should go up.")
            if torch.allclose(got, refine.round_up_probability(frac, 1.0), atol=1e-4):
                raise _Wrong("divide the logits by tau: the temperature sets how sharp the "
                             "choice is.")
            if torch.allclose(got, torch.sigmoid(logit * tau), atol=1e-4):
                raise _Wrong("you multiplied the logits by tau: divide them, so that a small "
                             "tau (cold) makes the choice sharp.")
            if torch.allclose(got, torch.sigmoid((frac - 0.5) / tau), atol=1e-4):
                raise _Wrong("that is a logistic curve in frac itself: the logits are "
                             "-atanh(frac) / tau (down) and -atanh(1 - frac) / tau (up).")
            if torch.allclose(got, frac, atol=1e-4) or torch.allclose(got, 1 - frac, atol=1e-4):
                raise _Wrong("that is linear in frac and ignores tau: the probability comes "
                             "from the logits -atanh(frac) / tau and -atanh(1 - frac) / tau.")
            if math.isclose(float(got.sum()), 1.0, abs_tol=1e-4):
                raise _Wrong("your probabilities add up to 1 across the values of frac: the "
                             "softmax ran over the values, not over the pair (down, up) of "
                             "each value. Stack the two logits and take softmax over that "
                             "new dimension.")
            raise _Wrong(f"with tau = {tau}, frac = {[round(v, 3) for v in frac.tolist()]}: "
                         f"expected {[round(v, 3) for v in expected.tolist()]}, got "
                         f"{[round(v, 3) for v in got.tolist()]}. At frac = 0.5 it should be "
                         "exactly 0.5 for every tau; compare yours there first.")
        return len(cases)

    return _run("round_up_probability", check)


@_prints_verdict
def check_temperature(temperature: Callable[[int, int], float]) -> bool:
    """temperature(step, steps) -> TAU_START * exp(-TAU_DECAY * step / max(steps - 1, 1))
    (a single step, steps = 1, is step 0 at TAU_START)."""

    def check() -> int:
        cases = [(0, 100), (50, 100), (99, 100), (3, 7), (10, 11), (0, 1), (1, 2)]
        for step, steps in cases:
            expected = refine.temperature(step, steps)
            try:
                got = _as_number(_call(temperature, step, steps))
            except _Wrong as e:
                if steps == 1 and "ZeroDivisionError" in str(e):
                    raise _Wrong("with steps = 1 the only step is step 0, and step / (steps "
                                 "- 1) divides by zero: divide by max(steps - 1, 1), as the "
                                 "package does (refine_latents(model, x, 1) must work).") from None
                raise
            if steps == 1 and not math.isfinite(got):
                raise _Wrong("with steps = 1 you return a non-finite temperature: step / "
                             "(steps - 1) is 0 / 0 there; divide by max(steps - 1, 1).")
            if math.isclose(got, expected, rel_tol=1e-6):
                continue
            t = step / max(steps - 1, 1)
            if step and math.isclose(got, refine.TAU_START * (1 - t), rel_tol=1e-6):
                raise _Wrong("that falls along a straight line: the schedule is exponential, "
                             "exp(-TAU_DECAY * t).")
            if step and math.isclose(got, refine.TAU_START * math.exp(-refine.TAU_DECAY * step),
                                     rel_tol=1e-6):
                raise _Wrong("t runs from 0 to 1 over the steps: divide step by steps - 1.")
            if step and math.isclose(got, refine.TAU_START * math.exp(
                    -refine.TAU_DECAY * step / steps), rel_tol=1e-6):
                raise _Wrong(f"at the last step (step {steps - 1} of {steps}) t should reach "
                             "1: you divided by steps, which is one too many, since the steps "
                             "are counted from 0. Divide by steps - 1.")
            if math.isclose(got, math.exp(-refine.TAU_DECAY * t), rel_tol=1e-6):
                raise _Wrong(f"the schedule starts at TAU_START = {refine.TAU_START}, not at "
                             "1: multiply by TAU_START.")
            if step and math.isclose(got, refine.TAU_START * math.exp(refine.TAU_DECAY * t),
                                     rel_tol=1e-6):
                raise _Wrong("your temperature grows: the search starts warm and ends cold, "
                             "exp(-TAU_DECAY * t).")
            raise _Wrong(f"step {step} of {steps}: expected tau = {expected:.5f}, got "
                         f"{got:.5f}. At step 0 it should be TAU_START = {refine.TAU_START}, "
                         f"at the last step TAU_START * exp(-TAU_DECAY) = "
                         f"{refine.temperature(steps - 1, steps):.5f}.")
        return len(cases)

    return _run("temperature", check)


# --- predictions of notebooks 08-09 (third edition, issue 23) ----------------------------
# A prediction exercise: the learner's function returns a commitment (a number or a
# choice), written before the cell that measures; the check is that measuring cell. It
# measures, compares, and says why the two differ (or why they agree).


def _run_prediction(name: str, check: Callable[[], str]) -> bool:
    """Like `_run`, for a prediction: `check` returns the sentence that follows
    "Correct." (what was measured and why), or raises _Wrong."""
    try:
        with torch.random.fork_rng(devices=[]):
            sentence = check()
    except NotImplementedError:
        print(f"{NOT_YET} {name} is not implemented yet. Replace `raise NotImplementedError` "
              "with your prediction, run that cell, then run this check again.")
        return False
    except _Wrong as e:
        print(f"{WRONG} {name}: {_one_line(str(e))}")
        return False
    except Exception as e:  # the learner's result broke the check itself
        print(f"{WRONG} {name}: the check could not use what your code gave back "
              f"({type(e).__name__}: {_one_line(str(e))}). Return the prediction the "
              "exercise asks for.")
        return False
    print(f"{CORRECT} {name}: {_one_line(sentence, 900)}")
    return True


def _choice(value, options: tuple[str, ...]) -> str:
    """The learner's answer as one of `options` (case and spaces ignored), or a plain
    complaint listing them."""
    listed = ", ".join(repr(o) for o in options)
    if not isinstance(value, str):
        raise _Wrong(f"return your prediction as one of the strings {listed}; got "
                     f"{'None' if value is None else type(value).__name__}.")
    answer = " ".join(value.lower().replace("_", " ").split())
    if answer not in options and f"a {answer}" in options:
        answer = f"a {answer}"
    if answer not in options:
        raise _Wrong(f"return one of {listed}; got {value!r}.")
    return answer


@_prints_verdict
def check_cheaper_rung(cheaper_rung: Callable[[], float]) -> bool:
    """cheaper_rung() -> 0.25 or 0.5: the learner's prediction of which coding table costs
    fewer bits, on average, for values of a zero-mean Gaussian of scale 0.3 rounded to
    integers. The check measures both (`table_cost`) and explains."""

    def check() -> str:
        got = _one_number(_call(cheaper_rung))
        got = float(got)
        if got not in (0.25, 0.5):
            raise _Wrong(f"answer 0.25 or 0.5, the two rungs around the scale 0.3; got {got}.")
        narrow, wide, own = table_cost(0.3, 0.25), table_cost(0.3, 0.5), table_cost(0.3, 0.3)
        measured = (f"values of scale 0.3 cost {narrow:.3f} bits each under the 0.25 table, "
                    f"{wide:.3f} under the 0.5 table ({own:.3f} under their own)")
        why = ("0.25 is 1.2 times too narrow, 0.5 is 1.67 times too wide, and what counts is "
               "how far off a table is on a log scale, not on which side. At scale 0.3 "
               "nearly all values are 0, and a narrower table makes 0 cheaper; the tails it "
               "makes dearer are rare.")
        if got == 0.5:
            raise _Wrong(f"measured: {measured}, so the narrower rung is the cheaper one. "
                         + why)
        return f"measured: {measured}. " + why

    return _run_prediction("cheaper_rung", check)


SIDE_SHARE_PHOTOS = ("coffee", "astronaut")


def side_share_of(photo: str, quality: int = 3) -> float:
    """The side information's share of a hyperprior codec's estimated streams on a
    sample photo: z's bits / (y's bits + z's bits)."""
    from aecodec.data import load_sample  # the zoo and the photos only when measuring
    from aecodec.zoo import load_codec

    codec = load_codec(quality, "hyperprior")
    with torch.no_grad():
        _, likelihoods_y, likelihoods_z = codec.forward_with_likelihoods(
            load_sample(photo)[None])
    y_bits = float(-torch.log2(likelihoods_y).sum())
    z_bits = float(-torch.log2(likelihoods_z).sum())
    return z_bits / (y_bits + z_bits)


@_prints_verdict
def check_side_share(side_share: Callable[[], str]) -> bool:
    """side_share() -> "higher", "lower" or "about the same": the learner's prediction of
    z's share of the streams on astronaut against coffee (both with the shipped
    hyperprior codec of quality 3). The check measures both and explains."""

    def check() -> str:
        answer = _choice(_call(side_share), ("higher", "lower", "about the same"))
        reference, other = (side_share_of(photo) for photo in SIDE_SHARE_PHOTOS)
        if abs(other / reference - 1) < 0.1:
            measured = "about the same"
        else:
            measured = "higher" if other > reference else "lower"
        numbers = (f"z takes {other:.1%} of astronaut's streams against {reference:.1%} of "
                   f"coffee's, {measured}")
        why = ("z is a latent of the image too, coded with a factorized prior: where the "
               "photo is flat its values sit near zero and cost little, so the side "
               "information shrinks with the main stream, and here it shrank faster: "
               "astronaut's y costs about as much as coffee's, its z clearly less.")
        if measured != "lower":  # the models changed: say what was measured, no story
            why = "The models or photos changed since this exercise was written."
        if answer != measured:
            guess = {"higher": "a flat photo makes y cheap, so z's share grows",
                     "lower": "z's share falls", "about the same": "the share stays"}[answer]
            raise _Wrong(f"you predicted {answer!r} ({guess}); measured: {numbers}. " + why)
        return f"measured: {numbers}. " + why

    return _run_prediction("side_share", check)


UP_SHARE_SAMPLES = 4000


def measured_up_share(value: float = 2.3, tau: float = 0.5, samples: int = UP_SHARE_SAMPLES,
                      seed: int = 0) -> float:
    """The fraction of `samples` soft roundings of `value` at `tau` that land nearer the
    ceiling than the floor (for two choices, exactly the Gumbel-softmax's hard choice)."""
    torch.manual_seed(seed)
    rounded = refine.soft_round(torch.full((samples,), value), tau)  # (samples,)
    return float((rounded - math.floor(value) > 0.5).float().mean())


@_prints_verdict
def check_up_share(up_share: Callable[[], float]) -> bool:
    """up_share() -> a number in [0, 1]: the learner's prediction of the fraction of soft
    roundings of 2.3 at tau = 0.5 that go up (land nearer 3 than 2). The check draws them
    and explains; within 0.1 of the measured fraction counts as right."""

    def check() -> str:
        got = _as_number(_call(up_share))
        if got > 1 and got <= 100:
            raise _Wrong(f"answer a fraction between 0 and 1 (you gave {got}: a percentage? "
                         f"then {got / 100:.2f}).")
        if not 0 <= got <= 1:
            raise _Wrong(f"answer a fraction between 0 and 1, got {got}.")
        measured = measured_up_share()
        exact = float(refine.round_up_probability(torch.tensor([0.3]), 0.5))
        down, up = -math.atanh(0.3) / 0.5, -math.atanh(0.7) / 0.5
        numbers = (f"{measured:.1%} of {UP_SHARE_SAMPLES} soft roundings of 2.3 at tau = 0.5 "
                   f"went up (the exact probability is {exact:.3f})")
        why = (f"The logits are -atanh(0.3) / 0.5 = {down:.2f} (down) and -atanh(0.7) / 0.5 "
               f"= {up:.2f} (up), and sigmoid({up - down:.2f}) = {exact:.2f}: warm is soft, not "
               "a coin toss; the value still leans to its nearer integer.")
        if abs(got - measured) > 0.1:
            hint = ("warm does not mean 50/50" if got >= 0.4 else
                    "at tau = 0.5 the choice is still quite soft" if got < 0.12 else "")
            raise _Wrong(f"you predicted {got:.2f}; measured: {numbers}"
                         + (f" ({hint})" if hint else "") + ". " + why)
        return f"you predicted {got:.2f}; measured: {numbers}. " + why

    return _run_prediction("up_share", check)


REFINEMENT_OUTCOMES = ("a smaller file", "a better picture", "both", "neither")


def refinement_outcome(bytes_before: int, bytes_after: int, psnr_before: float,
                       psnr_after: float) -> str:
    """Which of REFINEMENT_OUTCOMES a refinement bought: a file at least 5% smaller
    counts as smaller, a PSNR at least 0.2 dB higher as a better picture."""
    smaller = bytes_after <= 0.95 * bytes_before
    better = psnr_after - psnr_before >= 0.2
    return {(True, True): "both", (True, False): "a smaller file",
            (False, True): "a better picture", (False, False): "neither"}[(smaller, better)]


@_prints_verdict
def check_refinement_gain(refinement_gain: Callable[[], str], bytes_before: int,
                          bytes_after: int, psnr_before: float, psnr_after: float) -> bool:
    """refinement_gain() -> one of REFINEMENT_OUTCOMES: the learner's prediction of what
    refining the latents buys, checked against the measured files (bytes and PSNR before
    and after, from the notebook's cell that refines)."""

    def check() -> str:
        answer = _choice(_call(refinement_gain), REFINEMENT_OUTCOMES)
        measured = refinement_outcome(bytes_before, bytes_after, psnr_before, psnr_after)
        why = ("The search lowers the whole loss, lambda * 255^2 * MSE + bpp, and takes "
               "whichever term gives way: on this codec nearly all it took came from the "
               "error term. The encoder's latents were far from the best the decoder can "
               "show (an encoder trained little leaves a large amortization gap), while 5% "
               "of the bytes would be worth only a few percent of the loss at this lambda.")
        if measured != "a better picture":
            why = "The model, the photo or the steps changed since this exercise was written."
        if answer != measured:
            change = (f"bytes {bytes_after / bytes_before - 1:+.1%}, PSNR "
                      f"{psnr_after - psnr_before:+.2f} dB")
            raise _Wrong(f"you predicted {answer!r}; measured: {change}, which is "
                         f"{measured!r} (a file 5% smaller counts as smaller, 0.2 dB more as "
                         "a better picture). " + why)
        return (f"measured: {measured} (a file 5% smaller counts as smaller, 0.2 dB more as a "
                "better picture; the next cell prints the numbers). " + why)

    return _run_prediction("refinement_gain", check)
