"""The shipped codecs' names and numbers, without PyTorch: the families, their lambdas and
the `--quality` each lambda answers to.

`aecodec.zoo` (which loads the models) and `aecodec.models.context` take their constants
from here, so that the command line can describe the codecs (`aecodec compress --help`, or
a mistake in its arguments) without waiting seconds for PyTorch to import.

Holds: constants only. Does not hold: where the files are or how to load them (`aecodec.zoo`).
"""

RD_LAMBDAS = (0.0018, 0.0035, 0.0067, 0.013)  # the course's fixed-rate families, low to high
QUALITIES = {quality: lmbda for quality, lmbda in enumerate(RD_LAMBDAS, start=1)}
DEFAULT_QUALITY = 3  # of a fixed-rate family

# the lambdas the default codec is trained at: Kodak from about 0.17 to 0.75 bpp
DEFAULT_LAMBDAS = (0.0009, 0.0018, 0.0035, 0.0067, 0.013, 0.026)
DEFAULT_QUALITIES = {quality: lmbda for quality, lmbda in enumerate(DEFAULT_LAMBDAS, start=1)}
DEFAULT_CODEC_QUALITY = 4  # lambda 0.0067, the old default's rate

FAMILIES = {"factorized": "rd_lambda{}.pt", "hyperprior": "hp_lambda{}.pt"}  # fixed rate
VARIABLE_FAMILIES = ("context", "variable-rate")  # one model for a range of lambdas
ALL_FAMILIES = ("context", "variable-rate", "hyperprior", "factorized")
DEFAULT_FAMILY = "context"  # the default codec (docs/codec.md)
