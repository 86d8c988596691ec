"""Fuzzing the decoder: truncated, damaged, forged and random .aec files.

Whatever the bytes, `decompress` must end in a `CodecError` whose message names the
problem, or in a valid image: never another exception, a crash, a hang or a huge
allocation. The corpus is small crops of Kodak images written by a shipped model, so
each decode takes milliseconds and the suite runs thousands of cases.

Most damage is caught by the CRC-32, so the interesting tests recompute the checksum after
damaging a file: then the header checks, the stream checks and the range decoder itself
meet the damage.
"""

import struct
import zlib

import constriction
import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aecodec import codec, rangecoder, zoo
from aecodec.codec import (
    CRC,
    FORMAT_VERSION,
    HEADER,
    HYPERPRIOR_HEADER,
    HYPERPRIOR_VERSION,
    MAGIC,
    MAX_PIXELS,
    compress,
    decode_latents,
    decompress,
    encode_latents,
    model_id,
    read_header,
)
from aecodec.entropy import TABLE_PRECISION
from aecodec.errors import AecodecError, CodecError
from aecodec.images import load_image

# (image, top, left, height, width): small crops, odd sizes included
CROPS = [("kodim01", 100, 200, 16, 16), ("kodim05", 50, 300, 24, 40),
         ("kodim13", 0, 0, 48, 32), ("kodim23", 200, 300, 33, 17)]
FUZZ = settings(max_examples=250, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny images decode fastest on one thread (and the suite may share the CPU)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def model():
    """The shipped factorized codec of quality 1 (the smallest files)."""
    return zoo.load_codec(1, "factorized")


@pytest.fixture(scope="module")
def corpus(model, kodak_dir) -> list[bytes]:
    """Real .aec files of small Kodak crops."""
    files = []
    for name, top, left, height, width in CROPS:
        x = load_image(kodak_dir / f"{name}.png")[:, top : top + height, left : left + width]
        files.append(compress(model, x))
    return files


def forge(model, height: int, width: int, stream: bytes, *, latent_shape=None,
          size: int | None = None, ident: bytes | None = None) -> bytes:
    """An .aec file with any header fields and a correct checksum."""
    shape = latent_shape or model.latent_shape(height, width)
    header = HEADER.pack(MAGIC, FORMAT_VERSION, ident or model_id(model), height, width,
                         *shape, len(stream) if size is None else size)
    return with_crc(header + stream)


def with_crc(body: bytes) -> bytes:
    return body + CRC.pack(zlib.crc32(body))


def edited(data: bytes, edits: list[tuple[int, int]]) -> bytes:
    """`data` with bytes set at (position, value) pairs (positions wrap around the body),
    and a checksum that fits again."""
    body = bytearray(data[: -CRC.size])
    for position, value in edits:
        body[position % len(body)] = value
    return with_crc(bytes(body))


def outcome(model, data: bytes) -> str:
    """Decode `data`: "image" for a valid image, else the CodecError's message.

    Any other exception fails the calling test.
    """
    try:
        x_hat = decompress(model, data)
    except CodecError as e:
        assert isinstance(e, AecodecError) and len(str(e)) > 10, "say what is wrong"
        return str(e)
    header = read_header(data)
    assert x_hat.shape == (3, header["height"], header["width"])
    assert torch.isfinite(x_hat).all() and x_hat.min() >= 0 and x_hat.max() <= 1
    assert torch.equal(x_hat, torch.round(x_hat * 255) / 255), "8-bit values"
    return "image"


def flip(data: bytes, bit: int) -> bytes:
    damaged = bytearray(data)
    damaged[bit // 8] ^= 1 << (bit % 8)
    return bytes(damaged)


# --- the corpus itself ----------------------------------------------------------------


def test_corpus_decodes(model, corpus):
    assert [outcome(model, data) for data in corpus] == ["image"] * len(corpus)


# --- damage the checksum catches ------------------------------------------------------


def test_every_truncation_is_refused(model, corpus):
    for data in corpus:
        for length in range(len(data)):
            message = outcome(model, data[:length])
            assert "only" in message or "truncated" in message, message


def test_every_bit_flip_is_refused(model, corpus):
    for data in corpus[:2]:
        for bit in range(8 * len(data)):
            message = outcome(model, flip(data, bit))
            assert message != "image"
            assert any(word in message for word in ("magic", "version", "truncated", "checksum"))


# --- damage behind a recomputed checksum ----------------------------------------------


def test_every_bit_flip_behind_a_valid_checksum(model, corpus):
    """Each flip of the header or stream: a clear refusal or an image, and both happen."""
    messages = []
    for data in corpus[:2]:
        body = data[: -CRC.size]
        messages += [outcome(model, with_crc(flip(body, bit))) for bit in range(8 * len(body))]
    assert "image" in messages  # the stream decodes to another picture
    for expected in ("magic", "version", "another model", "does not fit", "truncated",
                     "corrupt stream"):
        assert any(expected in m for m in messages), expected


@FUZZ
@given(which=st.integers(0, len(CROPS) - 1),
       edits=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), min_size=1,
                      max_size=8))
def test_random_edits_behind_a_valid_checksum(model, corpus, which, edits):
    outcome(model, edited(corpus[which], edits))


@FUZZ
@given(which=st.integers(0, len(CROPS) - 1), cut=st.integers(0, 400),
       extra=st.binary(max_size=64))
def test_resized_streams_with_a_matching_header(model, corpus, which, cut, extra):
    """Streams cut short or extended, the header's stream size kept in step."""
    header = read_header(corpus[which])
    stream = header["stream"][: max(0, len(header["stream"]) - cut)] + extra
    outcome(model, forge(model, header["height"], header["width"], stream))


@FUZZ
@given(height=st.integers(1, 64), width=st.integers(1, 64),
       words=st.lists(st.integers(0, 2**32 - 1), max_size=80))
def test_random_streams_under_a_valid_header(model, height, width, words):
    """The range decoder fed garbage: most decodes to some image, nothing else escapes."""
    stream = np.array(words, dtype=np.uint32).tobytes()
    outcome(model, forge(model, height, width, stream))


@FUZZ
@given(data=st.binary(max_size=300))
def test_random_bytes(model, data):
    assert outcome(model, data) != "image"
    assert outcome(model, MAGIC + bytes([FORMAT_VERSION]) + data) != "image"


# --- forged headers -------------------------------------------------------------------


@pytest.fixture
def no_decoding(monkeypatch):
    """Make any attempt to decode (and so to allocate for) the latents fail the test."""
    def refuse(*args, **kwargs):
        raise AssertionError("the decoder should have refused before decoding")

    monkeypatch.setattr(rangecoder.StreamReader, "read", refuse)
    monkeypatch.setattr(codec, "synthesis", refuse)


@pytest.mark.parametrize("height, width, message", [
    (2**32 - 1, 2**32 - 1, "MAX_PIXELS"),
    (65535 * 16, 65535 * 16, "MAX_PIXELS"),
    (MAX_PIXELS // 4096 + 1, 4096, "MAX_PIXELS"),
    (0, 100, "corrupt header"),
    (100, 0, "corrupt header"),
])
def test_absurd_sizes_are_refused_before_allocating(model, no_decoding, height, width, message):
    side = 2**model.config.downsamplings  # pixels per latent position
    shape = (model.config.latent_channels, min(-(-height // side), 65535),
             min(-(-width // side), 65535))
    data = forge(model, height, width, b"\0" * 8, latent_shape=shape)
    with pytest.raises(CodecError, match=message):
        decompress(model, data)


@pytest.mark.parametrize("fields, message", [
    (dict(latent_shape=(65535, 65535, 65535)), "does not fit"),
    (dict(latent_shape=(63, 2, 2)), "does not fit"),
    (dict(ident=b"\0" * 8), "another model"),
    (dict(size=2**32 - 1), "truncated or padded"),
])
def test_inconsistent_headers_are_refused_before_decoding(model, no_decoding, fields, message):
    with pytest.raises(CodecError, match=message):
        decompress(model, forge(model, 32, 32, b"\0" * 8, **fields))


def test_stream_longer_than_the_latents_could_need(model, no_decoding):
    with pytest.raises(CodecError, match="never need more"):
        decompress(model, forge(model, 1, 1, b"\0" * 4000))  # one latent a channel: far less


def test_stream_of_odd_length_is_refused(model):
    with pytest.raises(CodecError, match="multiple of 4"):
        decompress(model, forge(model, 16, 16, b"\0" * 7))


def test_biggest_accepted_header_is_read(model):
    """MAX_PIXELS itself passes the header checks (only a decode would take long)."""
    header = read_header(forge(model, MAX_PIXELS // 4096, 4096, b""))
    assert header["height"] * header["width"] == MAX_PIXELS


# --- escapes and the stream bound -----------------------------------------------------


def one_position(model) -> int:
    """The side in pixels of an image whose latent has one position."""
    return 2**model.config.downsamplings


def escaped_stream(model, value: int) -> bytes:
    """The stream of a one-position latent (one value a channel), the first escaped to
    `value` (32 bits)."""
    encoder = constriction.stream.queue.RangeEncoder()
    for c in range(model.config.latent_channels):
        offset, counts = model.prior.table(c)
        symbol = len(counts) - 1 if c == 0 else -offset  # channel 0 escapes, the others are 0
        encoder.encode(np.array([symbol], dtype=np.int32), rangecoder.categorical(counts))
    uniform = constriction.stream.model.Uniform(2**16)
    bits = value & 0xFFFFFFFF
    encoder.encode(np.array([bits >> 16], dtype=np.int32), uniform)
    encoder.encode(np.array([bits & 0xFFFF], dtype=np.int32), uniform)
    return encoder.get_compressed().tobytes()


@pytest.mark.parametrize("value, message", [
    (0, "escapes to 0"),  # inside the table: no encoder escapes it
    (2**31 - 1, "escapes to"),  # beyond MAX_VALUE
    (-(2**31), "escapes to"),
])
def test_impossible_escapes_are_refused(model, value, message):
    data = forge(model, one_position(model), one_position(model), escaped_stream(model, value))
    with pytest.raises(CodecError, match=message):
        decompress(model, data)


@pytest.mark.parametrize("value", [codec.MAX_VALUE, -codec.MAX_VALUE])
def test_the_largest_legal_escape_gives_an_image_or_a_clear_error(model, value):
    """A latent of +-2^30 is legal; the decoder either survives it or says it overflowed."""
    data = forge(model, one_position(model), one_position(model), escaped_stream(model, value))
    result = outcome(model, data)
    assert result == "image" or "overflow" in result, result


def test_a_decoder_that_overflows_is_a_corrupt_stream():
    with pytest.raises(CodecError, match="overflow"):
        codec._finite_8bit(torch.tensor([[[[0.5, float("nan")]]]]))


def test_legal_escape_decodes(model):
    value = int(model.prior.cdf_offsets[0]) - 3  # just below channel 0's table
    data = forge(model, one_position(model), one_position(model), escaped_stream(model, value))
    assert outcome(model, data) == "image"
    shape = (model.config.latent_channels, 1, 1)
    assert decode_latents(model.prior, read_header(data)["stream"], shape)[0, 0, 0] == value


@pytest.mark.parametrize("fill", ["escapes", "rarest"])
def test_costliest_latents_fit_the_stream_bound(model, fill):
    """The size check never refuses a real stream: the costliest latents pass it."""
    channels = model.config.latent_channels
    shape = (channels, 6, 5)
    if fill == "escapes":
        y_hat = torch.full(shape, -codec.MAX_VALUE, dtype=torch.long)
    else:  # each channel's least likely value in its table
        prior = model.prior
        rarest = [int(prior.table(c)[1][:-1].argmin()) for c in range(channels)]
        y_hat = (torch.tensor(rarest) + prior.cdf_offsets.long()).view(channels, 1, 1)
        y_hat = y_hat.expand(shape)
    stream = encode_latents(model.prior, y_hat)
    if fill == "escapes":
        assert len(stream) >= y_hat.numel()  # at least 8 bits a latent: truly costly
    else:  # as costly as the tables say (a channel the model does not use has one value)
        p = model.prior.cdf_counts.double()[range(channels), rarest] / 2**TABLE_PRECISION
        assert 8 * len(stream) >= 0.99 * -torch.log2(p).sum().item() * 6 * 5
    assert torch.equal(decode_latents(model.prior, stream, shape), y_hat)  # the bound let it pass


def test_left_over_data_is_refused(model, corpus):
    header = read_header(corpus[2])
    stream = header["stream"] + struct.pack("<I", 0x12345678) * 2
    with pytest.raises(CodecError, match="corrupt stream"):
        decompress(model, forge(model, header["height"], header["width"], stream))


# --- the hyperprior's files (format version 2) ------------------------------------------


@pytest.fixture(scope="module")
def hp_model(small_hyperprior):
    return small_hyperprior


@pytest.fixture(scope="module")
def hp_corpus(hp_model, kodak_dir) -> list[bytes]:
    files = []
    for name, top, left, height, width in CROPS:
        x = load_image(kodak_dir / f"{name}.png")[:, top : top + height, left : left + width]
        files.append(compress(hp_model, x))
    return files


def hp_forge(model, height: int, width: int, stream: bytes, side_shape=None) -> bytes:
    shape, side = model.latent_shape(height, width), side_shape or model.side_shape(height,
                                                                                     width)
    return with_crc(HYPERPRIOR_HEADER.pack(MAGIC, HYPERPRIOR_VERSION, model_id(model), height,
                                           width, *shape, *side, len(stream)) + stream)


def test_hyperprior_corpus_decodes_and_every_truncation_is_refused(hp_model, hp_corpus):
    assert [outcome(hp_model, data) for data in hp_corpus] == ["image"] * len(hp_corpus)
    for data in hp_corpus:
        for length in range(len(data)):
            message = outcome(hp_model, data[:length])
            assert "only" in message or "truncated" in message, message


def test_every_bit_flip_of_a_hyperprior_file_behind_a_valid_checksum(hp_model, hp_corpus):
    messages = []
    for data in hp_corpus[:2]:
        body = data[: -CRC.size]
        messages += [outcome(hp_model, with_crc(flip(body, bit))) for bit in range(8 * len(body))]
    assert "image" in messages
    for expected in ("magic", "version", "another model", "does not fit", "corrupt stream"):
        assert any(expected in m for m in messages), expected


@FUZZ
@given(which=st.integers(0, len(CROPS) - 1),
       edits=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), min_size=1,
                      max_size=8))
def test_random_edits_of_hyperprior_files(hp_model, hp_corpus, which, edits):
    outcome(hp_model, edited(hp_corpus[which], edits))


@FUZZ
@given(height=st.integers(1, 64), width=st.integers(1, 64),
       words=st.lists(st.integers(0, 2**32 - 1), max_size=80))
def test_random_streams_under_a_valid_hyperprior_header(hp_model, height, width, words):
    outcome(hp_model, hp_forge(hp_model, height, width, np.array(words, np.uint32).tobytes()))


@pytest.mark.parametrize("height, width, side_shape, message", [
    (8192, 8192, None, "more than the"),  # 67 megapixels: above MAX_PIXELS
    (32, 32, (4, 65535, 65535), "does not fit"),
    (1, 1, None, "never need more"),  # 132 values never need 4000 bytes
])
def test_forged_hyperprior_sizes_are_refused_before_decoding(hp_model, height, width,
                                                            side_shape, message):
    with pytest.raises(CodecError, match=message):
        decompress(hp_model, hp_forge(hp_model, height, width, b"\0" * 4000, side_shape))


def test_a_factorized_file_is_not_read_as_a_hyperprior_one(hp_model, model, corpus):
    assert "made by a factorized model" in outcome(hp_model, corpus[0])


# --- the variable-rate codec's files (format version 3) -------------------------------------


@pytest.fixture(scope="module")
def vr_corpus(small_variable_rate, kodak_dir) -> list[bytes]:
    files = []
    for (name, top, left, height, width), lmbda in zip(CROPS, (0.0018, 0.0042, 0.013, 0.0067)):
        x = load_image(kodak_dir / f"{name}.png")[:, top : top + height, left : left + width]
        with small_variable_rate.at_lambda(lmbda):
            files.append(compress(small_variable_rate, x))
    return files


def test_variable_rate_corpus_decodes_and_every_truncation_is_refused(small_variable_rate,
                                                                      vr_corpus):
    model = small_variable_rate
    assert [outcome(model, data) for data in vr_corpus] == ["image"] * len(vr_corpus)
    for data in vr_corpus:
        for length in range(len(data)):
            message = outcome(model, data[:length])
            assert "only" in message or "truncated" in message, message


def test_every_bit_flip_of_a_variable_rate_file_behind_a_valid_checksum(small_variable_rate,
                                                                        vr_corpus):
    messages = []
    for data in vr_corpus[:2]:
        body = data[: -CRC.size]
        messages += [outcome(small_variable_rate, with_crc(flip(body, bit)))
                     for bit in range(8 * len(body))]
    assert "image" in messages
    for expected in ("magic", "version", "another model", "does not fit", "corrupt stream",
                     "lambda"):
        assert any(expected in m for m in messages), expected


@FUZZ
@given(which=st.integers(0, len(CROPS) - 1),
       edits=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), min_size=1,
                      max_size=8))
def test_random_edits_of_variable_rate_files(small_variable_rate, vr_corpus, which, edits):
    outcome(small_variable_rate, edited(vr_corpus[which], edits))


def test_variable_rate_and_hyperprior_files_are_not_mixed_up(small_variable_rate, hp_model,
                                                             vr_corpus, hp_corpus):
    assert "made by a variable-rate model" in outcome(hp_model, vr_corpus[0])
    assert "made by a hyperprior model" in outcome(small_variable_rate, hp_corpus[0])


# --- the context codec's files (format version 4) ---------------------------------------


@pytest.fixture(scope="module")
def context_corpus(small_context, kodak_dir) -> list[bytes]:
    files = []
    for (name, top, left, height, width), lmbda in zip(CROPS, (0.0009, 0.0042, 0.026, 0.0067)):
        x = load_image(kodak_dir / f"{name}.png")[:, top : top + height, left : left + width]
        with small_context.at_lambda(lmbda):
            files.append(compress(small_context, x))
    return files


def test_context_corpus_decodes_and_every_truncation_is_refused(small_context, context_corpus):
    model = small_context
    assert [outcome(model, data) for data in context_corpus] == ["image"] * len(CROPS)
    for data in context_corpus:
        for length in range(len(data)):
            message = outcome(model, data[:length])
            assert "only" in message or "truncated" in message, message


def test_every_bit_flip_of_a_context_file_behind_a_valid_checksum(small_context,
                                                                  context_corpus):
    messages = []
    for data in context_corpus[:2]:
        body = data[: -CRC.size]
        messages += [outcome(small_context, with_crc(flip(body, bit)))
                     for bit in range(8 * len(body))]
    assert "image" in messages
    for expected in ("magic", "version", "another model", "does not fit", "corrupt stream",
                     "lambda"):
        assert any(expected in m for m in messages), expected


@FUZZ
@given(which=st.integers(0, len(CROPS) - 1),
       edits=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), min_size=1,
                      max_size=8))
def test_random_edits_of_context_files(small_context, context_corpus, which, edits):
    outcome(small_context, edited(context_corpus[which], edits))


def test_context_and_variable_rate_files_are_not_mixed_up(small_context, small_variable_rate,
                                                          context_corpus, vr_corpus):
    assert "made by a context model" in outcome(small_variable_rate, context_corpus[0])
    assert "made by a variable-rate model" in outcome(small_context, vr_corpus[0])
