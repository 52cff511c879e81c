"""The smart score: how urgently a ticket needs the team, on the frontend's scale
(>= 10 high priority, > 5 elevated).

score = base (priority + channel + age) [+ customer intelligence + rules + SLA urgency,
added by their issues]. Each component is listed in the breakdown with its points and
why, so an agent can see why a ticket ranks where it does.

The age term grows with the time the ticket has been waiting (sqrt of hours, so a day
adds ~2.4 and a week ~6.5): an old ticket never sinks below a newer one of the same kind.
Resolved and closed tickets score 0: they are not in anyone's queue.
"""

import math
from dataclasses import dataclass
from datetime import datetime

from tickets import lifecycle

PRIORITY_POINTS = {"low": 0.5, "normal": 2.0, "high": 5.0, "urgent": 8.0}
CHANNEL_POINTS = {"phone": 1.5, "chat": 1.5, "sms": 1.0, "email": 0.5, "form": 0.5}
AGE_POINTS_PER_SQRT_HOUR = 0.5


@dataclass(frozen=True)
class ScoreInput:
    status: str
    priority: str
    channel: str
    created_at: datetime


def score_compute(ticket: ScoreInput, *, now: datetime) -> tuple[float, dict]:
    """The score and its breakdown `{"total", "components": [{name, points, reason}]}`."""
    if ticket.status in lifecycle.DONE_STATUSES:
        return 0.0, {
            "total": 0.0,
            "components": [],
            "reason": f"{ticket.status} tickets are not queued",
            "computed_at": now.isoformat(),
        }
    hours = max((now - ticket.created_at).total_seconds(), 0) / 3600
    components = [
        {
            "name": "priority",
            "points": PRIORITY_POINTS.get(ticket.priority, 0.0),
            "reason": f"priority {ticket.priority}",
        },
        {
            "name": "channel",
            "points": CHANNEL_POINTS.get(ticket.channel, 0.0),
            "reason": f"channel {ticket.channel}",
        },
        {
            "name": "age",
            "points": round(AGE_POINTS_PER_SQRT_HOUR * math.sqrt(hours), 2),
            "reason": f"waiting {hours:.1f} h",
        },
    ]
    total = round(sum(c["points"] for c in components), 2)
    return total, {"total": total, "components": components, "computed_at": now.isoformat()}
