"""Customer intelligence endpoints: the frontend's `/api/mcp/customer/{id}` (and
`/churn-risk`) and `/api/v1/customers/{id}/intelligence`. They answer from the kept
intelligence (fresh or stale); with nothing kept they try Quimbi once with a short
timeout, and answer 503 with a clear detail when it is unavailable."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from intelligence.client import QuimbiError, QuimbiUnavailable, client_for, quimbi_configured
from intelligence.profile import customer_profile
from intelligence.selectors import intelligence_get_for_customer
from intelligence.services import intelligence_refresh, intelligence_refresh_enqueue
from tickets.selectors import customer_get_for_organization

CUSTOMER_ID = OpenApiParameter("customer_id", str, OpenApiParameter.PATH)


class ProfileSerializer(serializers.Serializer):
    customer_id = serializers.CharField()
    intelligence_status = serializers.ChoiceField(choices=["fresh", "stale", "unavailable"])
    archetype = serializers.DictField(allow_null=True)
    segment_memberships = serializers.DictField()
    fuzzy_memberships = serializers.DictField()
    dominant_segments = serializers.JSONField()
    business_metrics = serializers.DictField()
    churn_risk = serializers.DictField()
    last_purchase = serializers.DictField(allow_null=True)


class ChurnSerializer(serializers.Serializer):
    customer_id = serializers.CharField()
    intelligence_status = serializers.CharField()
    churn_risk_score = serializers.FloatField()
    risk_level = serializers.CharField()
    factors = serializers.JSONField()
    recommendation = serializers.CharField(allow_blank=True)


def _profile_or_503(request, customer_id):
    customer = customer_get_for_organization(
        organization_id=request.user.organization_id, customer_id=customer_id
    )
    row = intelligence_get_for_customer(customer=customer)
    if row is None and not quimbi_configured(customer.organization_id):
        return customer_profile(customer, None), None  # neutral, "unavailable"
    if row is None:
        try:  # one bounded attempt, no retries: this is a request path
            row = intelligence_refresh(
                customer=customer,
                client=client_for(customer.organization_id, read_timeout=2.0, retries=0),
            )
        except QuimbiUnavailable:
            return None, Response(
                {
                    "detail": "Customer intelligence is unavailable right now (Quimbi does not "
                    "answer) and none is cached yet; try again later."
                },
                status=status.HTTP_503_SERVICE_UNAVAILABLE,
            )
        except QuimbiError as exc:
            code = status.HTTP_404_NOT_FOUND if exc.status == 404 else status.HTTP_502_BAD_GATEWAY
            return None, Response({"detail": f"Quimbi: {exc}"}, status=code)
    profile = customer_profile(customer, row)
    if profile["intelligence_status"] == "stale":
        intelligence_refresh_enqueue(customer=customer)
    return profile, None


class CustomerProfileView(APIView):
    @extend_schema(parameters=[CUSTOMER_ID], responses={200: ProfileSerializer, 503: None})
    def get(self, request, customer_id):
        profile, error = _profile_or_503(request, customer_id)
        return error or Response(profile)


class CustomerChurnView(APIView):
    @extend_schema(parameters=[CUSTOMER_ID], responses={200: ChurnSerializer, 503: None})
    def get(self, request, customer_id):
        profile, error = _profile_or_503(request, customer_id)
        if error:
            return error
        return Response(
            {
                "customer_id": profile["customer_id"],
                "intelligence_status": profile["intelligence_status"],
                **profile["churn_risk"],
            }
        )
