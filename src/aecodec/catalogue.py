"""The shipped codecs' names and numbers, without PyTorch: the families, their lambdas and
the `--quality` each lambda answers to.

`aecodec.zoo` (which loads the models) and `aecodec.models.context` take their constants
from here, so that the command line can describe the codecs (`aecodec compress --help`, or
a mistake in its arguments) without waiting seconds for PyTorch to import.

It also holds the training budgets and the recipe settings that the training commands'
`--help` shows, for the same reason.

Holds: constants only. Does not hold: where the files are or how to load them (`aecodec.zoo`),
or the recipes themselves (`aecodec.recipes`).
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


# --- training budgets (aecodec.recipes takes them from here) -----------------------------
PLAIN_STEPS = 3000  # steps of each shipped plain autoencoder
RD_MINUTES = 95  # the shipped factorized curve's budget, on 1 CPU thread
# The variable-rate codec's budget: the family's 93 minutes less the 27.9 its warm start
# already had, so that both used the same hyperprior training time (docs/training.md).
VARIABLE_RATE_MINUTES = 65

# The recipe settings the training commands' --help shows. aecodec.recipes is their source
# (it needs PyTorch); tests/test_cli.py checks that these copies equal the recipes'.
RECIPE_SETTINGS = {
    "PLAIN": dict(latent_channels=16, downsamplings=3, hidden_channels=64,
                  batch_size=16, patch_size=128, lr=1e-3, warmup=0.0),
    "RD_SMALL": dict(latent_channels=32, downsamplings=3, hidden_channels=32,
                     batch_size=8, patch_size=64, lr=7e-3, warmup=0.05),
    "RD_WIDE": dict(latent_channels=64, downsamplings=3, hidden_channels=64),
    "DEFAULT_CODEC": dict(batch_size=8, patch_size=128, lr=5e-4),
}
