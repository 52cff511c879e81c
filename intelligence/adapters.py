"""Normalise Quimbi's answers into our own shapes. Quimbi serves two shapes (CONTRACTS.md
section 1, the published contract, and 1b, what its code serves today); each adapter
accepts either, ignores unknown fields and leaves missing ones None."""


def _num(value):
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _int(value):
    number = _num(value)
    return int(number) if number is not None else None


def _dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def _level(score: float | None) -> str | None:
    if score is None:
        return None
    return (
        "critical"
        if score >= 0.85
        else "high"
        if score >= 0.6
        else ("medium" if score >= 0.3 else "low")
    )


def analyze_normalise(data: dict) -> dict:
    archetype = _dict(data.get("archetype"))
    metrics = _dict(data.get("behavioral_metrics"))
    predictions = _dict(data.get("predictions"))
    churn = _dict(data.get("churn_risk"))
    ltv = _dict(data.get("lifetime_value"))
    segments = _dict(data.get("segments")) or _dict(archetype.get("segments"))
    churn_score = _num(predictions.get("churn_risk"))
    if churn_score is None:
        churn_score = _num(churn.get("score"))
    tenure = metrics.get("customer_tenure_days")
    if tenure is None and isinstance(data.get("customer_tenure"), int | float | dict):
        raw = data["customer_tenure"]
        tenure = raw.get("days") if isinstance(raw, dict) else raw
    dominant = data.get("dominant_segments")
    return {
        "archetype": {
            "id": archetype.get("id"),
            "level": archetype.get("level"),
            "traits": archetype.get("traits"),
        }
        if archetype
        else None,
        "segments": {str(k): str(v) for k, v in segments.items()},
        "dominant_segments": dominant if isinstance(dominant, dict | list) else segments,
        "lifetime_value": _num(metrics.get("lifetime_value"))
        if metrics.get("lifetime_value") is not None
        else _num(ltv.get("current")),
        "total_orders": _int(metrics.get("total_orders")),
        "avg_order_value": _num(metrics.get("avg_order_value")),
        "days_since_last_purchase": _int(metrics.get("days_since_last_purchase")),
        "customer_tenure_days": _int(tenure),
        "churn_score": churn_score,
        "churn_level": predictions.get("churn_risk_level")
        or churn.get("risk_level")
        or _level(churn_score),
        "churn_factors": churn.get("factors") if isinstance(churn.get("factors"), list) else [],
        "ltv_12m": _num(predictions.get("ltv_12mo"))
        if predictions.get("ltv_12mo") is not None
        else _num(ltv.get("predicted_12m")),
        "guidance": data.get("communication_guidance")
        if isinstance(data.get("communication_guidance"), list)
        else [],
    }


def churn_normalise(data: dict) -> dict:
    score = _num(data.get("churn_risk_score"))
    if score is None:
        score = _num(data.get("churn_probability"))
    factors = data.get("factors") if isinstance(data.get("factors"), list) else []
    recommendations = data.get("recommendations") or data.get("recommended_interventions") or []
    return {
        "churn_score": score,
        "churn_level": data.get("risk_level") or _level(score),
        "churn_factors": factors,
        "recommendations": recommendations if isinstance(recommendations, list) else [],
    }


def ltv_normalise(data: dict) -> dict:
    forecast = _num(data.get("forecasted_ltv"))
    if forecast is None:
        forecast = _num(data.get("predicted_ltv"))
    interval = data.get("confidence_interval")
    if isinstance(interval, dict):
        low, high = _num(interval.get("lower")), _num(interval.get("upper"))
    elif isinstance(interval, list) and len(interval) == 2:
        low, high = _num(interval[0]), _num(interval[1])
    else:
        low = high = None
    return {
        "ltv_12m": forecast,
        "ltv_low": low,
        "ltv_high": high,
        "lifetime_value": _num(data.get("current_ltv")),
    }
