"""The shipped models (models/) and their Kodak results (results/).

In a checkout this folder stays where it is; an installed aecodec (a wheel, `pip install .`
or `pip install git+URL`) carries it as the package `aecodec.shipped`, which
`aecodec.zoo` reads through `importlib.resources`. There is no code here.
"""
