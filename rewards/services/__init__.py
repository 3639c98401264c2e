"""Reward use cases. Views, admin, commands and tasks call these, nothing else."""

from .anomalies import raise_anomaly
from .batches import fulfil_pending_grants, grant_missed_rewards, grant_rewards
from .customer_cards import report_card_problem, reveal_grant_card
from .granting import grant_reward, release_hold
from .staff import grant_again, reissue_grant, reject_hold, replace_in_kind, void_grant

__all__ = [
    "fulfil_pending_grants",
    "grant_again",
    "grant_missed_rewards",
    "grant_reward",
    "grant_rewards",
    "raise_anomaly",
    "reissue_grant",
    "reject_hold",
    "release_hold",
    "replace_in_kind",
    "report_card_problem",
    "reveal_grant_card",
    "void_grant",
]
