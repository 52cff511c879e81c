from django.urls import re_path

from agents.api.routers import OptionalSlashRouter
from integrations.api.channel_views import (
    ChannelViewSet,
    ChatInboundView,
    EmailInboundView,
    TwilioInboundView,
)
from integrations.api.provider_views import (
    GorgiasWebhookView,
    IntegrationAccountViewSet,
    ZendeskWebhookView,
)
from integrations.api.views import WebhookViewSet

# Every path answers with and without a trailing slash (browsers must not be redirected).
router = OptionalSlashRouter()
router.register("webhooks", WebhookViewSet, basename="webhook")
router.register("integrations/accounts", IntegrationAccountViewSet, basename="integration-account")
router.register("integrations/channels", ChannelViewSet, basename="channel")

urlpatterns = [
    re_path(
        r"^integrations/zendesk/webhook/(?P<account_id>[^/]+)/?$",
        ZendeskWebhookView.as_view(),
        name="zendesk-webhook",
    ),
    re_path(
        r"^integrations/gorgias/webhook/(?P<account_id>[^/]+)/?$",
        GorgiasWebhookView.as_view(),
        name="gorgias-webhook",
    ),
    re_path(
        r"^integrations/email/inbound/(?P<channel_id>[^/]+)/?$",
        EmailInboundView.as_view(),
        name="email-inbound",
    ),
    re_path(
        r"^integrations/sms/twilio/(?P<channel_id>[^/]+)/?$",
        TwilioInboundView.as_view(),
        name="sms-twilio-inbound",
    ),
    re_path(
        r"^integrations/chat/inbound/(?P<channel_id>[^/]+)/?$",
        ChatInboundView.as_view(),
        name="chat-inbound",
    ),
    *router.urls,
]
