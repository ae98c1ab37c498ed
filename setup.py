"""Build the compiled multi-index hashing kernels (all other metadata is in pyproject.toml)."""

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
            extra_compile_args=flags,
        )
    ]
)
