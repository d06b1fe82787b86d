import numpy as np


def mlm_mask(tokens, mask_id, vocab_size, seed=0, p=0.15):
    """BERT-style masked-language-model corruption.

    tokens: int64 array of ids in [0, vocab_size). Each position is chosen with
    probability p; a chosen position becomes mask_id 80% of the time, a uniform random
    token from [0, vocab_size) 10% of the time, and stays unchanged 10% of the time.
    Use np.random.default_rng(seed) for the draws.

    Returns (inputs, labels), int64 arrays shaped like tokens: labels holds the original
    token at chosen positions and -100 elsewhere.
    """
    rng = np.random.default_rng(seed)
    tokens = np.asarray(tokens, dtype=np.int64)
    chosen = rng.random(tokens.shape) < p
    r = rng.random(tokens.shape)
    to_mask = chosen & (r < 0.8)
    to_random = chosen & (r >= 0.8) & (r < 0.9)
    inputs = tokens.copy()
    inputs[to_mask] = mask_id
    inputs[to_random] = rng.integers(0, vocab_size, size=int(to_random.sum()), dtype=np.int64)
    labels = np.where(chosen, tokens, -100).astype(np.int64)
    return inputs, labels
