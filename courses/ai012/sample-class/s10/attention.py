# WRONG: raises.
def scaled_dot_product_attention(q, k, v, mask=None, causal=False):
    return q @ v.T @ k.reshape(7, 7)
