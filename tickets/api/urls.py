from django.urls import re_path

from agents.api.routers import OptionalSlashRouter
from tickets.api.customer_views import CustomerViewSet
from tickets.api.satisfaction_views import TicketSatisfactionView
from tickets.api.views import TicketViewSet

# trailing_slash "/?": every path answers with and without the slash, never by redirect
# (a redirected CORS preflight breaks the browser).
router = OptionalSlashRouter()
router.register("tickets", TicketViewSet, basename="ticket")
router.register("customers", CustomerViewSet, basename="customer")

urlpatterns = [
    re_path(
        r"^tickets/(?P<pk>[^/]+)/satisfaction/?$",
        TicketSatisfactionView.as_view(),
        name="ticket-satisfaction",
    ),
    *router.urls,
]
