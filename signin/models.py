"""Who the brokerage's app says a person is: its customer id (the token's ``sub``) tied to our
user once, and the hand-off tokens already used (each is good once)."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from core.models import RecordedEvent


class AppIdentity(models.Model):
    """The brokerage's customer id for one of our users: a later token must carry the same id
    for that phone number, and the same phone for that id."""

    issuer = models.CharField(max_length=200, verbose_name=_("issuer"))
    subject = models.CharField(max_length=200, verbose_name=_("customer id at the brokerage"))
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="app_identities",
        verbose_name=_("user"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("app identity")
        verbose_name_plural = _("app identities")
        constraints = [
            models.UniqueConstraint(fields=["issuer", "subject"], name="one_user_per_app_id"),
            models.UniqueConstraint(fields=["issuer", "user"], name="one_app_id_per_user"),
        ]

    def __str__(self) -> str:
        return f"{self.issuer}:{self.subject}"


class UsedHandoff(models.Model):
    """A hand-off token's id, kept until the token has expired: a replay is refused."""

    issuer = models.CharField(max_length=200, verbose_name=_("issuer"))
    jti = models.CharField(max_length=200, verbose_name=_("token id"))
    expires_at = models.DateTimeField(db_index=True, verbose_name=_("expires at"))

    class Meta:
        verbose_name = _("used hand-off token")
        verbose_name_plural = _("used hand-off tokens")
        constraints = [
            models.UniqueConstraint(fields=["issuer", "jti"], name="a_hand_off_token_once")
        ]

    def __str__(self) -> str:
        return f"{self.issuer}:{self.jti}"


class SignInEvent(RecordedEvent):
    """A hand-off refused for who it named (the app's customer id with another phone, or a
    phone already tied to another customer id): staff look at these."""

    class Action(models.TextChoices):
        PHONE_MISMATCH = "phone_mismatch", _("known customer id with another phone")
        PHONE_OF_ANOTHER = "phone_of_another", _("phone tied to another customer id")
        STAFF_ACCOUNT = "staff_account", _("a staff account named by the app")

    action = models.CharField(max_length=20, choices=Action.choices, verbose_name=_("action"))
    issuer = models.CharField(max_length=200, verbose_name=_("issuer"))
    subject = models.CharField(max_length=200, verbose_name=_("customer id at the brokerage"))
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("user"),
    )

    class Meta(RecordedEvent.Meta):
        verbose_name = _("sign-in event")
        verbose_name_plural = _("sign-in events")
