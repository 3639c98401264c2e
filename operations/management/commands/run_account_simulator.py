import sys
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from devtools.account_simulator import (
    BadAccount,
    SimulatorState,
    load_accounts,
    make_server,
)
from devtools.event_sender import EventSender, EventSettings


class Command(BaseCommand):
    help = "Run the account-opening simulator: a real HTTP server standing in for the upstream."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8765, help="0 picks a free port.")
        parser.add_argument(
            "--accounts", type=Path, help="CSV (phone,account_id,opened_at,channel) or JSON."
        )
        parser.add_argument("--rate", type=float, default=5.0, help="Requests per second allowed.")
        parser.add_argument("--latency", type=float, default=0.0, help="Mean added latency in ms.")
        parser.add_argument(
            "--fault-rate", type=float, default=0.0, help="Share of lookups that fail."
        )
        parser.add_argument(
            "--timeout-seconds", type=float, default=10.0, help="How long a 'timeout' hangs."
        )
        parser.add_argument(
            "--drip-seconds", type=float, default=0.2, help="Pause between bytes of a 'drip'."
        )
        events = parser.add_argument_group("signed account-opened events (Standard Webhooks)")
        events.add_argument("--events-url", default="", help="Where to send them; none if empty.")
        events.add_argument(
            "--events-secret",
            default="",
            help="whsec_ secret (default: the first of ACCOUNT_OPENING_WEBHOOK_SECRETS).",
        )
        events.add_argument(
            "--events-delay", type=float, default=1.0, help="Mean delay before sending, seconds."
        )
        events.add_argument("--events-loss", type=float, default=0.0, help="Share never sent.")
        events.add_argument(
            "--events-duplicates", type=float, default=0.0, help="Share sent twice."
        )
        events.add_argument(
            "--events-bad-signatures",
            type=float,
            default=0.0,
            help="Share whose first attempt is signed with a wrong secret.",
        )

    def handle(self, *args, **options):
        state = SimulatorState(
            rate=options["rate"],
            latency_ms=options["latency"],
            fault_rate=options["fault_rate"],
            timeout_seconds=options["timeout_seconds"],
            drip_seconds=options["drip_seconds"],
            events=EventSender(
                EventSettings(
                    url=options["events_url"],
                    secret=options["events_secret"]
                    or next(iter(settings.ACCOUNT_OPENING_WEBHOOK_SECRETS), ""),
                    delay_seconds=options["events_delay"],
                    loss=options["events_loss"],
                    duplicates=options["events_duplicates"],
                    bad_signatures=options["events_bad_signatures"],
                )
            ),
        )
        if options["accounts"]:
            try:
                accounts = load_accounts(options["accounts"].read_text(encoding="utf-8"))
            except (OSError, ValueError, BadAccount) as error:
                raise CommandError(
                    f"Cannot load accounts from {options['accounts']}: {error}"
                ) from None
            state.accounts.update({account["phone"]: account for account in accounts})
        server = make_server(options["host"], options["port"], state)
        host, port = server.server_address[:2]
        # The first line is read by tests and the demo runner to find the port.
        summary = f"{len(state.accounts)} accounts, {state.rate:g} req/s"
        sys.stdout.write(f"listening on http://{host}:{port} ({summary})\n")
        sys.stdout.flush()
        try:
            server.serve_forever(poll_interval=0.2)
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
