"""Signals other apps listen to (agents is the lowest layer and imports none of them)."""

from django.dispatch import Signal

# Sent inside the transaction that changed an agent's availability, with keyword
# arguments `agent`, `previous`, `current` and `actor`. Routing listens: an agent going
# away may hand their tickets on; one coming back may take queued ones.
agent_availability_changed = Signal()
