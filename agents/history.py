"""Who django-simple-history records as the author of a change.

Services set `instance._history_user` (an Agent, or None for the system / an API key).
When they did not (e.g. m2m changes such as ticket tags), the request's user is used
only if it is an Agent: an organization API key is no user row.
"""

from django.contrib.auth import get_user_model


def history_user(request=None, **kwargs):
    user = getattr(request, "user", None)
    if isinstance(user, get_user_model()) and user.is_authenticated:
        return user
    return None
