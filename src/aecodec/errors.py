"""The exceptions aecodec raises for problems the user can fix.

Every error a user can cause (a missing file, a file that is not an image, a bad
checkpoint) is one of these, with a message that names the problem. The command line
prints the message and exits with status 1 instead of showing a traceback.
"""


class AecodecError(Exception):
    """Base class: a problem with the user's input, explained in the message."""


class ImageError(AecodecError):
    """An image file that cannot be read, or whose mode or size aecodec refuses."""


class CheckpointError(AecodecError):
    """A checkpoint file that is missing, corrupt, unsafe or of another format."""


class DownloadError(AecodecError):
    """A download that failed or gave a file with the wrong checksum."""


class CodecError(AecodecError):
    """A file that is not a valid .aec file for this model."""
