"""The monthly review pack: a printable summary of one month."""
