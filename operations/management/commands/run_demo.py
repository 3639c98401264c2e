"""Run the web server, the worker cluster and the account-opening simulator together until
Ctrl-C. Each is its own process; if one dies, the others are stopped and the exit code says so."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from devtools import app_handoff
from operations.management.commands.seed_demo import SIMULATOR_ACCOUNTS


class Command(BaseCommand):
    help = (
        "Run web (gunicorn on :8000), qcluster, the simulator (:8765) and the app's stand-in "
        "(:8767) together."
    )

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--simulator-port", type=int, default=8765)
        parser.add_argument("--app-port", type=int, default=8767)

    def handle(self, *args, port: int, simulator_port: int, app_port: int, **options):
        manage = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py")]
        accounts = Path(settings.DATA_DIR) / SIMULATOR_ACCOUNTS
        env = {
            **os.environ,
            # development settings for every process (gunicorn's wsgi defaults to production)
            "DJANGO_SETTINGS_MODULE": os.environ.get(
                "DJANGO_SETTINGS_MODULE", "referral_site.settings.base"
            ),
            "ACCOUNT_OPENING_URL": f"http://127.0.0.1:{simulator_port}",
            "ACCOUNT_OPENING_SIGNUP_URL": f"http://127.0.0.1:{simulator_port}/open-account",
            "POLL_INTERVAL_MINUTES": os.environ.get("POLL_INTERVAL_MINUTES", "1"),
            # The inviter's SMS (printed by the console sender) at any hour of the demo, a few
            # seconds after the reward (production: 21:00-08:00 quiet, 20 s to merge a burst).
            "QUIET_HOURS": os.environ.get("QUIET_HOURS", ""),
            "MESSAGE_BURST_SECONDS": os.environ.get("MESSAGE_BURST_SECONDS", "5"),
            # The app's stand-in signs its hand-offs with the development key pair.
            "APP_HANDOFF_PUBLIC_KEYS": app_handoff.PUBLIC_KEY,
        }
        # The children inherit the DATABASE_URL manage.py set on starting the embedded server:
        # they only connect, so this command is its last user and the server stops when the demo
        # does (Ctrl-C included), whatever happened to a child.
        subprocess.run([*manage, "collectstatic", "--no-input", "-v", "0"], check=True, env=env)
        subprocess.run([*manage, "sync_schedules"], check=True, env=env)
        # The simulator tells the web server of each account it opens (a signed event, a second
        # or so later), as the account-opening system would: the reward shows within seconds.
        simulator = [
            *manage,
            "run_account_simulator",
            "--port",
            str(simulator_port),
            "--events-url",
            f"http://127.0.0.1:{port}/hooks/account-opened",
            "--events-delay",
            "1",
        ]
        if accounts.exists():
            simulator += ["--accounts", str(accounts)]
        commands = {
            "simulator": simulator,
            "web": [
                sys.executable,
                "-m",
                "gunicorn",
                "referral_site.wsgi",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "2",
                "--access-logfile",
                "-",
            ],
            "cluster": [*manage, "qcluster"],
            "app": [
                sys.executable,
                "-m",
                "devtools.app_handoff",
                "--port",
                str(app_port),
                "--site",
                f"http://127.0.0.1:{port}",
            ],
        }
        processes = {name: subprocess.Popen(command, env=env) for name, command in commands.items()}
        stop = []
        # Ctrl-C or a supervisor's SIGTERM (and SIGINT even when a shell started us ignoring it).
        for signal_number in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signal_number, lambda number, frame: stop.append(number))
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo running: http://127.0.0.1:{port}/admin/ (admin / demo-admin-2026), "
                f"http://127.0.0.1:{port}/me/ (13800138000 / demo-customer-2026), "
                f"simulator http://127.0.0.1:{simulator_port}/_sim/stats, the app's stand-in "
                f"http://127.0.0.1:{app_port}/ (opens /me/ signed in). Ctrl-C stops everything. "
                f"Settings: {env['DJANGO_SETTINGS_MODULE']} (development keys: never for real "
                "cards); SMS codes are printed here."
            )
        )
        exit_code = 0
        while exit_code == 0 and not stop:
            time.sleep(0.5)
            for name, process in processes.items():
                if process.poll() is not None:
                    self.stderr.write(f"{name} exited with {process.returncode}; stopping.")
                    exit_code = process.returncode or 1
        for process in processes.values():
            if process.poll() is None:
                process.terminate()
        for process in processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        self.stdout.write("Demo stopped.")
        sys.exit(exit_code)
