# Types of the compiled PDQ hasher in _pdq.c (PDQ of RGB pixels, as the reference computes it).
import numpy as np

def rgb(
    pixels: np.ndarray | bytes,
    height: int,
    width: int,
    row_stride: int,
    single: bool,
    dihedral: bool,
) -> tuple[bytes, int]: ...
