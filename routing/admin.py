"""The routing app's admin."""

# The ticket page gains the assignment history and the assign/transfer/route actions.
from routing.admin_tickets import register as _register_ticket_admin

_register_ticket_admin()
