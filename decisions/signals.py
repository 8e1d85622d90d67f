"""Every change that can alter a decision moves the serving generation, inside its own transaction."""

import time

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db.models import F, Value
from django.db.models.functions import Greatest
from django.db.models.signals import m2m_changed, post_delete, post_save

from .models import ServingGeneration

# A person's saves that change nothing a decision depends on (a login, a new password).
_IRRELEVANT_USER_FIELDS = frozenset({"last_login", "password"})


def bump_generation() -> None:
    """Move the generation to a value never held before: the clock's nanoseconds when they are ahead, so a
    value read inside a transaction that was then rolled back is never reused."""
    moved = ServingGeneration.objects.filter(pk=1).update(value=Greatest(F("value") + 1, Value(time.time_ns())))
    if not moved:
        ServingGeneration.objects.get_or_create(pk=1, defaults={"value": time.time_ns()})


def _changed(sender, **kwargs):
    bump_generation()


def _user_changed(sender, update_fields=None, **kwargs):
    if update_fields is not None and set(update_fields) <= _IRRELEVANT_USER_FIELDS:
        return
    bump_generation()


def _groups_changed(sender, action, pk_set=None, **kwargs):
    # Django signals an add of groups someone already has with an empty pk_set: nothing changed.
    if action == "post_clear" or (action in ("post_add", "post_remove") and pk_set):
        bump_generation()


def connect() -> None:
    from deployments.models import Release, TestAccount
    from tokens.models import ApiToken

    for model in (Release, TestAccount, ApiToken, Group):
        post_save.connect(_changed, sender=model, dispatch_uid=f"serving.{model.__name__}.save")
        post_delete.connect(_changed, sender=model, dispatch_uid=f"serving.{model.__name__}.delete")
    User = get_user_model()
    post_save.connect(_user_changed, sender=User, dispatch_uid="serving.user.save")
    post_delete.connect(_changed, sender=User, dispatch_uid="serving.user.delete")
    m2m_changed.connect(_groups_changed, sender=User.groups.through, dispatch_uid="serving.user.groups")
