"""System configuration (the behavioural axes) and churn-risk analytics."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from agents.replica import replica_reads
from intelligence.selectors import churn_analytics_for_organization

# The behavioural axes the frontend shows when Quimbi does not provide them.
AXES = [
    (
        "purchase_frequency",
        "Purchase frequency",
        "purchase",
        ["weekly_shopper", "monthly_shopper", "occasional", "one_time"],
    ),
    ("purchase_value", "Purchase value", "purchase", ["high_value", "mid_value", "low_value"]),
    (
        "category_breadth",
        "Category breadth",
        "purchase",
        ["multicategory_explorer", "focused", "single_category"],
    ),
    (
        "price_sensitivity",
        "Price sensitivity",
        "purchase",
        ["full_price", "deal_seeker", "discount_only"],
    ),
    ("recency", "Recency", "purchase", ["active", "cooling", "lapsed"]),
    ("tenure", "Tenure", "purchase", ["new", "established", "veteran"]),
    ("seasonality", "Seasonality", "purchase", ["year_round", "seasonal", "holiday_only"]),
    (
        "channel_preference",
        "Channel preference",
        "support",
        ["email_first", "chat_first", "phone_first"],
    ),
    ("contact_frequency", "Contact frequency", "support", ["rare", "occasional", "frequent"]),
    ("issue_type", "Typical issue", "support", ["shipping", "product", "billing", "account"]),
    ("sentiment", "Sentiment", "support", ["positive", "neutral", "frustrated"]),
    ("resolution_speed_need", "Need for speed", "support", ["patient", "normal", "urgent"]),
    ("self_service", "Self-service", "support", ["self_serve", "mixed", "assisted"]),
]


class ConfigurationSerializer(serializers.Serializer):
    version = serializers.CharField()
    axis_count = serializers.IntegerField()
    axes = serializers.ListField(child=serializers.DictField())


class SystemConfigurationView(APIView):
    @extend_schema(responses=ConfigurationSerializer)
    def get(self, request):
        axes = [
            {
                "name": name,
                "display_name": display,
                "description": display,
                "category": category,
                "segments": [
                    {
                        "name": s,
                        "display_name": s.replace("_", " ").capitalize(),
                        "description": s.replace("_", " "),
                        "order": i,
                    }
                    for i, s in enumerate(segments)
                ],
            }
            for name, display, category, segments in AXES
        ]
        return Response({"version": "1.0", "axis_count": len(axes), "axes": axes})


class ChurnAnalyticsSerializer(serializers.Serializer):
    customers_with_intelligence = serializers.IntegerField()
    average_churn_risk = serializers.FloatField(allow_null=True)
    distribution = serializers.DictField()
    at_risk_customers = serializers.ListField(child=serializers.DictField())


class ChurnAnalyticsView(APIView):
    @extend_schema(responses=ChurnAnalyticsSerializer)
    @replica_reads()  # a report: as fresh as the replica
    def get(self, request):
        churn = churn_analytics_for_organization(organization_id=request.user.organization_id)
        return Response(
            {
                "customers_with_intelligence": churn.customers_with_intelligence,
                "average_churn_risk": churn.average_churn_risk,
                "distribution": churn.distribution,
                "at_risk_customers": [
                    {
                        "customer_id": r.customer.external_id,
                        "name": r.customer.name,
                        "churn_risk_score": r.churn_score,
                        "risk_level": r.churn_level,
                        "lifetime_value": r.lifetime_value,
                    }
                    for r in churn.at_risk
                ],
            }
        )
