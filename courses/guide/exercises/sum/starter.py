import numpy as np


def sum_rows(x: np.ndarray) -> np.ndarray:
    """Return the sum of `x` along its last axis."""
    raise NotImplementedError("sum_rows: write your solution here")
