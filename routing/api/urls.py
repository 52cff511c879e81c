from django.urls import re_path

from routing.api.views import (
    TicketAssignmentsView,
    TicketAssignView,
    TicketRouteView,
    TicketTransferView,
)

ID = r"(?P<ticket_id>[^/]+)"

# Every path answers with and without a trailing slash (browsers must not be redirected).
urlpatterns = [
    re_path(rf"^tickets/{ID}/assign/?$", TicketAssignView.as_view(), name="ticket-assign"),
    re_path(rf"^tickets/{ID}/transfer/?$", TicketTransferView.as_view(), name="ticket-transfer"),
    re_path(rf"^tickets/{ID}/route/?$", TicketRouteView.as_view(), name="ticket-route"),
    re_path(
        rf"^tickets/{ID}/assignments/?$",
        TicketAssignmentsView.as_view(),
        name="ticket-assignments",
    ),
]
