"""Range coding: integers <-> bytes, with integer tables; the only module using `constriction`.

Holds: `StreamWriter` and `StreamReader` (one stream, written and read in the same order,
in *sections*: each section is a list of groups of integers, each group coded with one
table), the escape scheme, `check_stream_size`, `symbol_bits` (what the coder spends on a
value: `bits_map` and the coder can never disagree) and the stream's limits (`MAX_VALUE`,
`MAX_SYMBOL_BITS`). Does not hold: where the tables come from (`aecodec.entropy`), which
integers a model codes (the models), or the file around the stream (`aecodec.codec`).

A table is (offset, counts): counts (L,) int32, each >= 1, summing to 2^16; symbol s < L - 1
stands for the integer offset + s and the last symbol is the *escape*. The coder receives
counts / 2^16, an exact floating-point division by a power of two, and `constriction` turns
it into its fixed-point model deterministically: no float maths of the network reaches the
probabilities, so a stream decodes alike on every machine.

Escapes. A value outside its table is coded as the escape symbol; once a section's groups
are all written, its escaped values follow as 32-bit two's complement numbers, each two
uniform 16-bit symbols. Values are clamped to +-`MAX_VALUE` first so that they fit.

Hostile streams. `StreamReader` raises `CodecError` for a stream no encoder writes: a
length that is not whole 32-bit words or longer than its values could need
(`check_stream_size`), one the range decoder refuses, one with data left over (`close`), or
one escaping to a value inside its table or beyond +-`MAX_VALUE`.
"""

import constriction
import numpy as np
import torch

from aecodec.errors import CodecError

PRECISION = 16  # table counts sum to 2^16
MAX_VALUE = 2**30  # values are clamped to +-2^30 so escapes fit in 32 bits
ESCAPE_BITS = 32  # an escaped value's number, after its escape symbol
MAX_SYMBOL_BITS = 24 + ESCAPE_BITS  # most one value can cost: a symbol (>= 2^-24) + an escape

Table = tuple[int, torch.Tensor]  # (offset, counts (L,) int32 with the escape last)


def categorical(counts: torch.Tensor):
    """constriction's model of one table: counts / 2^16, an exact division."""
    probabilities = counts.numpy().astype(np.float64) / 2**PRECISION
    return constriction.stream.model.Categorical(probabilities, perfect=False)


_UNIFORM_16 = 2**16  # an escaped value is two 16-bit halves


class StreamWriter:
    """Integers -> one range-coded stream, section by section (`write`), then `getvalue`."""

    def __init__(self):
        self._encoder = constriction.stream.queue.RangeEncoder()

    def write(self, groups: list[tuple[torch.Tensor, int, torch.Tensor]]) -> None:
        """One section: groups (values, offset, counts), each coded with its table (value v
        is symbol v - offset; values outside the table are sent as the escape symbol, then,
        after all the groups, as 32-bit numbers)."""
        escaped = []
        for values, offset, counts in groups:
            values = values.flatten().long().clamp(-MAX_VALUE, MAX_VALUE).numpy()
            escape = len(counts) - 1
            symbols = values - offset
            outside = (symbols < 0) | (symbols >= escape)
            symbols[outside] = escape
            self._encoder.encode(symbols.astype(np.int32), categorical(counts))
            escaped.append(values[outside])
        escaped = np.concatenate(escaped).astype(np.int64) if escaped else np.zeros(0, np.int64)
        if len(escaped):
            bits = (escaped & 0xFFFFFFFF).astype(np.uint32)  # two's complement, 32 bits
            uniform = constriction.stream.model.Uniform(_UNIFORM_16)
            self._encoder.encode((bits >> 16).astype(np.int32), uniform)
            self._encoder.encode((bits & 0xFFFF).astype(np.int32), uniform)

    def getvalue(self) -> bytes:
        """The stream: whole 32-bit words."""
        return self._encoder.get_compressed().tobytes()


class StreamReader:
    """One range-coded stream -> integers, section by section (`read`), then `close`.

    Args:
        stream: the bytes `StreamWriter.getvalue` gave.
        num_values: how many integers the stream holds in all (bounds its size).
    """

    def __init__(self, stream: bytes, num_values: int):
        check_stream_size(len(stream), num_values)
        self._decoder = constriction.stream.queue.RangeDecoder(
            np.frombuffer(stream, dtype=np.uint32))

    def read(self, groups: list[tuple[int, int, torch.Tensor]]) -> list[np.ndarray]:
        """Mirror of `StreamWriter.write`: groups (how many values, offset, counts) -> the
        values of each group (int64)."""
        decoded, escapes = [], []
        for amount, offset, counts in groups:
            symbols = self._decode(categorical(counts), amount).astype(np.int64)
            decoded.append(symbols + offset)
            escapes.append(np.nonzero(symbols == len(counts) - 1)[0])
        count = sum(len(where) for where in escapes)
        if count:
            uniform = constriction.stream.model.Uniform(_UNIFORM_16)
            high = self._decode(uniform, count).astype(np.int64)
            low = self._decode(uniform, count).astype(np.int64)
            bits = (high << 16) | low
            values = np.where(bits >= 2**31, bits - 2**32, bits)  # back from two's complement
            start = 0
            for i, ((_, offset, counts), where) in enumerate(zip(groups, escapes)):
                decoded[i][where] = _check_escaped(i, offset, counts,
                                                   values[start : start + len(where)])
                start += len(where)
        return decoded

    def close(self) -> None:
        """Refuse a stream with data left over after the last value."""
        if not self._decoder.maybe_exhausted():
            raise CodecError("corrupt stream: data is left over after the last latent")

    def _decode(self, entropy_model, amount: int) -> np.ndarray:
        """`amount` symbols, the range decoder's complaints turned into `CodecError`."""
        try:
            return self._decoder.decode(entropy_model, amount)
        except (AssertionError, ValueError, RuntimeError) as e:  # what constriction raises
            raise CodecError(f"corrupt stream: the range decoder refused it ({e})") from None


def check_stream_size(size: int, num_values: int) -> None:
    """Refuse stream sizes no encoder writes, before decoding anything."""
    if size % 4:
        raise CodecError("corrupt stream: its length is not a multiple of 4 bytes")
    most = (num_values * MAX_SYMBOL_BITS + 7) // 8 + 8  # + the coder's last two words
    if size > most:
        raise CodecError(f"corrupt stream: {size} bytes, but {num_values} latents "
                         f"never need more than {most}")


def _check_escaped(group: int, offset: int, counts: torch.Tensor,
                   values: np.ndarray) -> np.ndarray:
    """Escaped values must lie outside their table and within +-MAX_VALUE."""
    high = offset + len(counts) - 1  # the table covers offset .. high - 1
    bad = ((values >= offset) & (values < high)) | (np.abs(values) > MAX_VALUE)
    if bad.any():
        raise CodecError(f"corrupt stream: group {group} escapes to {int(values[bad][0])}, "
                         "a value no encoder escapes")
    return values


def symbol_bits(values: torch.Tensor, tables: torch.Tensor, counts: torch.Tensor,
                offsets: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """The bits the coder spends on each integer of `values`: -log2(count / 2^16) of its
    symbol, plus `ESCAPE_BITS` for a value outside its table (the coder adds a few bytes
    for the whole stream). Float32, the shape of `values`.

    Args:
        values: integers, any shape.
        tables: the table of each value (same shape), a row of `counts`.
        counts, offsets, lengths: all the tables: (rows, longest) counts padded with
            zeros, and each row's offset and length (the escape at length - 1).
    """
    tables = tables.long()
    escape = lengths.long()[tables] - 1
    symbols = values.long() - offsets.long()[tables]
    outside = (symbols < 0) | (symbols >= escape)
    symbols = torch.where(outside, escape, symbols)
    bits = -torch.log2(counts.long()[tables, symbols].double() / 2**PRECISION)
    return (bits + ESCAPE_BITS * outside).float()
