"""Who made each grant (invariant 14: a decision a person made is final for the automatic paths).

Existing grants are labelled from what the table already says: a grant another one names as
``replaced_by`` is a staff reissue; the first grant of each invitation is the automatic one; any
other grant of an invitation that already had a voided one was made again by the old sweep after
a person's void (the bug this rule closes): it is labelled ``repeated`` so that the unique index
of the next migration can be built, and reconciliation names each one as a breach for review.
"""

from django.db import migrations, models

LABEL = """
UPDATE rewards_grant g SET origin = 'reissue'
WHERE EXISTS (SELECT 1 FROM rewards_grant old WHERE old.replaced_by_id = g.id);

UPDATE rewards_grant g SET origin = 'repeated'
WHERE g.origin = 'automatic'
  AND EXISTS (SELECT 1 FROM rewards_grant earlier
              WHERE earlier.invitation_id = g.invitation_id AND earlier.id < g.id);
"""


class Migration(migrations.Migration):
    dependencies = [
        ("rewards", "0012_customer_page_indexes"),
    ]

    operations = [
        # A constant default is only catalogue work in PostgreSQL 11+: no table rewrite.
        migrations.AddField(
            model_name="grant",
            name="origin",
            field=models.CharField(
                choices=[
                    ("automatic", "granted when the invitation qualified"),
                    ("reissue", "reissued by staff"),
                    ("granted_again", "granted again by staff"),
                    ("repeated", "made again automatically after a void (before the rule)"),
                ],
                default="automatic",
                max_length=16,
                verbose_name="origin",
            ),
            preserve_default=False,
        ),
        migrations.RunSQL(LABEL, reverse_sql=migrations.RunSQL.noop),
        migrations.AddConstraint(
            model_name="grant",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("origin__in", ["automatic", "reissue", "granted_again", "repeated"])
                ),
                name="grant_origin_known",
            ),
        ),
        migrations.AlterField(
            model_name="grantevent",
            name="action",
            field=models.CharField(
                choices=[
                    ("created", "Created"),
                    ("held", "Held"),
                    ("issued", "Issued"),
                    ("released", "Released"),
                    ("revealed", "Revealed"),
                    ("reported", "Reported"),
                    ("voided", "Voided"),
                    ("reissued", "Reissued"),
                    ("granted_again", "Granted again"),
                ],
                max_length=16,
                verbose_name="action",
            ),
        ),
        migrations.AlterField(
            model_name="anomaly",
            name="kind",
            field=models.CharField(
                choices=[
                    ("card_in_two_grants", "card in two grants"),
                    ("invitation_two_live_grants", "invitation with two live grants"),
                    ("inviter_over_cap", "inviter over the campaign's cap"),
                    ("ledger_mismatch", "points ledger differs from issued grants"),
                    ("assigned_card_without_grant", "assigned card without a grant"),
                    ("grant_card_not_assigned", "issued grant whose card is not assigned"),
                    ("account_counted_twice", "account counted twice in a campaign"),
                    ("existing_customer_rewarded", "existing customer rewarded"),
                    ("card_secret_in_clear", "card secret not encrypted"),
                    ("grant_number_reused", "grant number used twice"),
                    ("card_changed_without_event", "card status changed without an event"),
                    ("history_unprotected", "history tables not protected"),
                    ("grant_after_void", "granted automatically after a person's void"),
                    ("low_stock", "stock under its threshold"),
                    ("out_of_stock", "out of stock with grants waiting"),
                    ("cards_expiring", "available cards expiring soon"),
                    ("stock_days_left", "few days of stock left"),
                    ("inviter_daily_qualifications", "inviter qualifying fast"),
                    ("grant_rate_spike", "grants per hour spiking"),
                    ("channel_burst", "invitees opening together through one channel"),
                    ("poller_stalled", "poller stalled"),
                    ("upstream_error_rate", "upstream failing"),
                    ("pending_past_window", "invitations pending past their window"),
                    ("grants_waiting", "grants waiting too long"),
                    ("card_reported", "card reported by its customer"),
                ],
                max_length=50,
                verbose_name="rule",
            ),
        ),
    ]
