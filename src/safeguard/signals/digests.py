"""Cryptographic digests of a file's bytes: MD5 and SHA-256. They match only identical files."""

from __future__ import annotations

from safeguard.signals.base import HexDigestSignal


class Md5Signal(HexDigestSignal):
    name = "md5"
    # python-threatexchange and HMA call the MD5 of a file's bytes `video_md5`
    aliases = ("video_md5", "photo_md5", "hash_md5", "hash_video_md5")
    hex_length = 32


class Sha256Signal(HexDigestSignal):
    name = "sha256"
    aliases = ("video_sha256", "photo_sha256", "hash_sha256", "hash_video_sha256", "sha-256")
    hex_length = 64
