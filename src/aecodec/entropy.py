"""Quantization and the learned entropy models: how many bits a latent will cost.

Holds: `quantize` (rounding, or additive uniform noise for training), `CodingTables` (the
integer tables an entropy model codes with, and `encode` / `decode` / `bits` with them;
`build_coding_tables` rebuilds every one in a model),
the two entropy models, both `CodingTables`: `FactorizedPrior` (a learned density per
latent channel, as in Ballé et al. 2017, "End-to-end optimized image compression"; the
learned-CDF form is from the appendix of Ballé et al. 2018) and `GaussianConditional` (a
Gaussian per value whose mean and scale a hyperprior predicts, Ballé et al. 2018 and
Minnen et al. 2018), and `estimated_bits`. Does not hold: turning symbols into bytes
(`aecodec.rangecoder`), the file around them (`aecodec.codec`) or the rate-distortion
loss (`aecodec.losses`).

Why noise? Rounding y to integers is what a codec does, but its gradient is zero almost
everywhere, so an encoder trained through it would learn nothing. During training we
instead add uniform noise in [-0.5, 0.5), which lets gradients through. The noise is
distributed like the rounding error of a value spread over many integers, and the density
of y + noise, c(v + 1/2) - c(v - 1/2), equals at an integer n exactly the probability that
rounding assigns to n. But training evaluates it at v = y + noise, not at round(y), so the
rate counted in training is an estimate of the real code's rate, not the same number: on
the shipped models it is well above the file's size, because
values near zero, which round to a cheap 0, are charged the density's lower height across
the whole bin. On the 24 Kodak images the factorized codec of quality 3 (lambda
0.0067) estimates 0.677 bpp with noise (one draw), 0.531 bpp at round(y), and its files
take 0.532 bpp (notebook 07 measures the same on one photo).

Coding tables. A file must decode with exactly the probabilities it was encoded with, on
any machine, so files are never coded with the float densities. `update_tables` turns
them once into integer counts summing to 2^16 (one row per table), stored in the buffers
`cdf_counts`, `cdf_offsets` and `cdf_lengths`, which travel with the weights in a
checkpoint. Coding (`CodingTables.encode` / `decode`) and counting bits
(`CodingTables.bits`, hence `aecodec.evaluation.bits_map`) read only these integers.

The prior gives each integer value n of channel c the probability
    P(n) = c(n + 0.5) - c(n - 0.5),
where c is a learned cumulative distribution function: a tiny network per channel that is
increasing by construction (positive weights via softplus, gated tanh non-linearities with
gates in (-1, 1)). The estimated cost of y_hat is -log2 P summed over all values.
"""

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from aecodec.errors import CodecError
from aecodec.rangecoder import PRECISION, StreamReader, StreamWriter, symbol_bits

LIKELIHOOD_FLOOR = 1e-9  # no value is ever called impossible (at most ~30 bits each)
TABLE_PRECISION = PRECISION  # integer tables sum to 2^16 (the range coder's precision)
TAIL_MASS = 2.0**-12  # probability left to the escape symbol, at most
SCAN = 4096  # integers -SCAN .. SCAN are examined when building tables


def quantize(y: torch.Tensor, mode: str = "round") -> torch.Tensor:
    """Quantize latents y.

    Args:
        y: latents of any shape.
        mode: "round" (inference) or "noise" (training: y + U(-0.5, 0.5)).
    """
    if mode == "round":
        return torch.round(y)
    if mode == "noise":
        return y + torch.empty_like(y).uniform_(-0.5, 0.5)
    raise ValueError(f"unknown quantization mode {mode!r}: use 'round' or 'noise'")


class CodingTables(nn.Module):
    """The integer tables an entropy model codes with, kept as buffers so that they travel
    with the weights: row i holds counts >= 1 summing to 2^16 (the escape symbol last) for
    the integers offset_i .. offset_i + length_i - 2. Both entropy models are CodingTables;
    each fills the rows in its own `update_tables`.

    Args:
        rows: how many tables.
    """

    def __init__(self, rows: int):
        super().__init__()
        # empty until `update_tables` (their sizes depend on what they are built from)
        self.register_buffer("cdf_counts", torch.zeros(rows, 1, dtype=torch.int32))
        self.register_buffer("cdf_offsets", torch.zeros(rows, dtype=torch.int32))
        self.register_buffer("cdf_lengths", torch.zeros(rows, dtype=torch.int32))

    def _store_tables(self, tables: list[torch.Tensor], offsets: list[int]) -> None:
        """Keep `tables` (int32 counts, escape last, one per row) and their offsets."""
        self.cdf_counts = torch.zeros(len(tables), max(len(t) for t in tables),
                                      dtype=torch.int32)  # (rows, longest), padded with 0
        for i, table in enumerate(tables):
            self.cdf_counts[i, : len(table)] = table
        self.cdf_offsets = torch.tensor(offsets, dtype=torch.int32)
        self.cdf_lengths = torch.tensor([len(t) for t in tables], dtype=torch.int32)

    def has_tables(self) -> bool:
        """Whether `update_tables` has stored coding tables."""
        return bool(self.cdf_lengths.numel()) and int(self.cdf_lengths.min()) > 1

    def table(self, i: int) -> tuple[int, torch.Tensor]:
        """Table i: (offset, counts), counts (L,) int32 with the escape last."""
        return int(self.cdf_offsets[i]), self.cdf_counts[i, : int(self.cdf_lengths[i])]

    def encode(self, writer: StreamWriter, values: torch.Tensor,
               tables: torch.Tensor | None = None) -> None:
        """Write the integers `values` into the stream, as one section.

        Args:
            writer: the stream.
            values: integers (float or int), any shape (R, ...).
            tables: the table of each value (same shape, integers). None: slice i of
                `values` is coded with table i (a factorized prior: channel c with its own).
                Values are written table by table, in increasing table order, each table's
                values in row-major order.
        """
        if tables is None:
            writer.write([(values[i], *self.table(i)) for i in range(len(values))])
        else:
            writer.write([(values[tables == i], *self.table(i)) for i in _used(tables)])

    def decode(self, reader: StreamReader, shape: tuple[int, ...],
               tables: torch.Tensor | None = None) -> torch.Tensor:
        """Mirror of `encode`: read integers of `shape` (int64) from the stream.

        Args:
            reader: the stream.
            shape: the values' shape (R, ...).
            tables: as for `encode` (of `shape`), or None.
        """
        if tables is None:
            amount = math.prod(shape[1:])
            values = reader.read([(amount, *self.table(i)) for i in range(shape[0])])
            return torch.from_numpy(np.stack(values)).view(shape)
        used = _used(tables)
        values = reader.read([(int((tables == i).sum()), *self.table(i)) for i in used])
        decoded = torch.empty(shape, dtype=torch.int64)
        for i, group in zip(used, values):
            decoded[tables == i] = torch.from_numpy(group)
        return decoded

    def bits(self, values: torch.Tensor, tables: torch.Tensor | None = None) -> torch.Tensor:
        """The bits `encode` spends on each of `values` (float32, same shape): the same
        integer counts the coder uses, an escape's 32 bits included (the stream as a whole
        adds a few bytes).

        Args:
            values, tables: as for `encode`.
        """
        if tables is None:  # slice i: table i
            tables = torch.arange(len(values)).view(-1, *[1] * (values.dim() - 1))
            tables = tables.expand_as(values)
        return symbol_bits(values, tables, self.cdf_counts, self.cdf_offsets, self.cdf_lengths)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # the tables' sizes depend on what they were built from: take them from the file
        for name in ("cdf_counts", "cdf_offsets", "cdf_lengths"):
            if prefix + name in state_dict:
                setattr(self, name, torch.empty_like(state_dict[prefix + name]))
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)


def build_coding_tables(model: nn.Module) -> None:
    """Rebuild the integer coding tables of every entropy model in `model` from its
    density (`update_tables`): the step that makes a trained codec ready to write files.
    `fit` takes it before each checkpoint it saves, the recipes before saving a shipped
    model; `save_checkpoint` itself saves what it is given."""
    for module in model.modules():
        if isinstance(module, CodingTables):
            module.update_tables()


class FactorizedPrior(CodingTables):
    """A learned density for each latent channel, shared by all positions, and the
    integer coding tables made from it (`update_tables`).

    Args:
        channels: C, the latent channels.
        filters: hidden sizes of the per-channel cumulative network.
        init_scale: rough spread of the latents at the start (the initial density is wide).
    """

    def __init__(
        self, channels: int, filters: tuple[int, ...] = (3, 3, 3), init_scale: float = 10.0
    ):
        super().__init__(rows=channels)
        sizes = (1, *filters, 1)
        scale = init_scale ** (1 / (len(sizes) - 1))
        self.matrices = nn.ParameterList()
        self.biases = nn.ParameterList()
        self.gates = nn.ParameterList()
        for i in range(len(sizes) - 1):
            # softplus(raw) = 1 / (scale * fan_in) at the start, so c starts wide and smooth
            raw = torch.log(torch.expm1(torch.tensor(1 / scale / sizes[i + 1])))
            self.matrices.append(nn.Parameter(raw.expand(channels, sizes[i + 1], sizes[i]).clone()))
            self.biases.append(nn.Parameter(torch.rand(channels, sizes[i + 1], 1) - 0.5))
            if i < len(sizes) - 2:
                self.gates.append(nn.Parameter(torch.zeros(channels, sizes[i + 1], 1)))

    def cumulative_logits(self, v: torch.Tensor) -> torch.Tensor:
        """logit of c(v) for v of shape (C, 1, M): one row of M values per channel."""
        h = v  # (C, 1, M)
        for i, (matrix, bias) in enumerate(zip(self.matrices, self.biases)):
            h = torch.matmul(F.softplus(matrix), h) + bias  # (C, out, M)
            if i < len(self.gates):
                h = h + torch.tanh(self.gates[i]) * torch.tanh(h)
        return h  # (C, 1, M)

    def likelihood(self, y_hat: torch.Tensor) -> torch.Tensor:
        """P(y_hat) of each value of y_hat (N, C, H, W): c(y + 0.5) - c(y - 0.5)."""
        n, c, h, w = y_hat.shape
        v = y_hat.permute(1, 0, 2, 3).reshape(c, 1, -1)  # (C, 1, N*H*W)
        lower = self.cumulative_logits(v - 0.5)
        upper = self.cumulative_logits(v + 0.5)
        # sigmoid(upper) - sigmoid(lower), computed on the side where it is not 1 - 1
        sign = -torch.sign(lower + upper).detach()
        p = (torch.sigmoid(sign * upper) - torch.sigmoid(sign * lower)).abs()
        p = p.reshape(c, n, h, w).permute(1, 0, 2, 3)  # (N, C, H, W)
        return p.clamp_min(LIKELIHOOD_FLOOR)

    @torch.no_grad()
    def update_tables(self) -> None:
        """Build the integer coding tables from the learned density and store them.

        Row c of `cdf_counts` covers the integers offset_c .. offset_c + length_c - 2 (all
        but a tail mass of at most 2^-12), then one escape symbol for everything outside;
        counts are >= 1 and sum to 2^16. Rows are padded with zeros to the longest.
        Call it after training changes the density; files are coded with these tables.
        """
        channels = len(self.biases[0])
        values = torch.arange(-SCAN, SCAN + 1, dtype=torch.float32)  # (V,)
        y_hat = values.view(1, 1, -1, 1).expand(1, channels, -1, 1).contiguous()
        pmf = self.likelihood(y_hat)[0, :, :, 0].double()  # (C, V)
        pmf = pmf / pmf.sum(dim=1, keepdim=True)
        tables, offsets = [], []
        for c in range(channels):
            cdf = pmf[c].cumsum(0)
            lo = int(torch.searchsorted(cdf, torch.tensor(TAIL_MASS / 2, dtype=torch.float64)))
            hi = int(torch.searchsorted(cdf, torch.tensor(1 - TAIL_MASS / 2, dtype=torch.float64)))
            kept = pmf[c, lo : hi + 1]
            tables.append(_to_counts(torch.cat([kept, (1 - kept.sum()).view(1)])))
            offsets.append(lo - SCAN)
        self._store_tables(tables, offsets)  # table c is channel c's

    def forward(self, y: torch.Tensor, mode: str = "noise") -> tuple[torch.Tensor, torch.Tensor]:
        """Quantize y (noise in training, rounding otherwise) and give the likelihoods."""
        with torch.autocast(y.device.type, enabled=False):  # float32 under mixed precision
            y_hat = quantize(y.float(), mode if self.training else "round")
            return y_hat, self.likelihood(y_hat)


def _used(tables: torch.Tensor) -> list[int]:
    """The table numbers that occur in `tables`, increasing."""
    return torch.bincount(tables.flatten()).nonzero().flatten().tolist()


def _to_counts(probabilities: torch.Tensor) -> torch.Tensor:
    """Float probabilities -> int32 counts, each >= 1, summing exactly to 2^16."""
    total = 2**TABLE_PRECISION
    counts = (probabilities.clamp_min(0) * (total - len(probabilities))).floor().long() + 1
    counts[counts.argmax()] += total - counts.sum()  # put the rounding leftover on the mode
    return counts.to(torch.int32)


def estimated_bits(likelihoods: torch.Tensor) -> torch.Tensor:
    """The ideal code length in bits, -sum(log2 P), as a 0-dim tensor (differentiable)."""
    return -torch.log2(likelihoods).sum()


# --- the Gaussian conditional: a density per value, predicted by the hyperprior ------------

SCALE_BOUND = 0.11  # smallest scale a Gaussian may have (a narrower one is all one bin)
SCALE_LADDER = tuple(math.exp(math.log(SCALE_BOUND) + i * (math.log(256) - math.log(SCALE_BOUND))
                              / 63) for i in range(64))  # 0.11 .. 256, evenly in log scale


class _LowerBound(torch.autograd.Function):
    """max(x, bound) whose gradient still flows where it would raise x (so a value stuck
    below the bound can come back), as in Ballé et al.'s code."""

    @staticmethod
    def forward(ctx, x, bound: float):
        ctx.save_for_backward(x)
        ctx.bound = bound
        return x.clamp_min(bound)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * ((x >= ctx.bound) | (grad < 0)).to(grad.dtype), None


def lower_bound(x: torch.Tensor, bound: float) -> torch.Tensor:
    """x.clamp_min(bound), with a gradient that can still lift values below the bound."""
    return _LowerBound.apply(x, bound)


def _normal_cdf(t: torch.Tensor) -> torch.Tensor:
    """Phi(t), the standard normal CDF, accurate far into the tails."""
    return 0.5 * torch.erfc(-t * 2**-0.5)


def gaussian_likelihood(values: torch.Tensor, scales: torch.Tensor) -> torch.Tensor:
    """P(n) = Phi((n + 1/2) / s) - Phi((n - 1/2) / s) of integer offsets n = y_hat - mean
    (or noisy ones in training) under N(0, s^2); computed on the side where it is not 1 - 1.
    """
    scales = lower_bound(scales, SCALE_BOUND)
    v = values.abs()
    p = _normal_cdf((0.5 - v) / scales) - _normal_cdf((-0.5 - v) / scales)
    return lower_bound(p, LIKELIHOOD_FLOOR)


class GaussianConditional(CodingTables):
    """The entropy model of y in a hyperprior codec (Ballé et al. 2018; the means are
    Minnen et al. 2018's): each value y_i has its own Gaussian N(mean_i, scale_i^2), whose
    mean and scale the hyper-decoder predicts from the side latent z_hat.

    How it codes, in one place. The tables are zero-mean: a file holds the integers
        symbol = round(y - mean)
    each coded with the table of its scale (`compress`), and the decoder returns
        y_hat = symbol + mean
    (`decompress`), the same y_hat as `forward` gives outside training. The scales come
    from a network, so they are floats; a file can only be decoded with exactly the tables
    it was encoded with. So `update_tables` builds integer tables once for a fixed ladder of
    scales (`scale_ladder`, 0.11 to 256, 64 steps evenly spaced in log scale), and each
    value is coded with the table of the smallest ladder scale at least as wide as its own
    (`table_index`).

    Args:
        scale_ladder: the scales that get a coding table.
    """

    def __init__(self, scale_ladder: tuple[float, ...] = SCALE_LADDER):
        super().__init__(rows=len(scale_ladder))
        self.register_buffer("scale_ladder", torch.tensor(scale_ladder, dtype=torch.float32))

    def forward(self, y: torch.Tensor, scales: torch.Tensor,
                means: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """y (N, C, h, w) and its predicted scales and means (same shape) -> (y_hat,
        likelihoods). Training: y + noise; otherwise round(y - means) + means."""
        with torch.autocast(y.device.type, enabled=False):  # float32 under mixed precision
            y, scales, means = y.float(), scales.float(), means.float()
            y_hat = quantize(y, "noise") if self.training else quantize(y - means) + means
            return y_hat, gaussian_likelihood(y_hat - means, scales)

    def table_index(self, scales: torch.Tensor) -> torch.Tensor:
        """The coding table of each value: the first ladder scale >= its scale (int64)."""
        ladder = self.scale_ladder[:-1].contiguous()
        return torch.bucketize(scales.clamp_min(SCALE_BOUND).contiguous(), ladder)

    def compress(self, writer: StreamWriter, y: torch.Tensor, means: torch.Tensor,
                 scales: torch.Tensor) -> torch.Tensor:
        """Write y as the integers round(y - means), each with the table its scale picks.

        Args:
            writer: the stream (one section).
            y, means, scales: (C, h, w) each.

        Returns:
            the table of each value, (C, h, w) uint8.
        """
        symbols = quantize(y - means)  # (C, h, w) integers
        tables = self.table_index(scales).to(torch.uint8)  # (C, h, w): 64 tables, 1 byte each
        self.encode(writer, symbols, tables)
        return tables

    def decompress(self, reader: StreamReader, means: torch.Tensor,
                   scales: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Mirror of `compress`: (y_hat = symbols + means, symbols (int64), tables (uint8)),
        each of means' shape (C, h, w).

        Args:
            reader: the stream.
            means, scales: what the hyper-decoder predicted from the file's z_hat; a
                non-finite one means the file's side information is corrupt.
        """
        if not (torch.isfinite(means).all() and torch.isfinite(scales).all()):
            raise CodecError("corrupt stream: its side information makes the hyper-decoder "
                             "overflow")
        tables = self.table_index(scales).to(torch.uint8)  # (C, h, w)
        symbols = self.decode(reader, tuple(means.shape), tables)  # (C, h, w) int64
        return symbols.float() + means, symbols, tables

    @torch.no_grad()
    def update_tables(self) -> None:
        """Build one integer table per ladder scale: counts >= 1 summing to 2^16 over the
        offsets n = -L .. L that hold all but 2^-12 of the mass, then an escape symbol."""
        tables, offsets = [], []
        for scale in self.scale_ladder.double():
            reach = int(math.ceil(float(scale) * 4.5)) + 1  # beyond: under 2^-12 of the mass
            n = torch.arange(-reach, reach + 1, dtype=torch.float64)
            pmf = _normal_cdf((n + 0.5) / scale) - _normal_cdf((n - 0.5) / scale)
            tables.append(_to_counts(torch.cat([pmf, (1 - pmf.sum()).clamp_min(0).view(1)])))
            offsets.append(-reach)
        self._store_tables(tables, offsets)  # table i is the ladder's scale i
