"""Why a grant waits for a reviewer: as the grant stores it (in English: the record, as its
events) and as staff read it (``shown``, in the admin's language)."""

from django.utils.translation import gettext_lazy as _

from fraud import scoring

CAMPAIGN_PAUSED = "campaign paused"
CAMPAIGN_FLAGGED = "campaign flagged for review"
INVITER_FLAGGED = "inviter flagged for review"
_SHOWN = {
    CAMPAIGN_PAUSED: _("campaign paused"),
    CAMPAIGN_FLAGGED: _("campaign flagged for review"),
    INVITER_FLAGGED: _("inviter flagged for review"),
}


def shown(stored: str) -> str:
    """A stored hold reason in the reader's language (one it does not know, as stored)."""
    if stored in _SHOWN:
        return str(_SHOWN[stored])
    return scoring.shown(stored) or stored
