"""The points ledger: append-only entries, one credit and at most one reversal per grant
(invariant 6, a unique constraint). Runs inside the caller's transaction, grant row locked."""

from ..models import Grant, PointsEntry


def credit_points(grant: Grant) -> PointsEntry | None:
    """Book the grant's points to its inviter (when a waiting grant is issued by a reviewer's
    release or a reissue; new grants are credited by ``rewards.batch_writes``)."""
    if not grant.points:
        return None
    return PointsEntry.objects.create(
        customer_id=grant.inviter_id, amount=grant.points, kind=PointsEntry.Kind.REWARD, grant=grant
    )


def reverse_points(grant: Grant, note: str) -> PointsEntry | None:
    """Take an issued grant's points back (when it is voided or reissued)."""
    if not grant.points:
        return None
    return PointsEntry.objects.create(
        customer_id=grant.inviter_id,
        amount=-grant.points,
        kind=PointsEntry.Kind.REVERSAL,
        grant=grant,
        note=note[:200],
    )
