"""What the invitations app tells the apps above it, without importing them (Django signals,
connected in the receiving app's ``AppConfig.ready``)."""

from django.dispatch import Signal

# Sent inside the transaction that qualifies an invitation, with ``invitation`` (locked). Sent
# with ``send``, not ``send_robust``: a receiver that fails rolls the qualification back, and the
# poller records the failure (the invitation stays pending and is looked up again).
invitation_qualified = Signal()
