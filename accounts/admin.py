"""The admin's people and groups pages: every change of a role or a flag goes through accounts.services.

Only administrators (superusers) open them. A person is never deleted here (their name is in the
audit history): they are deactivated. Per-person permissions are not offered: rights come from groups.
"""

from django.contrib import admin, messages
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, User

from engine.errors import DomainError

from .services import FLAGS, save_new_person, set_flags, set_group_permissions, set_roles


class SuperuserOnly:
    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return self.has_module_permission(request)

    def has_add_permission(self, request):
        return self.has_module_permission(request)

    def has_change_permission(self, request, obj=None):
        return self.has_module_permission(request)

    def has_delete_permission(self, request, obj=None):
        return False


class PersonAdmin(SuperuserOnly, UserAdmin):
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        ("Personal info", {"fields": ("first_name", "last_name", "email")}),
        (
            "Roles and standing",
            {
                "fields": ("is_active", "is_staff", "is_superuser", "groups"),
                "description": "Every change here is recorded in the audit history. Sign-offs come from the groups.",
            },
        ),
        ("Important dates", {"fields": ("last_login", "date_joined")}),
    )
    readonly_fields = ("last_login", "date_joined")
    list_filter = ("is_active", "is_staff", "is_superuser", "groups")

    def save_model(self, request, obj, form, change):
        if not change:
            request._pdp_new_person = obj  # saved with its groups in save_related, through the service
            return
        wanted = {flag: getattr(obj, flag) for flag in FLAGS}
        current = User.objects.get(pk=obj.pk)
        for flag in FLAGS:
            setattr(obj, flag, getattr(current, flag))
        super().save_model(request, obj, form, change)  # name, e-mail, password: not roles
        self._call(request, set_flags, obj, **wanted)

    def save_related(self, request, form, formsets, change):
        groups = form.cleaned_data.pop("groups", None)
        new = getattr(request, "_pdp_new_person", None)
        if new is not None:
            self._call(request, save_new_person, new, groups=groups or ())
        elif groups is not None:
            self._call(request, set_roles, form.instance, groups=groups)
        super().save_related(request, form, formsets, change)

    def _call(self, request, service, obj, **kwargs):
        try:
            service(obj, actor=request.user, **kwargs)
        except DomainError as exc:
            self.message_user(request, exc.message, messages.ERROR)


class RoleGroupAdmin(SuperuserOnly, GroupAdmin):
    def save_related(self, request, form, formsets, change):
        permissions = form.cleaned_data.pop("permissions", None)
        super().save_related(request, form, formsets, change)
        if permissions is not None:
            try:
                set_group_permissions(form.instance, actor=request.user, permissions=permissions)
            except DomainError as exc:
                self.message_user(request, exc.message, messages.ERROR)


admin.site.unregister(User)
admin.site.unregister(Group)
admin.site.register(User, PersonAdmin)
admin.site.register(Group, RoleGroupAdmin)
