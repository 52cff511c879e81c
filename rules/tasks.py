from celery import shared_task

from rules.services import scores_refresh_active


@shared_task(name="rules.smart_score_refresh", acks_late=True)
def smart_score_refresh_task() -> int:
    """Periodic (beat): refresh the time-driven part (age) of active tickets' scores."""
    return scores_refresh_active()
