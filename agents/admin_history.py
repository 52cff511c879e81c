"""django-simple-history's History and Revert pages, held to the change page's rules.

Out of the box its views look rows up by primary key alone: a user of one organization
could read, and revert, another organization's objects. Here both views first find the
object through `get_object()` (the admin's organization-scoped queryset), so a foreign or
unknown id answers like the change page does: the admin's "doesn't exist" redirect.

A revert is a change: it needs the change permission on the object, and it is saved the
way the change page saves (`save_model` and `save_related`, which the domain admins route
through their services), so events, SLA clocks and scores follow a revert too.
"""

from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.shortcuts import get_object_or_404
from simple_history.admin import SimpleHistoryAdmin


class ScopedHistoryAdmin(SimpleHistoryAdmin):
    def _scoped_object(self, request, object_id):
        """The object if this user's admin queryset holds it, else None."""
        return self.get_object(request, unquote(object_id))

    def history_view(self, request, object_id, extra_context=None):
        obj = self._scoped_object(request, object_id)
        if obj is None:
            return self._get_obj_does_not_exist_redirect(request, self.model._meta, object_id)
        if not self.has_view_or_change_permission(request, obj):
            raise PermissionDenied
        return super().history_view(request, object_id, extra_context)

    def revert_disabled(self, request, obj=None):
        return super().revert_disabled(request, obj) or not self.has_change_permission(request, obj)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        obj = self._scoped_object(request, object_id)
        if obj is None:
            return self._get_obj_does_not_exist_redirect(request, self.model._meta, object_id)
        if not self.has_view_or_change_permission(request, obj):
            raise PermissionDenied
        if request.method == "POST":
            if self.revert_disabled(request, obj):
                raise PermissionDenied
            response = self._revert(request, obj, version_id)
            if response is not None:
                return response
        # GET, or a POST whose form is invalid: simple-history renders the form (again).
        return super().history_form_view(request, object_id, version_id, extra_context)

    def _revert(self, request, obj, version_id):
        history_model = type(obj).history.model
        version = get_object_or_404(
            history_model, **{obj._meta.pk.attname: obj.pk, "history_id": version_id}
        ).instance
        version._state.adding = False
        form = self.get_form(request, version)(request.POST, request.FILES, instance=version)
        if not form.is_valid():
            return None
        with transaction.atomic():
            reverted = self.save_form(request, form, change=True)
            self.save_model(request, reverted, form, change=True)
            self.save_related(request, form, [], change=True)
        self.log_change(request, reverted, self.construct_change_message(request, form, []))
        return self.response_change(request, reverted)
