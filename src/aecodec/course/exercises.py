"""Check functions for the notebook exercises: run the learner's answer, explain what is wrong.

Each `check_*` takes the learner's function, tries it on several cases against a
trusted reference, prints one verdict in plain words and returns True or False:

    ✅ passed            the answer matches the reference on every case
    ⏳ not implemented   the function still raises NotImplementedError
    ❌ <what is wrong>   the first case that failed, with a hint for a common mistake

The exercises, by notebook:
    01  to_batch, my_psnr, noise_psnr
    02  conv_output_size, encoder_block, latent_values
    03  conv_transpose_output_size, decoder_block, doubling_padding
    04  training_step, validation_psnr, parameter_count
    05  predicted_ratio, halving_effect, receptive_field
    06  entropy_bits, measured_bpp, rate_from_likelihoods
    07  rd_loss, pick_lambda, noise_quantize
    08  gaussian_pmf, table_index, file_bits
    09  file_objective, round_up_probability, temperature
"""

import copy
import math
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from aecodec import losses, refine
from aecodec.latents8bit import reconstruct_8bit
from aecodec.metrics import psnr, quantize_8bit
from aecodec.models import Autoencoder, AutoencoderConfig, compression_ratio, num_latent_values


class _Wrong(Exception):
    """Raised inside a check to stop at the first problem found."""


def _run(name: str, check: Callable[[], int]) -> bool:
    """Run `check` (which returns the number of cases tried) and print the verdict."""
    try:
        cases = check()
    except NotImplementedError:
        print(f"⏳ {name}: not implemented yet. Replace `raise NotImplementedError` with your "
              "code, run that cell, then run this check again.")
        return False
    except _Wrong as e:
        print(f"❌ {name}: {e}")
        return False
    print(f"✅ {name}: correct on all {cases} test cases.")
    return True


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
    try:
        return float(value)
    except (TypeError, ValueError):
        raise _Wrong(f"it should return a number, got {type(value).__name__}") from None


# --- 01 images as tensors -------------------------------------------------------------


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
            if x.shape == (1, h, w, 3):
                raise _Wrong(f"shape is (1, H, W, 3) = {tuple(x.shape)}: the channels must "
                             "come first. Hint: .permute(2, 0, 1) moves them.")
            if x.shape != expected.shape:
                raise _Wrong(f"for a {h}x{w} image the shape should be (1, 3, {h}, {w}), got "
                             f"{tuple(x.shape)}. Hint: add the batch dimension with [None] or "
                             ".unsqueeze(0).")
            if x.dtype != torch.float32:
                raise _Wrong(f"values should be float32, got dtype {x.dtype}: PyTorch's layers "
                             "expect float32. Hint: .float()")
            if x.max() > 1.5:
                raise _Wrong("values go up to 255: divide by 255 to bring them into [0, 1].")
            if not torch.allclose(x.float(), expected, atol=1e-6):
                raise _Wrong("shape and range are right but the values are not: is each pixel "
                             "still in its place (permute, not view or reshape)?")
        return len(sizes)

    return _run("to_batch", check)


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
            if math.isclose(got, -10 * math.log(mse_value), abs_tol=0.01):
                raise _Wrong("that is the natural log: PSNR uses log base 10 (math.log10).")
            if not math.isclose(got, expected, abs_tol=1e-3):
                raise _Wrong(f"for an image with MSE {mse_value:.6f} the PSNR should be "
                             f"{expected:.3f} dB, got {got:.3f}.")
        return len(cases)

    return _run("my_psnr", check)


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


def check_conv_output_size(conv_output_size: Callable[[int, int, int, int], int]) -> bool:
    """conv_output_size(size, kernel, stride, padding) -> output size of nn.Conv2d."""

    def check() -> int:
        cases = [(32, 5, 2, 2), (33, 5, 2, 2), (28, 3, 1, 1), (28, 3, 1, 0), (7, 3, 2, 0),
                 (64, 4, 2, 1), (1, 5, 2, 2), (100, 7, 3, 3)]
        for size, kernel, stride, padding in cases:
            conv = nn.Conv2d(1, 1, kernel, stride=stride, padding=padding)
            expected = conv(torch.zeros(1, 1, size, size)).shape[-1]  # ask PyTorch itself
            got = _call(conv_output_size, size, kernel, stride, padding)
            if got != expected:
                call = f"conv_output_size({size}, kernel={kernel}, stride={stride}, " \
                       f"padding={padding})"
                hint = "Hint: (size + 2 * padding - kernel) // stride + 1."
                if isinstance(got, float):
                    hint = "Sizes are whole numbers: use integer division // (it rounds down)."
                raise _Wrong(f"{call} returned {got!r}; PyTorch gives {expected}. {hint}")
        return len(cases)

    return _run("conv_output_size", check)


def check_encoder_block(encoder_block: Callable[[int, int], nn.Module]) -> bool:
    """encoder_block(in_channels, out_channels) -> module halving H and W (rounding up),
    with a non-linearity after the convolution."""

    def check() -> int:
        sizes = [(32, 32), (33, 20), (7, 9)]
        for in_channels, out_channels in [(3, 16), (16, 8)]:
            torch.manual_seed(0)
            block = _call(encoder_block, in_channels, out_channels)
            if not isinstance(block, nn.Module):
                raise _Wrong(f"it should return an nn.Module, got {type(block).__name__}")
            for h, w in sizes:
                x = torch.randn(2, in_channels, h, w)
                out = _call(block, x)
                expected = (2, out_channels, math.ceil(h / 2), math.ceil(w / 2))
                if tuple(out.shape) != expected:
                    raise _Wrong(f"for input {tuple(x.shape)} the output should be {expected}, "
                                 f"got {tuple(out.shape)}. Hint: a 5x5 kernel with stride=2 "
                                 "and padding=2 halves the size, rounding up.")
            _check_block_layers(block, nn.Conv2d, in_channels, "convolution")
        return 2 * len(sizes)

    return _run("encoder_block", check)


def check_latent_values(latent_values: Callable[[int, int, int, int], int]) -> bool:
    """latent_values(height, width, latent_channels, downsamplings) -> numbers in y."""

    def check() -> int:
        cases = [(512, 768, 16, 3), (64, 64, 8, 2), (100, 37, 4, 3), (9, 9, 16, 3),
                 (480, 640, 32, 4)]
        for h, w, c, k in cases:
            expected = num_latent_values(h, w, AutoencoderConfig(c, k))
            got = _call(latent_values, h, w, c, k)
            if got != expected:
                hint = ""
                if got == c * (h // 2**k) * (w // 2**k):
                    hint = (" Sizes that are not a multiple of 2^k round up (the image is "
                            "padded), so use math.ceil.")
                elif got == c * math.ceil(h / (2 * k)) * math.ceil(w / (2 * k)):
                    hint = " Each downsampling halves the size, so k of them divide by 2**k."
                raise _Wrong(f"latent_values({h}, {w}, {c}, {k}) returned {got!r}, "
                             f"expected {expected}.{hint}")
        return len(cases)

    return _run("latent_values", check)


# --- 03 the transposed-convolution decoder ---------------------------------------------


def check_conv_transpose_output_size(fn: Callable[[int, int, int, int, int], int]) -> bool:
    """conv_transpose_output_size(size, kernel, stride, padding, output_padding)."""

    def check() -> int:
        cases = [(16, 5, 2, 2, 1), (16, 5, 2, 2, 0), (8, 4, 2, 1, 0), (10, 3, 1, 1, 0),
                 (1, 5, 2, 2, 1), (7, 3, 3, 0, 2)]
        for size, kernel, stride, padding, output_padding in cases:
            deconv = nn.ConvTranspose2d(1, 1, kernel, stride=stride, padding=padding,
                                        output_padding=output_padding)
            expected = deconv(torch.zeros(1, 1, size, size)).shape[-1]
            got = _call(fn, size, kernel, stride, padding, output_padding)
            if got != expected:
                hint = "Hint: (size - 1) * stride - 2 * padding + kernel + output_padding."
                if got == expected - output_padding:
                    hint = "You forgot to add output_padding at the end."
                raise _Wrong(f"conv_transpose_output_size({size}, {kernel}, {stride}, "
                             f"{padding}, {output_padding}) returned {got!r}; PyTorch gives "
                             f"{expected}. {hint}")
        return len(cases)

    return _run("conv_transpose_output_size", check)


def check_decoder_block(decoder_block: Callable[[int, int], nn.Module]) -> bool:
    """decoder_block(in_channels, out_channels) -> module exactly doubling H and W."""

    def check() -> int:
        sizes = [(4, 4), (5, 3), (1, 1)]
        for in_channels, out_channels in [(16, 32), (8, 3)]:
            torch.manual_seed(0)
            block = _call(decoder_block, in_channels, out_channels)
            if not isinstance(block, nn.Module):
                raise _Wrong(f"it should return an nn.Module, got {type(block).__name__}")
            if not any(isinstance(m, nn.ConvTranspose2d) for m in block.modules()):
                raise _Wrong("use an nn.ConvTranspose2d to upsample.")
            for h, w in sizes:
                y = torch.randn(2, in_channels, h, w)
                out = _call(block, y)
                expected = (2, out_channels, 2 * h, 2 * w)
                if tuple(out.shape) == (2, out_channels, 2 * h - 1, 2 * w - 1):
                    raise _Wrong(f"the output is {2 * h - 1}x{2 * w - 1}, one pixel short of "
                                 f"{2 * h}x{2 * w}: add output_padding=1.")
                if tuple(out.shape) != expected:
                    raise _Wrong(f"for input {tuple(y.shape)} the output should be "
                                 f"{expected}, got {tuple(out.shape)}.")
            _check_block_layers(block, nn.ConvTranspose2d, in_channels,
                                "transposed convolution")
        return 2 * len(sizes)

    return _run("decoder_block", check)


def _check_block_layers(block: nn.Module, kind: type, in_channels: int, name: str) -> None:
    """One 5x5 layer of `kind`, first, then a non-linearity (the block is not linear)."""
    layers = [m for m in block.modules() if isinstance(m, kind)]
    if len(layers) != 1:
        raise _Wrong(f"use exactly one {kind.__name__} in the block, found {len(layers)}.")
    if layers[0].kernel_size != (5, 5):
        raise _Wrong(f"the {name}'s kernel is {layers[0].kernel_size[0]}x"
                     f"{layers[0].kernel_size[1]}: the kit's blocks use 5x5 kernels "
                     "(kernel_size=5), which see more of the image.")
    if isinstance(block, nn.Sequential) and not isinstance(block[0], kind):
        raise _Wrong(f"the block starts with {type(block[0]).__name__}: put the {name} "
                     "first and the non-linearity after it.")
    x = torch.randn(1, in_channels, 8, 8)
    linear = layers[0](x) - layers[0](torch.zeros_like(x))
    if torch.allclose(_call(block, x) - _call(block, torch.zeros_like(x)), linear, atol=1e-5):
        raise _Wrong(f"the block is linear: add a non-linearity such as nn.ReLU() after the "
                     f"{name}.")


def check_doubling_padding(doubling_padding: Callable[[int], tuple[int, int]]) -> bool:
    """doubling_padding(kernel) -> (padding, output_padding) with which a stride-2
    nn.ConvTranspose2d of that kernel size turns every h into exactly 2h (the output-size
    formula used backwards: (h - 1) * 2 - 2 * padding + kernel + output_padding = 2h)."""

    def check() -> int:
        kernels = [3, 4, 5, 6, 7]
        for kernel in kernels:
            answer = _call(doubling_padding, kernel)
            try:
                padding, output_padding = (int(v) for v in answer)
            except (TypeError, ValueError):
                raise _Wrong(f"it should return two integers (padding, output_padding), got "
                             f"{answer!r}") from None
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
                    raise _Wrong(f"kernel {kernel}, padding {padding}, output_padding "
                                 f"{output_padding} turns {h} into {out}, not {2 * h}. Solve "
                                 f"(h - 1) * 2 - 2 * padding + {kernel} + output_padding = 2h: "
                                 "the h's cancel, leaving output_padding = 2 + 2 * padding - "
                                 f"{kernel}.")
        return len(kernels)

    return _run("doubling_padding", check)


# --- 04 the training loop --------------------------------------------------------------


def _tiny_setup(seed: int = 0):
    torch.manual_seed(seed)
    model = Autoencoder(latent_channels=4, downsamplings=2, hidden_channels=8)
    x = torch.rand(4, 3, 16, 16)
    return model, x


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


def check_validation_psnr(validation_psnr: Callable) -> bool:
    """validation_psnr(model, x) -> mean PSNR of the 8-bit-rounded reconstructions, computed
    in eval mode without gradients."""

    def check() -> int:
        model, x = _tiny_setup(seed=1)
        model.train()
        with torch.no_grad():
            expected = psnr(x, quantize_8bit(model(x)))
            float_psnr = psnr(x, model(x))
        grad_in_forward = []
        hook = model.register_forward_hook(
            lambda *_: grad_in_forward.append(torch.is_grad_enabled()))
        try:
            got = _call(validation_psnr, model, x)
        finally:
            hook.remove()
        if any(grad_in_forward):
            raise _Wrong("the model ran with gradients on: wrap the work in "
                         "`with torch.no_grad():` (validation needs no backward pass, and "
                         "the graph would cost memory).")
        if isinstance(got, torch.Tensor):
            if got.requires_grad:
                raise _Wrong("the result carries gradients: wrap the work in "
                             "`with torch.no_grad():` (validation needs no backward pass).")
            got = got.item()
        if model.training:
            raise _Wrong("call model.eval() before validating (layers such as dropout and "
                         "batch norm behave differently in training).")
        if math.isclose(float(got), float_psnr, abs_tol=1e-6) and expected != float_psnr:
            raise _Wrong("round x_hat to 8-bit values first (quantize_8bit), as a saved "
                         "image would be.")
        if not math.isclose(float(got), expected, abs_tol=1e-3):
            raise _Wrong(f"expected {expected:.3f} dB, got {float(got):.3f}.")
        return 1

    return _run("validation_psnr", check)


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
            if got != expected:
                raise _Wrong(f"for C={c}, k={k}, N={n} there are {expected:,} parameters, "
                             f"you count {int(got):,}. Hint: list the layers' (in, out) "
                             "channels: 3 -> N, N -> N (k - 2 times), N -> C, then back.")
        return len(configs)

    return _run("parameter_count", check)


# --- 05 latent-size trade-offs ---------------------------------------------------------


def check_predicted_ratio(predicted_ratio: Callable[[int, int, int, int], float]) -> bool:
    """predicted_ratio(height, width, latent_channels, downsamplings) -> 8-bit pixel values
    per 8-bit latent value."""

    def check() -> int:
        cases = [(512, 768, 16, 3), (512, 768, 8, 3), (256, 256, 32, 4), (64, 48, 4, 2),
                 (100, 75, 16, 3)]  # 100x75: the latent is 13x10, rounded up
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
                raise _Wrong(f"for a {w}x{h} image the latent is "
                             f"{math.ceil(h / 2**k)}x{math.ceil(w / 2**k)}: its sizes are "
                             "rounded up (math.ceil), not down.")
            if not math.isclose(got, expected, rel_tol=1e-6):
                raise _Wrong(f"predicted_ratio({h}, {w}, {c}, {k}) returned {got:.3f}, "
                             f"expected {expected:.3f}.")
        return len(cases)

    return _run("predicted_ratio", check)


def check_halving_effect(halving_effect: Callable, model_big, model_small,
                         x: torch.Tensor) -> bool:
    """halving_effect(model_big, model_small, x) -> (ratio_gain, psnr_drop): how many times
    higher the compression ratio of model_small is, and how many dB of PSNR it loses,
    both measured with 8-bit latents (reconstruct_8bit) on image x (3, H, W)."""

    def check() -> int:
        batch = x[None]  # (1, 3, H, W)
        x_big, _ = reconstruct_8bit(model_big, batch)
        x_small, _ = reconstruct_8bit(model_small, batch)
        h, w = x.shape[-2:]
        ratio_gain = model_small.compression_ratio(h, w) / model_big.compression_ratio(h, w)
        psnr_drop = psnr(batch, x_big) - psnr(batch, x_small)
        got = _call(halving_effect, model_big, model_small, x)
        if not isinstance(got, tuple) or len(got) != 2:
            raise _Wrong("return a pair: (ratio_gain, psnr_drop).")
        if not math.isclose(float(got[0]), ratio_gain, rel_tol=1e-6):
            raise _Wrong(f"ratio_gain should be {ratio_gain:.2f} (small model's ratio / big "
                         f"model's), got {float(got[0]):.3f}.")
        if math.isclose(float(got[1]), -psnr_drop, abs_tol=1e-3):
            raise _Wrong("psnr_drop has the wrong sign: it is the big model's PSNR minus the "
                         "small model's (positive when quality drops).")
        if not math.isclose(float(got[1]), psnr_drop, abs_tol=1e-3):
            raise _Wrong(f"psnr_drop should be {psnr_drop:.3f} dB, got {float(got[1]):.3f}. "
                         "Measure with reconstruct_8bit, which stores the latents in 8 bits.")
        return 1

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


def check_entropy_bits(entropy_bits: Callable[[torch.Tensor], float]) -> bool:
    """entropy_bits(values) -> bits per value of integer `values` by their own histogram:
    -sum p log2 p over the distinct values."""

    def check() -> int:
        cases = [torch.tensor([3, 3, 3, 3]), torch.tensor([0, 1]), torch.tensor([0, 1, 2, 3]),
                 torch.tensor([5, 5, 5, -2]), torch.tensor([0, 0, 1, 2, 2, 2, 2, 7])]
        for values in cases:
            _, counts = torch.unique(values, return_counts=True)
            p = counts.double() / counts.sum()
            expected = float(-(p * torch.log2(p)).sum())
            got = _call(entropy_bits, values.clone())
            got = _as_number(got)
            shown = values.tolist()
            if math.isclose(got, expected * len(values), abs_tol=1e-6) and len(values) > 1 \
                    and expected > 0:
                raise _Wrong(f"for {shown} that is the total; return bits *per value* "
                             f"({expected:.4f}).")
            if expected > 0 and math.isclose(got, expected * math.log(2), abs_tol=1e-6):
                raise _Wrong("that is in nats (natural log): use log base 2 for bits.")
            if not math.isclose(got, expected, abs_tol=1e-6):
                raise _Wrong(f"for {shown} expected {expected:.4f} bits per value, got "
                             f"{got:.4f}. Hint: probabilities from torch.unique(values, "
                             "return_counts=True).")
        return len(cases)

    return _run("entropy_bits", check)


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
                raise _Wrong(f"{len(data)} bytes for {width}x{height} pixels is {expected:.4f} "
                             f"bpp, got {got:.4f}.")
        return len(cases)

    return _run("measured_bpp", check)


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
            if not math.isclose(got, expected, rel_tol=1e-4):
                raise _Wrong(f"for likelihoods of shape {shape} and a {width}x{height} "
                             f"image the rate is {expected:.4f} bpp, got {got:.4f}.")
        return len(cases)

    return _run("rate_from_likelihoods", check)


# --- 07 rate-distortion training -------------------------------------------------------


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


def check_pick_lambda(pick_lambda: Callable[[list[dict], float], float]) -> bool:
    """pick_lambda(points, max_bpp) -> the lambda of the best-PSNR point with bpp <= max_bpp
    (points: dicts with "lmbda", "bpp", "psnr"), or None if none fits."""

    def check() -> int:
        points = [dict(lmbda=0.0035, bpp=0.21, psnr=27.1), dict(lmbda=0.0067, bpp=0.33, psnr=28.4),
                  dict(lmbda=0.013, bpp=0.52, psnr=29.8), dict(lmbda=0.025, bpp=0.80, psnr=31.0)]
        cases = [(0.5, 0.0067), (0.52, 0.013), (10.0, 0.025), (0.2, None), (0.3, 0.0035)]
        for max_bpp, expected in cases:
            got = _call(pick_lambda, [dict(p) for p in points], max_bpp)
            if got != expected:
                hint = " Return None when no point fits." if expected is None else ""
                if got == 0.0035 and expected not in (None, 0.0035):
                    hint = " Among the points that fit, take the one with the highest PSNR."
                raise _Wrong(f"with max_bpp={max_bpp} expected lambda {expected}, got {got!r}."
                             f"{hint}")
        return len(cases)

    return _run("pick_lambda", check)


def check_noise_quantize(noise_quantize: Callable[[torch.Tensor], torch.Tensor]) -> bool:
    """noise_quantize(y) -> y + u, u uniform in [-1/2, 1/2), new noise at each call: the
    training stand-in for rounding, whose error it imitates and whose gradient it keeps."""

    def check() -> int:
        torch.manual_seed(0)
        y = (torch.randn(100_000) * 3).requires_grad_(True)
        out = _call(noise_quantize, y)
        if not isinstance(out, torch.Tensor) or out.shape != y.shape:
            raise _Wrong(f"it should return a tensor of y's shape {tuple(y.shape)}, got "
                         f"{getattr(out, 'shape', type(out).__name__)}")
        error = (out - y).detach()
        if torch.equal(out.detach(), torch.round(y.detach())):
            raise _Wrong("that is rounding: its gradient is 0 almost everywhere, so the "
                         "encoder would learn nothing from the rate. Add noise instead.")
        if abs(float(error.mean())) > 0.02:
            raise _Wrong(f"the noise averages {float(error.mean()):.2f}, not 0: "
                         "torch.rand_like gives [0, 1); subtract 0.5.")
        if error.abs().max() > 0.5 + 1e-6:
            raise _Wrong(f"the noise reaches {error.abs().max():.2f}: it must stay within "
                         "+-1/2, like a rounding error (torch.rand_like(y) - 0.5).")
        if abs(float(error.std()) - 12 ** -0.5) > 0.01:
            raise _Wrong(f"the noise's standard deviation is {float(error.std()):.3f}; a "
                         f"uniform one on [-1/2, 1/2) has 1/sqrt(12) = {12 ** -0.5:.3f}. Is "
                         "it uniform (rand), not Gaussian (randn)?")
        if out.requires_grad:
            out.sum().backward()
        if y.grad is None or not torch.allclose(y.grad, torch.ones_like(y)):
            raise _Wrong("the gradient of the output with respect to y should be 1 "
                         "everywhere: add noise to y itself, without detaching y.")
        again = _call(noise_quantize, y.detach())
        if torch.equal(again, out.detach()):
            raise _Wrong("two calls give the same noise: draw new noise at every call.")
        return 5

    return _run("noise_quantize", check)


# --- 08 side information: the hyperprior -----------------------------------------------


def check_gaussian_pmf(gaussian_pmf: Callable[[torch.Tensor, float, float], torch.Tensor]) -> bool:
    """gaussian_pmf(n, mean, scale) -> P(n) = Phi((n + 1/2 - mean) / scale)
    - Phi((n - 1/2 - mean) / scale) for integers n: the Gaussian's mass in n's unit bin."""

    def check() -> int:
        n = torch.arange(-6, 7, dtype=torch.float32)
        cases = [(0.0, 1.0), (0.3, 0.5), (-2.0, 3.0), (1.7, 0.2)]
        for mean, scale in cases:
            normal = torch.distributions.Normal(torch.tensor(mean, dtype=torch.float64),
                                                torch.tensor(scale, dtype=torch.float64))
            expected = (normal.cdf(n.double() + 0.5) - normal.cdf(n.double() - 0.5)).float()
            got = _call(gaussian_pmf, n.clone(), mean, scale)
            if not isinstance(got, torch.Tensor) or got.shape != n.shape:
                raise _Wrong("return a tensor of P(n), one value for each n given.")
            got = got.detach().float()
            if torch.allclose(got, normal.log_prob(n.double()).exp().float(), atol=1e-6):
                raise _Wrong("that is the density at n, not the probability of n: integrate "
                             "the density over n's bin, CDF(n + 1/2) - CDF(n - 1/2).")
            at_zero = (torch.distributions.Normal(0.0, scale).cdf(n + 0.5)
                       - torch.distributions.Normal(0.0, scale).cdf(n - 0.5))
            if mean and torch.allclose(got, at_zero, atol=1e-6):
                raise _Wrong("the Gaussian is centred on its mean: use n - mean.")
            if not torch.allclose(got, expected, atol=1e-5):
                raise _Wrong(f"with mean {mean} and scale {scale}: P(0) should be "
                             f"{expected[6].item():.5f}, got {got[6].item():.5f}.")
            if not math.isclose(float(got.sum()), float(expected.sum()), abs_tol=1e-4):
                raise _Wrong("the probabilities do not add up as the Gaussian's do.")
        return len(cases)

    return _run("gaussian_pmf", check)


def check_table_index(table_index: Callable[[float, list[float]], int]) -> bool:
    """table_index(scale, ladder) -> the index of the first ladder scale >= scale (the
    last one if none is), for a ladder sorted from narrow to wide."""

    def check() -> int:
        ladder = [0.11, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0]
        cases = [(0.05, 0), (0.11, 0), (0.3, 2), (1.0, 3), (1.01, 4), (7.9, 6), (100.0, 6)]
        for scale, expected in cases:
            got = _call(table_index, scale, list(ladder))
            if not isinstance(got, int | np.integer) and not (
                    isinstance(got, torch.Tensor) and got.numel() == 1):
                raise _Wrong(f"return the index as an int, got {type(got).__name__}.")
            got = int(got)
            if got == expected - 1 and ladder[got] < scale:
                raise _Wrong(f"for scale {scale} you picked {ladder[got]}, narrower than the "
                             "value's own Gaussian: its likely values would cost more bits. "
                             "Pick the first ladder scale at least as wide.")
            if got != expected:
                raise _Wrong(f"for scale {scale} expected index {expected} ({ladder[expected]}),"
                             f" got {got}.")
        return len(cases)

    return _run("table_index", check)


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
            if math.isclose(got, y_bits, rel_tol=1e-5):
                raise _Wrong("the side information z is sent in the file too: add its bits.")
            if math.isclose(got, (y_bits + z_bits) / 8, rel_tol=1e-5):
                raise _Wrong("that is bytes: return bits.")
            if math.isclose(got, (y_bits + z_bits) * math.log(2), rel_tol=1e-5):
                raise _Wrong("that is in nats (natural log): use log base 2 for bits.")
            if not math.isclose(got, y_bits + z_bits, rel_tol=1e-5):
                raise _Wrong(f"expected {y_bits + z_bits:.2f} bits ({y_bits:.2f} for y + "
                             f"{z_bits:.2f} for z), got {got:.2f}.")
        return len(cases)

    return _run("file_bits", check)


# --- 09 a better encoder at encode time -------------------------------------------------


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
            if math.isclose(got, float(losses.rd_loss(mse, bpp / 8, lmbda)), rel_tol=1e-6):
                raise _Wrong("the rate is in bits per pixel: a byte is 8 bits.")
            if math.isclose(got, lmbda * mse + bpp, rel_tol=1e-6):
                raise _Wrong("the distortion is MSE on the 0-255 scale: lambda * 255^2 * MSE.")
            if math.isclose(got, float(losses.rd_loss(mse, 8 * num_bytes, lmbda)),
                            rel_tol=1e-6):
                raise _Wrong("divide the bits by the number of pixels, height * width.")
            if not math.isclose(got, expected, rel_tol=1e-6):
                raise _Wrong(f"{num_bytes} bytes for {width}x{height} pixels, MSE {mse}, "
                             f"lambda {lmbda}: expected {expected:.5f}, got {got:.5f}.")
        return len(cases)

    return _run("file_objective", check)


def check_round_up_probability(round_up_probability: Callable[[torch.Tensor, float],
                                                              torch.Tensor]) -> bool:
    """round_up_probability(frac, tau) -> softmax of the logits (-atanh(frac) / tau,
    -atanh(1 - frac) / tau), the second: the chance of going up to the ceiling."""

    def check() -> int:
        frac = torch.tensor([0.05, 0.2, 0.4, 0.5, 0.6, 0.8, 0.95])
        cases = [0.5, 0.2, 0.05]
        for tau in cases:
            expected = refine.round_up_probability(frac, tau)
            got = _call(round_up_probability, frac.clone(), tau)
            if not isinstance(got, torch.Tensor) or got.shape != frac.shape:
                raise _Wrong("return a tensor with one probability per value of frac.")
            got = got.detach().float()
            if torch.allclose(got, 1 - expected, atol=1e-4):
                raise _Wrong("that is the chance of going down: a value near its ceiling "
                             "(frac near 1) should go up.")
            if torch.allclose(got, refine.round_up_probability(frac, 1.0), atol=1e-4):
                raise _Wrong("divide the logits by tau: the temperature sets how sharp the "
                             "choice is.")
            if not torch.allclose(got, expected, atol=1e-4):
                raise _Wrong(f"with tau = {tau}, frac = {frac.tolist()}: expected "
                             f"{[round(v, 3) for v in expected.tolist()]}, got "
                             f"{[round(v, 3) for v in got.tolist()]}.")
        return len(cases)

    return _run("round_up_probability", check)


def check_temperature(temperature: Callable[[int, int], float]) -> bool:
    """temperature(step, steps) -> TAU_START * exp(-TAU_DECAY * step / (steps - 1))."""

    def check() -> int:
        cases = [(0, 100), (50, 100), (99, 100), (3, 7), (10, 11)]
        for step, steps in cases:
            expected = refine.temperature(step, steps)
            got = _as_number(_call(temperature, step, steps))
            linear = refine.TAU_START * (1 - step / (steps - 1))
            if step and math.isclose(got, linear, rel_tol=1e-6):
                raise _Wrong("that falls along a straight line: the schedule is exponential, "
                             "exp(-TAU_DECAY * t).")
            if step and math.isclose(got, refine.TAU_START * math.exp(-refine.TAU_DECAY * step),
                                     rel_tol=1e-6):
                raise _Wrong("t runs from 0 to 1 over the steps: divide step by steps - 1.")
            if not math.isclose(got, expected, rel_tol=1e-6):
                raise _Wrong(f"step {step} of {steps}: expected tau = {expected:.5f}, "
                             f"got {got:.5f}.")
        return len(cases)

    return _run("temperature", check)


# --- 10 context: the bits the hyperprior leaves -------------------------------------------
# These checks print verdicts that lead with a word (Correct. / Not yet: / Wrong:), return
# None (True or False with grade=True) and never raise. Two of them are predictions: they
# compare the learner's commitment with what the notebook measured and explain the gap.

def _verdict_10(name: str, check: Callable[[], str], grade: bool) -> bool | None:
    """Run `check` (which returns what to say after "Correct."), print one verdict line."""
    try:
        with torch.random.fork_rng(devices=[]):  # the notebook's random numbers stay its own
            said = check()
    except NotImplementedError:
        print(f"Not yet: {name} is not implemented yet. Replace `raise NotImplementedError` "
              "with your code, run that cell, then run this check again.")
        passed = False
    except _Wrong as e:
        print(f"Wrong: {name}: {' '.join(str(e).split())}")
        passed = False
    except Exception as e:  # what the learner gave back broke the check itself
        print(f"Wrong: {name}: the check could not use what your code gave back "
              f"({type(e).__name__}: {' '.join(str(e).split())}). Compare its type with what "
              "the exercise asks for.")
        passed = False
    else:
        print(f"Correct. {name}: {said}")
        passed = True
    return passed if grade else None


def _choice(value, allowed: dict[str, str], what: str) -> str:
    """A learner's word, normalized through `allowed` {spelling: meaning}."""
    if not isinstance(value, str):
        raise _Wrong(f"{what} should be a string, one of {sorted(set(allowed.values()))}; "
                     f"got {type(value).__name__} {value!r}.")
    key = value.strip().lower().replace("_", "-").replace(" ", "-")
    if key not in allowed:
        raise _Wrong(f"{what} should be one of {sorted(set(allowed.values()))}; got {value!r}.")
    return allowed[key]


def _number_in(got: dict, key: str) -> float:
    """The learner's number under `key`, or a complaint that names the key."""
    value = got[key]
    if isinstance(value, str):
        value = value.strip().rstrip("%")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise _Wrong(f"{key!r} should be a number, got {type(got[key]).__name__} "
                     f"{got[key]!r:.40}.") from None


def _prediction(predict: Callable[[], dict], keys: tuple[str, ...]) -> dict:
    """The learner's prediction: a dict with `keys`."""
    got = _call(predict)
    if not isinstance(got, dict) or not set(keys) <= set(got):
        raise _Wrong(f"return a dict with the keys {', '.join(map(repr, keys))}, e.g. "
                     f"{{{', '.join(f'{k!r}: ...' for k in keys)}}}; got "
                     f"{type(got).__name__} {got!r:.80}.")
    return got


_PREDICTORS = {"neighbours": "neighbours", "neighbors": "neighbours", "neighbour": "neighbours",
               "neighbor": "neighbours", "channels": "channels", "channel": "channels"}


def check_residual_prediction(predict: Callable[[], dict], measured: dict[str, float],
                              grade: bool = False) -> bool | None:
    """predict() -> {"better": "neighbours" or "channels", "r2": a number in [0, 1]}: which
    predictor of the non-anchors' r = (y - mu) / sigma explains more of its variance on
    held-out positions, and how much (R^2) the better one explains.

    Args:
        predict: the learner's prediction, made before the measurement was shown.
        measured: {"neighbours": R^2, "channels": R^2}, what the notebook measured.
    """

    def check() -> str:
        got = _prediction(predict, ("better", "r2"))
        better = _choice(got["better"], _PREDICTORS, '"better"')
        r2 = _number_in(got, "r2")
        winner = max(("neighbours", "channels"), key=lambda k: measured[k])
        best = measured[winner]
        scores = (f"measured: the 4 neighbouring anchors explain R^2 = "
                  f"{measured['neighbours']:.3f} of r's variance, the 32 other channels "
                  f"{measured['channels']:.3f}")
        if better != winner:
            why = ("An image is smooth at the scale of y, and the hyperprior's means come from "
                   "z, 4x coarser than y: detail shared by neighbouring positions is left over. "
                   "Between the channels at one position the measurement finds less left."
                   if winner == "neighbours" else
                   "Here the channels carry more of what is left than the neighbours do.")
            raise _Wrong(f"you predicted the {better}; {scores}. {why}")
        if not math.isfinite(r2) or r2 > 1:
            raise _Wrong(f"R^2 is a fraction of the variance, between 0 and 1 (0.3 means 30%); "
                         f"you gave {got['r2']!r}. Was it a percentage?")
        if r2 < 0:
            raise _Wrong(f"R^2 = {r2} would mean the predictor is worse than predicting the "
                         f"mean; {scores}.")
        if abs(r2 - best) > 0.03 and not best / 2 <= r2 <= 2 * best:  # off by over 2x
            if r2 > best:
                raise _Wrong(f"you predicted R^2 = {r2:g}, but the better predictor, the "
                             f"{winner}, explains only {best:.3f}: {scores}. What these predictors "
                             "find is a small share of the variance, which is why a context "
                             "model saves percents, not half of the file.")
            raise _Wrong(f"you predicted R^2 = {r2:g}, but the {winner} explain {best:.3f}, "
                         f"more than that: {scores}. The hyperprior's z is 4x coarser than y "
                         "and leaves fine detail for the neighbours to predict.")
        return (f"you predicted the {better} with R^2 about {r2:g}; {scores}. A small share is "
                "left, and it sits in the neighbours.")

    return _verdict_10("residual prediction", check, grade)


def _reference_context_mask(k: int) -> torch.Tensor:
    """(k, k) bool: the positions of a k x k window around a non-anchor that hold anchors."""
    d = torch.arange(k) - k // 2
    return (d[:, None] + d[None, :]) % 2 != 0


def check_context_mask(context_mask: Callable[[int], torch.Tensor],
                       grade: bool = False) -> bool | None:
    """context_mask(k) -> (k, k) mask, 1 where a k x k window centred on a non-anchor holds a
    position its context may read (an anchor, decoded in the first pass), 0 elsewhere."""

    def check() -> str:
        cases = [3, 7, 1, 9]
        for k in cases:
            got = _call(context_mask, k)
            try:
                got = torch.as_tensor(got)
            except Exception:
                raise _Wrong(f"return a (k, k) tensor of 0 and 1 (or True and False); got "
                             f"{type(got).__name__}.") from None
            if got.shape != (k, k):
                raise _Wrong(f"for k = {k} the mask should be {k}x{k}, got shape "
                             f"{tuple(got.shape)}. Does it depend on k?")
            if not bool(((got == 0) | (got == 1)).all()):
                raise _Wrong(f"for k = {k} the mask holds values other than 0 and 1: "
                             f"{got.tolist()}.")
            got = got.bool()
            expected = _reference_context_mask(k)
            if torch.equal(got, expected):
                continue
            c = k // 2
            d = torch.arange(k) - c
            raster = (d[:, None] < 0) | ((d[:, None] == 0) & (d[None, :] < 0))
            if bool(got.all()) and k > 1:
                raise _Wrong(f"for k = {k} you marked the whole window: the non-anchors, the "
                             "centre among them, are decoded in the second pass, all at once, "
                             "so the context can read only the anchors (di + dj odd).")
            if got[c, c]:
                raise _Wrong(f"for k = {k} the centre is marked: that is the value being "
                             "coded, unknown to the decoder until its parameters are known.")
            if torch.equal(got, ~expected & ~(d[:, None].abs() + d[None, :].abs() == 0)) \
                    or (bool(got.any()) and not bool((got & expected).any())):
                raise _Wrong(f"for k = {k} you marked positions of the centre's own colour: "
                             "those are non-anchors, decoded in the same pass as the centre, "
                             "in parallel, so none of them is known yet. The anchors are the "
                             "positions with di + dj odd.")
            if torch.equal(got, raster & expected) or torch.equal(got, raster):
                raise _Wrong(f"for k = {k} you kept only the positions before the centre in "
                             "reading order: that is the serial context (Minnen et al. 2018). "
                             "The checkerboard decodes every anchor first, below and to the "
                             "right of the centre too.")
            if bool((got & ~expected).any()):
                raise _Wrong(f"for k = {k} your mask also marks non-anchors (di + dj even): "
                             "they are decoded in the second pass, all at once, so the "
                             "centre's context cannot read them.")
            if k > 3 and torch.equal(got, (d[:, None].abs() + d[None, :].abs()) == 1):
                raise _Wrong(f"for k = {k} you marked the 4 direct neighbours only: a wider "
                             "window sees more anchors, every position with di + dj odd.")
            raise _Wrong(f"for k = {k} your mask misses anchors the decoder already has: "
                         f"expected {expected.int().tolist()}, got {got.int().tolist()}.")
        return (f"right for k = {', '.join(map(str, cases))}: the context may read every "
                "anchor in its window and nothing else.")

    return _verdict_10("context_mask", check, grade)


_HALVES = {"anchors": "anchors", "anchor": "anchors", "non-anchors": "non-anchors",
           "non-anchor": "non-anchors", "nonanchors": "non-anchors", "same": "same",
           "neither": "same", "equal": "same"}


def _saving_bracket(percent: float) -> str:
    return "under 5%" if percent < 5 else "5% to 50%" if percent < 50 else "50% or more"


def check_bits_prediction(predict: Callable[[], dict], measured: dict[str, float],
                          grade: bool = False) -> bool | None:
    """predict() -> {"cheaper": "anchors", "non-anchors" or "same", "saving_percent": how
    many percent fewer bits a value of the cheaper half costs}: the context codec's file,
    anchors against non-anchors. Right if the half is right and the saving falls in the same
    bracket as the measured one (under 5%, 5% to 50%, 50% or more).

    Args:
        predict: the learner's prediction, made before the measurement was shown.
        measured: {"anchors": bits per value, "non-anchors": bits per value}, from a file.
    """

    def check() -> str:
        got = _prediction(predict, ("cheaper", "saving_percent"))
        cheaper = _choice(got["cheaper"], _HALVES, '"cheaper"')
        saving = _number_in(got, "saving_percent")
        anchors, others = measured["anchors"], measured["non-anchors"]
        true_saving = 100 * abs(1 - others / anchors)
        winner = ("same" if true_saving < 2 else "non-anchors" if others < anchors
                  else "anchors")
        scores = (f"measured: {anchors:.3f} bits per anchor value, {others:.3f} per "
                  f"non-anchor value ({true_saving:.0f}% apart)")
        if cheaper != winner:
            why = {"non-anchors": "The anchors are coded with the hyperprior's parameters "
                                  "alone; the non-anchors with the hyperprior and their decoded "
                                  "neighbours: more information, narrower Gaussians, fewer bits.",
                   "anchors": "Here the context did not help the non-anchors.",
                   "same": "The two halves cost about the same here: the context adds "
                           "little."}[winner]
            raise _Wrong(f"you predicted {cheaper}; {scores}. {why}")
        if winner == "same":
            return f"{scores}."
        if not math.isfinite(saving) or saving < 0 or saving > 100:
            raise _Wrong(f"give the saving as a percentage between 0 and 100; got {saving!r}.")
        if _saving_bracket(saving) != _saving_bracket(true_saving):
            if 0 < saving < 1 and _saving_bracket(100 * saving) == _saving_bracket(true_saving):
                raise _Wrong(f"you gave {saving:g}, which reads as {saving:g}%; if you meant a "
                             f"fraction, write {100 * saving:g} (percent). {scores}.")
            if saving > true_saving:
                raise _Wrong(f"you predicted {saving:g}% fewer bits, {_saving_bracket(saving)}; "
                             f"{scores}: {_saving_bracket(true_saving)}. The neighbours explain "
                             "only a small share of what the hyperprior leaves (exercise 1), "
                             "so the saving is modest.")
            raise _Wrong(f"you predicted {saving:g}% fewer bits, {_saving_bracket(saving)}; "
                         f"{scores}: {_saving_bracket(true_saving)}, more than that.")
        return (f"you predicted {cheaper}, {saving:g}% fewer bits per value; {scores}, "
                f"{_saving_bracket(true_saving)}.")

    return _verdict_10("bits prediction", check, grade)
