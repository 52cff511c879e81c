from django.db import models

from agents.models import Organization
from tickets.models import Customer


class CustomerIntelligence(models.Model):
    """The last good answer from Quimbi about a customer, kept so that intelligence
    survives cache loss and Quimbi outages (served as `stale` when old)."""

    customer = models.OneToOneField(
        Customer, on_delete=models.CASCADE, primary_key=True, related_name="intelligence"
    )
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    archetype = models.JSONField(null=True, blank=True)
    segments = models.JSONField(default=dict, blank=True)
    dominant_segments = models.JSONField(default=dict, blank=True)
    lifetime_value = models.FloatField(null=True, blank=True)
    total_orders = models.IntegerField(null=True, blank=True)
    avg_order_value = models.FloatField(null=True, blank=True)
    days_since_last_purchase = models.IntegerField(null=True, blank=True)
    customer_tenure_days = models.IntegerField(null=True, blank=True)
    churn_score = models.FloatField(null=True, blank=True)
    churn_level = models.CharField(max_length=16, blank=True)
    churn_factors = models.JSONField(default=list, blank=True)
    recommendations = models.JSONField(default=list, blank=True)
    ltv_12m = models.FloatField(null=True, blank=True)
    ltv_low = models.FloatField(null=True, blank=True)
    ltv_high = models.FloatField(null=True, blank=True)
    guidance = models.JSONField(default=list, blank=True)
    fetched_at = models.DateTimeField()
    last_error = models.CharField(max_length=300, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "customer intelligence"
        indexes = [models.Index(fields=["organization", "fetched_at"], name="intel_fetched_idx")]

    def __str__(self) -> str:
        return f"Intelligence of {self.customer_id}"


class TicketDraft(models.Model):
    """An AI (or fallback) draft reply, kept for audit and reused until the conversation
    changes or another tone is asked for. Never sent by itself."""

    id = models.BigAutoField(primary_key=True)
    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="drafts")
    content = models.TextField()
    tone = models.CharField(max_length=40)
    length = models.CharField(max_length=20, blank=True)
    source = models.CharField(max_length=16)  # quimbi | fallback
    personalization = models.JSONField(default=list, blank=True)
    conversation_version = models.PositiveIntegerField(help_text="message_count it answers")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["ticket", "-created_at"], name="draft_ticket_idx")]

    def __str__(self) -> str:
        return f"Draft for {self.ticket_id} ({self.source})"


class TicketRecommendation(models.Model):
    """Next best actions for a ticket from Quimbi; completion of each action is kept
    (by index) across reloads and regenerations."""

    id = models.BigAutoField(primary_key=True)
    ticket = models.ForeignKey(
        "tickets.Ticket", on_delete=models.CASCADE, related_name="recommendations"
    )
    data = models.JSONField()
    conversation_version = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["ticket", "-created_at"], name="recommendation_ticket_idx")]

    def __str__(self) -> str:
        return f"Recommendation for {self.ticket_id}"


class QuimbiAccount(models.Model):
    """An organization's own Quimbi API key (and base URL), when it has one; otherwise
    QUIMBI_API_KEY / QUIMBI_BASE_URL from the settings are used."""

    organization = models.OneToOneField(
        Organization, on_delete=models.CASCADE, primary_key=True, related_name="quimbi_account"
    )
    api_key = models.CharField(max_length=200)
    base_url = models.URLField(blank=True, help_text="Empty: QUIMBI_BASE_URL.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "Quimbi account"

    def __str__(self) -> str:
        return f"Quimbi account of {self.organization}"
