"""django-q2 entry points."""

from .services import purge_sightings as purge


def purge_sightings() -> int:
    return purge()
