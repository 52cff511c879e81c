"""SLA in the admin: calendars with their hours and holidays, the policy editor, clocks,
and the compliance report (met vs breached per policy and metric over a period)."""

from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.db.models import Count, Q
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone

from agents.admin_history import ScopedHistoryAdmin
from agents.admin_scoping import OrganizationScopedAdmin, ReadOnlyAdminMixin
from agents.exceptions import DomainError
from sla.business_time import CalendarError, format_hhmm, parse_hhmm
from sla.models import BusinessCalendar, BusinessHours, Holiday, SLAClock, SLAPolicy
from sla.policies import (
    POLICY_FIELDS,
    calendar_save,
    calendar_validate,
    policy_save,
)


class HoursForm(forms.ModelForm):
    start = forms.CharField(help_text="HH:MM")
    end = forms.CharField(help_text="HH:MM (24:00 = end of day)")

    class Meta:
        model = BusinessHours
        fields = ["weekday", "start", "end"]
        widgets = {
            "weekday": forms.Select(
                choices=[
                    (0, "Monday"),
                    (1, "Tuesday"),
                    (2, "Wednesday"),
                    (3, "Thursday"),
                    (4, "Friday"),
                    (5, "Saturday"),
                    (6, "Sunday"),
                ]
            )
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["start"] = format_hhmm(self.instance.start_minute)
            self.initial["end"] = format_hhmm(self.instance.end_minute)

    def clean(self):
        data = super().clean()
        try:
            self.instance.start_minute = parse_hhmm(data.get("start", ""))
            self.instance.end_minute = parse_hhmm(data.get("end", ""))
        except CalendarError as exc:
            raise forms.ValidationError(str(exc)) from None
        if self.instance.end_minute <= self.instance.start_minute:
            raise forms.ValidationError("The end is not after the start.")
        return data


class HoursFormSet(forms.BaseInlineFormSet):
    """Working intervals must not overlap, and a calendar that is not 24/7 needs some."""

    def clean(self):
        super().clean()
        intervals = []
        for form in self.forms:
            if not form.cleaned_data or form.cleaned_data.get("DELETE"):
                continue
            intervals.append(
                (form.cleaned_data["weekday"], form.instance.start_minute, form.instance.end_minute)
            )
        intervals.sort()
        for (d1, s1, e1), (d2, s2, e2) in zip(intervals, intervals[1:], strict=False):
            if d1 == d2 and s2 < e1:
                raise forms.ValidationError(
                    f"Working intervals overlap on weekday {d1}: {format_hhmm(s1)}-"
                    f"{format_hhmm(e1)} and {format_hhmm(s2)}-{format_hhmm(e2)}."
                )
        if not intervals and not self.instance.always_open:
            raise forms.ValidationError(
                "A calendar needs working hours, or tick 'always open' for 24/7."
            )


class HoursInline(admin.TabularInline):
    model = BusinessHours
    form = HoursForm
    formset = HoursFormSet
    extra = 0


class HolidayInline(admin.TabularInline):
    model = Holiday
    extra = 0


CALENDAR_FIELDS = ("name", "timezone", "always_open", "holiday_country", "holiday_subdivision")


class CalendarForm(forms.ModelForm):
    class Meta:
        model = BusinessCalendar
        fields = [
            "organization",
            "name",
            "timezone",
            "always_open",
            "holiday_country",
            "holiday_subdivision",
        ]

    def clean(self):
        data = super().clean()
        try:
            calendar_validate({**data, "always_open": True, "hours": []})
        except DomainError as exc:
            raise forms.ValidationError({exc.field or "name": exc.detail}) from None
        return data


@admin.register(BusinessCalendar)
class BusinessCalendarAdmin(OrganizationScopedAdmin, ScopedHistoryAdmin):
    form = CalendarForm
    inlines = [HoursInline, HolidayInline]
    list_display = ["name", "timezone", "always_open", "holiday_country", "organization"]
    list_filter = ["organization"]
    search_fields = ["name"]

    """Calendars are saved through sla.policies.calendar_save, hours and holidays with
    them: validated there, recorded, and open clocks on the calendar rescheduled."""

    def save_model(self, request, obj, form, change):
        pass  # saved in save_related, once the hours and holidays are known

    def save_related(self, request, form, formsets, change):
        # The hours and holidays as their inlines show them; a revert (no inlines) keeps
        # the calendar's current ones.
        related = {}
        for formset in formsets:
            related.setdefault("hours" if formset.model is BusinessHours else "holidays", [])
        hours, holidays = related.get("hours", []), related.get("holidays", [])
        for formset in formsets:
            for row in formset.forms:
                data = row.cleaned_data
                if not data or data.get("DELETE"):
                    continue
                if formset.model is BusinessHours:
                    hours.append(
                        {
                            "weekday": int(data["weekday"]),
                            "start": data["start"],
                            "end": data["end"],
                        }
                    )
                elif formset.model is Holiday:
                    holidays.append(
                        {"date": data["date"].isoformat(), "name": data.get("name", "")}
                    )
        cleaned = form.cleaned_data
        organization = (
            cleaned.get("organization") or form.instance.organization
            if request.user.is_superuser
            else request.user.organization
        )
        try:
            saved = calendar_save(
                organization=organization,
                data={
                    **{f: cleaned.get(f) for f in CALENDAR_FIELDS if f in cleaned},
                    **({"hours": hours} if "hours" in related else {}),
                    **({"holidays": holidays} if "holidays" in related else {}),
                },
                calendar=BusinessCalendar.objects.get(pk=form.instance.pk) if change else None,
                actor=request.user,
            )
        except DomainError as exc:
            messages.error(request, exc.detail)
            return
        form.instance.pk = saved.pk
        form.instance._state.adding = False
        for formset in formsets:  # the admin's change message reads what they saved
            formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []


class PolicyForm(forms.ModelForm):
    class Meta:
        model = SLAPolicy
        fields = ["organization", *POLICY_FIELDS]
        help_texts = {
            "priorities": 'e.g. ["urgent", "high"]; [] = any',
            "channels": 'e.g. ["email", "chat"]; [] = any',
            "customer_tiers": 'e.g. ["vip"]; [] = any',
            "pause_on_pending": 'metrics paused while pending, e.g. ["resolution"]',
            "escalation": '[{"on": "breached", "metric": "any", "raise_priority": true, '
            '"escalate": true, "assign_team": null, "assign_manager": false, "notify": true}]',
        }


class _DryRun(Exception):
    pass


class ValidatedPolicyForm(PolicyForm):
    """Runs the policy service's validation on the form, so a bad policy is shown again
    with its error instead of being reported as saved."""

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        organization = data.get("organization") or self.instance.organization
        try:
            with transaction.atomic():
                policy_save(
                    organization=organization,
                    data={f: data.get(f) for f in POLICY_FIELDS if f in data},
                    policy=None
                    if self.instance._state.adding
                    else SLAPolicy.objects.get(pk=self.instance.pk),
                    actor=None,
                )
                raise _DryRun  # validation only: roll back
        except _DryRun:
            pass
        except DomainError as exc:
            field = exc.field if exc.field in self.fields else None
            raise forms.ValidationError({field: exc.detail} if field else exc.detail) from None
        return data


@admin.register(SLAPolicy)
class SLAPolicyAdmin(OrganizationScopedAdmin, ScopedHistoryAdmin):
    """Policies are saved through sla.policies.policy_save: validated, recorded, and open
    tickets re-matched in the background."""

    form = ValidatedPolicyForm
    list_display = [
        "name",
        "position",
        "active",
        "first_response_minutes",
        "next_response_minutes",
        "resolution_minutes",
        "calendar",
        "organization",
    ]
    list_editable = ["position", "active"]
    list_filter = ["active", "organization"]
    search_fields = ["name"]
    ordering = ["position", "name"]

    def save_model(self, request, obj, form, change):
        data = {f: form.cleaned_data.get(f) for f in POLICY_FIELDS if f in form.cleaned_data}
        organization = obj.organization if request.user.is_superuser else request.user.organization
        try:
            saved = policy_save(
                organization=organization,
                data=data,
                policy=SLAPolicy.objects.get(pk=obj.pk) if change else None,
                actor=request.user,
            )
            obj.pk = saved.pk
            obj._state.adding = False
        except DomainError as exc:
            messages.error(request, exc.detail)

    def get_urls(self):
        report = self.admin_site.admin_view(self.compliance_report)
        return [path("compliance/", report, name="sla_compliance")] + super().get_urls()

    def compliance_report(self, request):
        """Met vs breached per policy and metric, for clocks started in a period."""
        try:
            days = max(1, min(int(request.GET.get("days", 30)), 366))
        except ValueError:
            days = 30
        since = timezone.now() - timedelta(days=days)
        clocks = SLAClock.objects.filter(started_at__gte=since)
        if not request.user.is_superuser:
            clocks = clocks.filter(organization_id=request.user.organization_id)
        rows = (
            clocks.values("policy__name", "metric")
            .annotate(
                total=Count("id"),
                met=Count("id", filter=Q(status="met")),
                breached=Count("id", filter=Q(status="breached")),
                open=Count("id", filter=Q(is_open=True)),
            )
            .order_by("policy__name", "metric")
        )
        for row in rows:
            decided = row["met"] + row["breached"]
            row["compliance"] = f"{row['met'] / decided:.0%}" if decided else "—"
        context = {
            **self.admin_site.each_context(request),
            "title": f"SLA compliance, last {days} days",
            "rows": rows,
            "days": days,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/sla/compliance.html", context)


@admin.register(SLAClock)
class SLAClockAdmin(ReadOnlyAdminMixin, OrganizationScopedAdmin):
    list_display = [
        "ticket",
        "metric",
        "status",
        "started_at",
        "due_at",
        "breached_at",
        "met_at",
        "policy",
    ]
    list_filter = ["metric", "status", "is_open"]
    list_select_related = ["ticket", "policy"]
    search_fields = ["ticket__subject"]
    show_full_result_count = False
