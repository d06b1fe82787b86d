# WRONG: does not parse.
def scaled_dot_product_attention(q, k, v, mask=None, causal=False)
    return q
