"""Cryptographic digests of a file's bytes: MD5 and SHA-256. They match only identical files."""

from __future__ import annotations

import hashlib
from typing import Any

from safeguard.signals.base import HexDigestSignal


class Md5Signal(HexDigestSignal):
    name = "md5"
    # python-threatexchange and HMA call the MD5 of a file's bytes `video_md5`
    aliases = ("video_md5", "photo_md5", "hash_md5", "hash_video_md5")
    hma_name = "video_md5"
    description = "MD5 of the file's bytes, 32 hex digits (matches identical files only)"
    example = "d41d8cd98f00b204e9800998ecf8427e"
    content_types = ("file", "photo", "video")
    hex_length = 32

    @classmethod
    def stream(cls) -> Any:
        return hashlib.md5(usedforsecurity=False)

    @classmethod
    def hash_bytes(cls, data: bytes) -> str:
        return hashlib.md5(data, usedforsecurity=False).hexdigest()


class Sha256Signal(HexDigestSignal):
    name = "sha256"
    aliases = ("video_sha256", "photo_sha256", "hash_sha256", "hash_video_sha256", "sha-256")
    description = "SHA-256 of the file's bytes, 64 hex digits (matches identical files only)"
    example = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    content_types = ("file", "photo", "video")
    hex_length = 64

    @classmethod
    def stream(cls) -> Any:
        return hashlib.sha256()

    @classmethod
    def hash_bytes(cls, data: bytes) -> str:
        return hashlib.sha256(data).hexdigest()
