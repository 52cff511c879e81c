from celery import shared_task
from django.db import OperationalError

from tickets.events import event_dispatch, event_redispatch


@shared_task(
    name="tickets.event_dispatch",
    acks_late=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=5,
)
def event_dispatch_task(event_id: int) -> bool:
    return event_dispatch(event_id=event_id)


@shared_task(name="tickets.event_dispatch_many", acks_late=True)
def event_dispatch_many_task(event_ids: list[int]) -> int:
    return sum(1 for event_id in event_ids if event_dispatch(event_id=event_id))


@shared_task(name="tickets.event_redispatch", acks_late=True)
def event_redispatch_task() -> int:
    return event_redispatch()
