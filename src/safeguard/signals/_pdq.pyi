# Types of the compiled frame hasher in _pdq.c (PDQ of RGB video frames as vPDQ computes it).
import numpy as np

def rgb(pixels: np.ndarray, height: int, width: int, row_stride: int) -> tuple[bytes, int]: ...
