"""What is recorded about the clients of the referral pages, for the fraud signals scored before
a grant is paid (``scoring``). Personal information under PIPL, kept to the minimum: never the
address or the cookie itself, only keyed digests of them (HMAC with the project's secret: equal
clients can be compared, neither can be read back), the number proved too; the address of an
IPv6 client by its /64;
kept ``FRAUD_SIGNALS_KEEP_DAYS`` days (the qualification window and the deposit's days fit in
it), then deleted by the cluster (``fraud.purge_sightings``)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Sighting(models.Model):
    """A client seen at a step of a referral: an inviter on their own pages, an invitee's visit
    of an invite link, a phone number proved with a code."""

    class Step(models.TextChoices):
        INVITER_PAGE = "inviter_page", _("the inviter on their own pages")
        LINK_VISIT = "link_visit", _("a visit of an invite link")
        PHONE_VERIFIED = "phone_verified", _("a phone number proved on an invite link")

    step = models.CharField(max_length=16, choices=Step.choices, verbose_name=_("step"))
    # the inviter whose link or pages it was (a customer's id: this app reads no customer)
    inviter_id = models.BigIntegerField(verbose_name=_("inviter"))
    # the campaign the link showed (link_visit only; a campaign's id: this app reads none), so
    # that campaigns running at once count their own visits; None: none ran, or recorded before
    # it was kept
    campaign_id = models.BigIntegerField(null=True, blank=True, verbose_name=_("campaign"))
    # the number proved (phone_verified only), as a digest like the others
    phone = models.CharField(max_length=32, blank=True, verbose_name=_("phone (digest)"))
    address = models.CharField(max_length=32, blank=True, verbose_name=_("address (digest)"))
    device = models.CharField(max_length=32, blank=True, verbose_name=_("device (digest)"))
    seen_at = models.DateTimeField(db_index=True, verbose_name=_("seen at"))

    class Meta:
        verbose_name = _("sighting")
        verbose_name_plural = _("sightings")
        indexes = [
            models.Index(fields=["inviter_id", "step", "seen_at"], name="sighting_by_inviter"),
            # the funnel's count of a campaign's link visits
            models.Index(
                fields=["campaign_id", "seen_at"],
                condition=models.Q(step="link_visit"),
                name="sighting_visits_by_campaign",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(step="phone_verified", phone__regex=r"^[0-9a-f]{32}$")
                | (~models.Q(step="phone_verified") & models.Q(phone="")),
                name="sighting_phone_only_when_verified",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_step_display()} #{self.pk}"
