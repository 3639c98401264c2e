"""Card pool use cases. Views, admin, commands and tasks call these, nothing else."""

from .allocation import (
    allocate_cards,
    allocation_horizon,
    expire_cards,
    reencrypt_cards,
    reveal_card_secret,
    reveal_card_to_owner,
    void_available_cards,
    void_card,
)
from .importing import RowError
from .uploads import (
    confirm_upload,
    import_cards,
    import_upload,
    purge_expired_uploads,
    receive_upload,
    retry_check,
    validate_upload,
)

__all__ = [
    "RowError",
    "allocate_cards",
    "allocation_horizon",
    "confirm_upload",
    "expire_cards",
    "import_cards",
    "import_upload",
    "purge_expired_uploads",
    "receive_upload",
    "reencrypt_cards",
    "retry_check",
    "reveal_card_secret",
    "reveal_card_to_owner",
    "validate_upload",
    "void_available_cards",
    "void_card",
]
