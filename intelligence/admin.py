"""Intelligence in the admin: the customer page shows what Quimbi knows (segments,
churn, LTV, fetched_at, status) with a "refresh intelligence" action, and the ticket page
shows the customer's churn and LTV badges. Both extend the tickets admin pages."""

from django.contrib import admin, messages
from django.utils.html import format_html

from agents.admin_scoping import OrganizationScopedAdmin
from intelligence.client import QuimbiError
from intelligence.models import CustomerIntelligence, QuimbiAccount
from intelligence.services import intelligence_refresh, intelligence_status
from tickets.admin import CustomerAdmin, TicketAdmin, _badge
from tickets.models import Customer, Ticket

CHURN_COLOURS = {"low": "#2b8a3e", "medium": "#e67700", "high": "#c92a2a", "critical": "#862e9c"}


def _intelligence_of(customer) -> CustomerIntelligence | None:
    return CustomerIntelligence.objects.filter(customer=customer).first()


def intelligence_badges(row: CustomerIntelligence | None):
    if row is None:
        return "no intelligence yet"
    churn = row.churn_level or "unknown"
    return format_html(
        "{} {} <span style='color:#666'>({}, fetched {})</span>",
        _badge(f"churn {churn} {row.churn_score or 0:.2f}", CHURN_COLOURS.get(churn, "#495057")),
        _badge(f"LTV {row.lifetime_value or 0:,.0f}", "#1971c2"),
        intelligence_status(row),
        row.fetched_at.strftime("%Y-%m-%d %H:%M"),
    )


class IntelligenceInline(admin.StackedInline):
    model = CustomerIntelligence
    can_delete = False
    extra = 0
    fields = [
        "fetched_at",
        "archetype",
        "segments",
        "lifetime_value",
        "total_orders",
        "churn_score",
        "churn_level",
        "churn_factors",
        "ltv_12m",
        "last_error",
    ]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


class CustomerWithIntelligenceAdmin(CustomerAdmin):
    inlines = [IntelligenceInline]
    actions = ["refresh_intelligence"]

    @admin.action(description="Refresh intelligence from Quimbi", permissions=["change"])
    def refresh_intelligence(self, request, queryset):
        done, failed = 0, []
        for customer in queryset[:50]:
            try:
                intelligence_refresh(customer=customer)
                done += 1
            except QuimbiError as exc:
                failed.append(f"{customer}: {exc}")
        if done:
            self.message_user(request, f"Refreshed {done} customer(s).", messages.SUCCESS)
        for failure in failed[:5]:
            self.message_user(request, failure, messages.WARNING)


class TicketWithIntelligenceAdmin(TicketAdmin):
    @admin.display(description="Customer intelligence")
    def customer_intelligence(self, obj):
        return intelligence_badges(_intelligence_of(obj.customer))

    def get_readonly_fields(self, request, obj=None):
        return [*super().get_readonly_fields(request, obj), "customer_intelligence"]

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None:
            return fieldsets
        name, options = fieldsets[0]
        return [
            (name, {**options, "fields": [*options["fields"], "customer_intelligence"]}),
            *fieldsets[1:],
        ]


admin.site.unregister(Customer)
admin.site.register(Customer, CustomerWithIntelligenceAdmin)
admin.site.unregister(Ticket)
admin.site.register(Ticket, TicketWithIntelligenceAdmin)


@admin.register(QuimbiAccount)
class QuimbiAccountAdmin(OrganizationScopedAdmin):
    list_display = ["organization", "base_url", "updated_at"]
