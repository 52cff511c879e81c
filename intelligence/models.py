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
