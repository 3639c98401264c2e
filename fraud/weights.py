"""The fraud signals' weights and thresholds (``FRAUD_SIGNALS``: the defaults below, with
``name=value`` overrides, comma-separated). Read by ``scoring``."""

DEFAULT_WEIGHTS = {
    "hold_at": 2,  # a grant scoring this or more is held for a reviewer
    "same_device": 2,
    "same_address": 1,  # one home router: alone, under the threshold
    "crowd": 1,
    "ring": 2,
    "at_minimum": 1,  # the first deposit the campaign asks for, and barely more
    "crowd_size": 3,  # numbers proved from one device or address ...
    "crowd_hours": 24,  # ... within this many hours
    "minimum_margin": 5,  # "barely more": up to this many percent above the minimum
}


def parse_weights(text: str) -> dict[str, int]:
    """The defaults with the overrides applied. Raises ``ValueError`` naming what is wrong."""
    weights = dict(DEFAULT_WEIGHTS)
    for entry in filter(None, (part.strip() for part in text.split(","))):
        name, _, value = (part.strip() for part in entry.partition("="))
        if name not in DEFAULT_WEIGHTS or not value.isascii() or not value.isdigit():
            raise ValueError(
                f"FRAUD_SIGNALS: {entry!r} is not name=value with a name among "
                f"{', '.join(sorted(DEFAULT_WEIGHTS))} and a whole number from 0"
            )
        weights[name] = int(value)
    if weights["hold_at"] < 1 or weights["crowd_size"] < 2 or weights["crowd_hours"] < 1:
        raise ValueError("FRAUD_SIGNALS: hold_at >= 1, crowd_size >= 2 and crowd_hours >= 1")
    return weights
