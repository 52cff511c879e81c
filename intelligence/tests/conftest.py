"""A real HTTP server on 127.0.0.1 standing in for Quimbi, in either answer shape
(CONTRACTS.md section 1 "published" or 1b "code"), and able to fail on demand."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from intelligence.client import breaker

PUBLISHED = {
    "/api/intelligence/analyze": {
        "customer_id": "C",
        "archetype": {
            "id": "weekly_highvalue",
            "level": 3,
            "segments": {"purchase_frequency": "weekly_shopper"},
        },
        "behavioral_metrics": {
            "lifetime_value": 3420.5,
            "total_orders": 28,
            "avg_order_value": 122.16,
            "days_since_last_purchase": 18,
            "customer_tenure_days": 567,
        },
        "predictions": {"churn_risk": 0.73, "churn_risk_level": "high", "ltv_12mo": 1200.0},
        "communication_guidance": ["Be concise"],
    },
    "/api/intelligence/predict/churn": {
        "churn_risk_score": 0.73,
        "risk_level": "high",
        "factors": [{"factor": "recency", "value": 18, "impact": 0.4, "direction": "up"}],
        "recommendations": ["Offer a retention discount"],
    },
    "/api/generation/message": {
        "message": "Hi Ada, your parcel ships today.",
        "tone": "professional_friendly",
        "channel": "email",
        "personalization_applied": ["name"],
    },
    "/api/generation/actions": {
        "actions": [
            {
                "action": "Offer express shipping",
                "priority": "high",
                "reasoning": "VIP",
                "estimated_impact": {"retention_probability": 0.8, "revenue_at_risk": 3400},
            },
            {"action": "Apologise for the delay", "priority": "medium", "reasoning": "late"},
        ],
        "warnings": ["High churn risk"],
        "talking_points": ["Loyal for 2 years"],
    },
    "/api/intelligence/predict/ltv": {
        "forecasted_ltv": 1250.0,
        "confidence_interval": {"lower": 900, "upper": 1600, "confidence_level": 0.9},
        "current_ltv": 3420.5,
        "incremental_ltv": 100,
    },
}
CODE = {
    "/api/intelligence/analyze": {
        "customer_id": "C",
        "archetype": {"id": "weekly_highvalue", "level": 3, "traits": ["loyal"]},
        "segments": {"purchase_frequency": "weekly_shopper"},
        "dominant_segments": {"purchase_frequency": "weekly_shopper"},
        "churn_risk": {
            "score": 0.41,
            "risk_level": "medium",
            "factors": [],
            "recommended_actions": [],
        },
        "lifetime_value": {"current": 880.0, "predicted_12m": 300.0, "tier": "mid"},
        "customer_tenure": 400,
    },
    "/api/intelligence/predict/churn": {
        "churn_probability": 0.41,
        "factors": [{"factor": "recency", "impact": 0.2}],
        "recommended_interventions": ["Check in"],
    },
    "/api/intelligence/predict/ltv": {"predicted_ltv": 310.0, "confidence_interval": [200, 400]},
    "/api/generation/message": {
        "message": "Hello Ada, thanks for waiting.",
        "confidence": 0.9,
        "reasoning": "",
        "personalizations": {"name": True, "history": False},
        "suggested_actions": [],
    },
    "/api/generation/actions": {
        "recommended_actions": [
            {
                "action": "Offer express shipping",
                "details": "VIP",
                "priority": "high",
                "estimated_cost": 5,
                "estimated_benefit": 50,
                "success_probability": 0.7,
            },
        ],
        "priority": "high",
        "urgency_score": 0.8,
    },
}


class StandIn:
    def __init__(self):
        self.flavor = "published"
        self.failures: list[int] = []  # statuses to answer first, one per request
        self.retry_after: str | None = None
        self.delay = 0.0
        self.malformed = False
        self.hang = False
        self.requests: list[tuple[str, dict, dict]] = []
        self.stop = threading.Event()

    def count(self, path: str) -> int:
        return sum(1 for p, _, _ in self.requests if p == path)


@pytest.fixture
def quimbi(settings):
    stand_in = StandIn()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
            stand_in.requests.append((self.path, body, dict(self.headers)))
            if stand_in.hang:
                stand_in.stop.wait(30)
                return
            if stand_in.delay:
                time.sleep(stand_in.delay)
            if stand_in.failures:
                status = stand_in.failures.pop(0)
                self.send_response(status)
                if stand_in.retry_after:
                    self.send_header("Retry-After", stand_in.retry_after)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(json.dumps({"error": {"code": "X", "message": "boom"}}).encode())
                return
            if self.headers.get("X-API-Key") != "test-key":
                self.send_response(401)
                self.end_headers()
                return
            answers = PUBLISHED if stand_in.flavor == "published" else CODE
            self.send_response(200 if self.path in answers else 404)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            if stand_in.malformed:
                self.wfile.write(b"{not json")
            else:
                self.wfile.write(json.dumps(answers.get(self.path, {"detail": "nope"})).encode())

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.QUIMBI_BASE_URL = f"http://127.0.0.1:{server.server_address[1]}"
    settings.QUIMBI_API_KEY = "test-key"
    settings.QUIMBI_TIMEOUT_SECONDS = 1.0
    breaker().reset()
    yield stand_in
    stand_in.stop.set()
    server.shutdown()
    server.server_close()
    breaker().reset()
