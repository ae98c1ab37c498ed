"""Which hashed files a bank of known media takes: images and videos, other files only when
asked.

A folder of listed images often holds other things (a readme, a half-copied JPEG). Banking
those by their digests would make a later upload of the same readme "match", so:

- an image is banked (one too large to hash perceptually is banked by its digests, as before);
- a file that is not an image is skipped when it was met while walking a folder, and refused
  when it was named (a path on the command line, an HTTP upload);
- an image or video that cannot be decoded (truncated, corrupt, an unsupported mode, a
  video over the decoding limits) is refused;
- with `any_file`, both of the last two are banked by their MD5 and SHA-256 instead.
"""

from __future__ import annotations

from enum import StrEnum

from safeguard.signals.files import FileSignals

#: error codes of files that claim to be images or videos but cannot be decoded
BROKEN_IMAGE = frozenset(
    {
        "corrupt_image",
        "unsupported_mode",
        "corrupt_video",
        "unsupported_format",
        "too_long",
        "too_slow",
        "frames_too_large",
    }
)


class Admission(StrEnum):
    BANK = "bank"
    SKIP = "skip"
    REFUSE = "refuse"


def admit(fs: FileSignals, *, named: bool, any_file: bool = False) -> Admission:
    """What to do with hashed file `fs`; `named`: asked for by name, not met in a folder."""
    if not fs.signals():  # empty or unreadable: nothing to bank
        return Admission.REFUSE
    if any_file:
        return Admission.BANK
    if fs.error_code == "not_an_image":
        return Admission.REFUSE if named else Admission.SKIP
    if fs.error_code in BROKEN_IMAGE:
        return Admission.REFUSE
    return Admission.BANK


__all__ = ["BROKEN_IMAGE", "Admission", "admit"]
