def generate(count, seed, echo):
    raise NotImplementedError


def ensure_demo_data(echo):
    raise NotImplementedError
