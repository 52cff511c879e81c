"""The draft an agent gets when Quimbi is down or not configured: built from the ticket,
in the tone and length asked for, answering the customer's latest message, and within
one SMS (160 characters) on the SMS channel."""

SMS_LIMIT = 160

# tone -> (greeting, thanks, promise, closing)
TONES = {
    "professional_friendly": (
        "Hi {name},",
        "Thanks for your message about {topic}.",
        "I'm looking into it now and will get back to you with an update shortly.",
        "Best regards",
    ),
    "professional": (
        "Hello {name},",
        "Thank you for contacting us regarding {topic}.",
        "We are reviewing your request and will update you as soon as possible.",
        "Kind regards",
    ),
    "friendly": (
        "Hey {name}!",
        "Thanks so much for getting in touch about {topic}.",
        "I'm on it and will be back with you really soon.",
        "Cheers",
    ),
    "formal": (
        "Dear {name},",
        "We acknowledge receipt of your message concerning {topic}.",
        "Your request is being reviewed and we will respond without delay.",
        "Yours sincerely",
    ),
    "empathetic": (
        "Hi {name},",
        "I'm sorry for the trouble with {topic}, and I understand how frustrating this is.",
        "I'm personally looking into it and will update you as soon as I can.",
        "Warm regards",
    ),
    "apologetic": (
        "Hi {name},",
        "I'm so sorry about {topic}; this is not the experience we want for you.",
        "I'm fixing this now and will update you shortly.",
        "With apologies",
    ),
    "casual": (
        "Hi {name},",
        "Got your message about {topic}.",
        "Checking on it now, back to you soon.",
        "Thanks",
    ),
    "concise": ("Hi {name},", "Re: {topic}.", "Looking into it; update soon.", "Thanks"),
}
DEFAULT_TONE = "professional_friendly"
LONG_EXTRA = (
    "If there is anything else you can tell us, such as an order number or a photo, "
    "just reply to this message and it will reach me directly."
)


def _topic(subject: str, latest_customer_message: str) -> str:
    """What the customer wrote last, in a few words; the subject if they wrote nothing."""
    text = " ".join((latest_customer_message or "").split())
    if text:
        sentence = text.split(". ")[0].rstrip(".!?")
        words = sentence.split(" ")
        short = " ".join(words[:12]) + ("…" if len(words) > 12 else "")
        return f'"{short}"'
    return f'"{subject}"' if subject else "your request"


def compose(
    *,
    customer_name: str,
    subject: str,
    latest_customer_message: str,
    tone: str,
    length: str,
    channel: str,
) -> str:
    greeting, thanks, promise, closing = TONES.get(tone, TONES[DEFAULT_TONE])
    name = (customer_name or "").split(" ")[0] or "there"
    topic = _topic(subject, latest_customer_message)
    if channel == "sms":
        return _sms(greeting.format(name=name), thanks, promise, topic)
    lines = [greeting.format(name=name), "", thanks.format(topic=topic)]
    if length != "short":
        lines.append(promise)
    if length == "long":
        lines.append(LONG_EXTRA)
    return "\n".join([*lines, "", closing])


def _sms(greeting: str, thanks: str, promise: str, topic: str) -> str:
    """One SMS: drop the closing, then shorten the topic, until it fits in 160."""
    for candidate_topic in (topic, '"' + topic.strip('"')[:40].rstrip() + '…"', "your message"):
        text = f"{greeting} {thanks.format(topic=candidate_topic)} {promise}"
        if len(text) <= SMS_LIMIT:
            return text
    text = f"{greeting} {thanks.format(topic='your message')}"
    return text[: SMS_LIMIT - 1].rstrip() + "…" if len(text) > SMS_LIMIT else text
