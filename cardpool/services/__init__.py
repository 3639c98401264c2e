"""Card pool use cases. Views, admin, commands and tasks call these, nothing else."""

from .allocation import (
    allocate_card,
    allocation_horizon,
    expire_cards,
    reencrypt_cards,
    reveal_card_secret,
    reveal_card_to_owner,
    void_card,
)
from .importing import ImportPreview, RowError, import_cards, preview_cards

__all__ = [
    "ImportPreview",
    "RowError",
    "allocate_card",
    "allocation_horizon",
    "expire_cards",
    "import_cards",
    "preview_cards",
    "reencrypt_cards",
    "reveal_card_secret",
    "reveal_card_to_owner",
    "void_card",
]
