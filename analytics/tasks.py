from celery import shared_task

from analytics.rollup import rollup_refresh_all


@shared_task(name="analytics.rollup_refresh", acks_late=True)
def rollup_refresh_task() -> int:
    """Periodic (beat): roll every organization's days up to yesterday and rebuild the
    last few (analytics.rollup). Returns the days built."""
    return rollup_refresh_all()
