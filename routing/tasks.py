from celery import shared_task

from routing.services import queues_drain


@shared_task(name="routing.queues_drain", acks_late=True)
def queues_drain_task() -> int:
    """Periodic (beat): route tickets waiting in team queues to agents with free slots."""
    return queues_drain()
