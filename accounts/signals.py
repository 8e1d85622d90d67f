"""Failed sign-ins and lockouts into the audit history.

Django sends `user_login_failed` from `authenticate()` wherever a sign-in fails (the portal, the
admin, the API token endpoint), and django-axes sends `user_locked_out` when a name is locked out;
nothing else of the project's writes a sign-in, so these two receivers are where the events are
written, explicitly, one each. The password is never in them: Django has already blanked it.
"""

from axes.signals import user_locked_out
from django.contrib.auth.signals import user_login_failed
from django.dispatch import receiver

from .services import record_lockout, record_login_failure


@receiver(user_login_failed, dispatch_uid="pdp-login-failed")
def login_failed(sender, credentials, request=None, **kwargs):
    record_login_failure(username=str(credentials.get("username", ""))[:150], request=request)


@receiver(user_locked_out, dispatch_uid="pdp-locked-out")
def locked_out(sender, request=None, username=None, ip_address=None, **kwargs):
    record_lockout(username=str(username or "")[:150], request=request)
