from celery import shared_task

from rules.services import scores_refresh, scores_refresh_active


@shared_task(name="rules.smart_score_refresh", acks_late=True)
def smart_score_refresh_task() -> int:
    """Periodic (beat): refresh the time-driven parts of active tickets' scores."""
    return scores_refresh_active()


@shared_task(name="rules.rescore_organization", acks_late=True)
def rescore_organization_task(organization_id: str) -> int:
    """After a rule or weight change: rescore the organization's open tickets in bulk."""
    return scores_refresh(organization_id=organization_id)


@shared_task(name="rules.rescore_customer", acks_late=True)
def rescore_customer_task(customer_id: str) -> int:
    """After a customer change (tier, intelligence): rescore their open tickets."""
    return scores_refresh(customer_id=customer_id)


@shared_task(name="rules.automations_time_scan", acks_late=True)
def automations_time_scan_task() -> int:
    """Periodic (beat): run the time automation rules on the tickets that qualify now."""
    from rules.automation.engine import time_rules_scan

    return time_rules_scan()
