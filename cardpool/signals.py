"""What the card pool tells the apps above it, without importing them (Django signals,
connected in the receiving app's ``AppConfig.ready``)."""

from django.dispatch import Signal

# Sent after the commit of an import, with ``kind``: rewards waiting for cards of that kind can
# have them now. A receiver's failure is logged and the import stands (the schedule that issues
# waiting rewards is the safety net).
cards_imported = Signal()
