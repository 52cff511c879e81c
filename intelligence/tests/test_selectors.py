"""The churn-risk analytics selector: per-organization, every level present, the riskiest
customers first, in a bounded number of queries."""

import pytest
from django.utils import timezone

from intelligence.models import CustomerIntelligence
from intelligence.selectors import churn_analytics_for_organization
from tickets.services import customer_get_or_create

pytestmark = pytest.mark.django_db


def _keep(organization, external_id, churn, level, ltv=100.0):
    customer = customer_get_or_create(organization=organization, external_id=external_id)
    return CustomerIntelligence.objects.create(
        customer=customer,
        organization=organization,
        churn_score=churn,
        churn_level=level,
        lifetime_value=ltv,
        fetched_at=timezone.now(),
    )


def test_churn_analytics(organization, other_organization, django_assert_num_queries):
    _keep(organization, "a", 0.9, "critical")
    _keep(organization, "b", 0.65, "high")
    _keep(organization, "c", 0.2, "low")
    _keep(organization, "d", None, "")  # nothing predicted yet
    _keep(other_organization, "x", 0.99, "critical")  # another tenant's
    with django_assert_num_queries(3):
        churn = churn_analytics_for_organization(organization_id=organization.pk)
        at_risk = [(r.customer.external_id, r.churn_score) for r in churn.at_risk]
    assert churn.customers_with_intelligence == 4
    assert churn.average_churn_risk == round((0.9 + 0.65 + 0.2) / 3, 3)
    assert churn.distribution == {"low": 1, "medium": 0, "high": 1, "critical": 1}
    assert at_risk == [("a", 0.9), ("b", 0.65)]


def test_churn_analytics_with_nothing_kept(organization):
    churn = churn_analytics_for_organization(organization_id=organization.pk)
    assert churn.customers_with_intelligence == 0 and churn.average_churn_risk is None
    assert churn.distribution == {"low": 0, "medium": 0, "high": 0, "critical": 0}
    assert churn.at_risk == []
