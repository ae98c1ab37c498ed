"""Build the compiled kernels: multi-index hashing, the word index's vote counting and its
vocabulary's descent, PDQ of video frames and the pathways model's tree walk (all other
metadata is in pyproject.toml)."""

import platform

from setuptools import Extension, setup

flags = ["-O3", "-std=c11"]
if platform.machine().lower() in ("x86_64", "amd64"):
    flags.append("-mpopcnt")  # hardware popcount: every x86-64 CPU since about 2008

setup(
    ext_modules=[
        Extension(
            "safeguard.index._mih",
            sources=["src/safeguard/index/_mih.c"],
            depends=["src/safeguard/index/_buffers.h"],
            extra_compile_args=flags,
        ),
        Extension(
            "safeguard.index._votes",
            sources=["src/safeguard/index/_votes.c"],
            depends=["src/safeguard/index/_buffers.h"],
            extra_compile_args=["-O3", "-std=c11"],
        ),
        Extension(
            "safeguard.index._tree",
            sources=["src/safeguard/index/_tree.c"],
            depends=["src/safeguard/index/_buffers.h"],
            extra_compile_args=flags,
        ),
        Extension(
            "safeguard.pathways._trees",
            sources=["src/safeguard/pathways/_trees.c"],
            depends=["src/safeguard/index/_buffers.h"],
            extra_compile_args=["-O3", "-std=c11"],
        ),
        Extension(
            "safeguard.signals._pdq",
            sources=["src/safeguard/signals/_pdq.c"],
            # a fused multiply-add rounds differently from the reference: never contract
            extra_compile_args=["-O3", "-std=c11", "-ffp-contract=off"],
            libraries=["m"],
        ),
    ]
)
