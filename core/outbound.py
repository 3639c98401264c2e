"""Calls to the outside world (mail, SMS, an upstream) never run inside a transaction.

A transaction that waits on a slow server holds its row locks for as long, and every customer
and worker that needs those rows waits behind it (docs/architecture.md). Senders call
``refuse_inside_transaction`` first: called inside one, they raise at once instead of sending."""

from django.db import connection


class OutboundInsideTransaction(RuntimeError):
    pass


def inside_transaction() -> bool:
    """Whether a transaction of ours is open on the default connection. A test case's own
    wrapping transaction does not count (as for ``transaction.atomic(durable=True)``)."""
    return any(not getattr(block, "_from_testcase", False) for block in connection.atomic_blocks)


def refuse_inside_transaction(what: str) -> None:
    if inside_transaction():
        raise OutboundInsideTransaction(
            f"{what} talks to the outside world: call it after the commit, not inside a transaction"
        )
