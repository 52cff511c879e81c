"""Customers, addressed by `customer_id` (the commerce platform's id)."""

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.response import Response

from agents.principals import caller_actor
from agents.replica import replica_reads
from tickets.api import representations as rep
from tickets.api import serializers as s
from tickets.api.schema import filterset_parameters
from tickets.filters import CustomerFilterSet
from tickets.selectors import customer_get_for_organization, customer_list_for_organization
from tickets.services import customer_create, customer_update

MAX_LIMIT = 100
CUSTOMER_ID = OpenApiParameter("customer_id", str, OpenApiParameter.PATH)


@extend_schema_view(
    list=extend_schema(
        summary="Customers, with their ticket counts",
        parameters=[
            *filterset_parameters(CustomerFilterSet),
            OpenApiParameter("page", int),
            OpenApiParameter("limit", int),
        ],
        responses=s.CustomerListSerializer,
    ),
    retrieve=extend_schema(parameters=[CUSTOMER_ID], responses=s.CustomerSerializer),
    create=extend_schema(request=s.CustomerCreateSerializer, responses={201: s.CustomerSerializer}),
    partial_update=extend_schema(
        parameters=[CUSTOMER_ID],
        request=s.CustomerUpdateSerializer,
        responses=s.CustomerSerializer,
    ),
)
class CustomerViewSet(viewsets.GenericViewSet):
    filterset_class = CustomerFilterSet
    lookup_field = "customer_id"
    lookup_value_regex = "[^/]+"
    serializer_class = s.CustomerSerializer

    def _org(self):
        return self.request.user.organization_id

    @replica_reads()  # as fresh as the replica; the detail and every write: the primary
    def list(self, request):
        page_params = s.PageParamsSerializer(data=request.query_params)
        page_params.is_valid(raise_exception=True)
        page = page_params.validated_data["page"]
        limit = min(page_params.validated_data["limit"], MAX_LIMIT)
        customers = customer_list_for_organization(
            organization_id=self._org(), filters=request.query_params
        )
        total = customers.order_by().count()
        items = customers[(page - 1) * limit : page * limit]
        return Response(
            {
                "customers": [rep.customer_item(c) for c in items],
                "pagination": rep.pagination(page=page, limit=limit, total=total),
            }
        )

    def retrieve(self, request, customer_id=None):
        customer = customer_get_for_organization(
            organization_id=self._org(), customer_id=customer_id
        )
        return Response(rep.customer_item(customer))

    def create(self, request):
        body = s.CustomerCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        actor, _ = caller_actor(request.user)
        customer = customer_create(
            organization=request.user.organization,
            external_id=data.pop("customer_id", ""),
            actor=actor,
            **data,
        )
        return Response(
            rep.customer_item(customer, tickets_count=0), status=status.HTTP_201_CREATED
        )

    def partial_update(self, request, customer_id=None):
        customer = customer_get_for_organization(
            organization_id=self._org(), customer_id=customer_id
        )
        body = s.CustomerUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        actor, _ = caller_actor(request.user)
        customer_update(customer=customer, actor=actor, **body.validated_data)
        customer = customer_get_for_organization(
            organization_id=self._org(), customer_id=customer_id
        )
        return Response(rep.customer_item(customer))
