"""``make bench`` / ``make bench-quick``: run every benchmark on a fresh database and write
docs/benchmarks.md (and the throughput plot). Figures are medians; comparisons are ratios to a
baseline measured in the same run, because this machine is shared and noisy."""

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--quick", action="store_true", help="small sizes, one repeat (about 3 minutes)"
    )
    parser.add_argument(
        "--only",
        default="",
        help="comma-separated: grants,binding,grant_path,claims,upstream,imports,pages,load,detection,scheduling,"
        "deposits,messages,retention,exports,budgets,fraud,funnel, reality, events (not in the default set: about 40 and 15 "
        "minutes)",
    )
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="measure nothing: write docs/benchmarks.md again from the last run's saved results",
    )
    args = parser.parse_args()

    from bench.database import fresh_database

    url = fresh_database()
    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_SETTINGS_MODULE"] = "referral_site.settings.base"
    os.environ["ALLOWED_HOSTS"] = "testserver,localhost,127.0.0.1"
    os.environ["LOG_LEVEL"] = "WARNING"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)

    from bench import (
        binding,
        budgets,
        claims,
        deposit_waits,
        detection,
        events_reality,
        exports,
        fraud,
        funnel,
        grant_path,
        grants,
        imports,
        load,
        messages,
        pages,
        report,
        retention,
        scheduling,
        scheduling_reality,
        upstream,
    )

    wanted = set(filter(None, args.only.split(","))) or {
        "grants",
        "binding",
        "grant_path",
        "claims",
        "upstream",
        "imports",
        "pages",
        "load",
        "detection",
        "scheduling",
        "deposits",
        "messages",
        "retention",
        "exports",
        "budgets",
        "fraud",
        "funnel",
    }
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    saved = out / ("quick.json" if args.quick else "full.json")
    # With --only, the other sections keep the figures of the last run of the same mode.
    results = json.loads(saved.read_text()) if args.only and saved.exists() else {}
    if args.report_only:
        report.write(json.loads(saved.read_text()), ROOT / "docs")
        print("docs/benchmarks.md written from", saved.relative_to(ROOT))
        return
    started = time.monotonic()
    steps = [
        ("grants", lambda: grants.run(args.quick, url)),
        ("binding", lambda: binding.run(args.quick)),
        ("grant_path", lambda: grant_path.run(args.quick, url)),
        ("claims", lambda: claims.run(args.quick)),
        ("upstream", lambda: upstream.run(args.quick)),
        ("imports", lambda: imports.run(args.quick, url)),
        ("pages", lambda: pages.run(args.quick)),
        ("load", lambda: load.run(args.quick, url)),
        ("detection", lambda: detection.run(args.quick)),
        ("scheduling", lambda: scheduling.run(args.quick)),
        ("deposits", lambda: deposit_waits.run(args.quick)),
        ("reality", lambda: scheduling_reality.run(args.quick)),
        ("events", lambda: events_reality.run(args.quick)),
        ("messages", lambda: messages.run(args.quick)),
        ("retention", lambda: retention.run(args.quick)),
        ("exports", lambda: exports.run(args.quick, url)),
        ("budgets", lambda: budgets.run(args.quick)),
        ("fraud", lambda: fraud.run(args.quick)),
        ("funnel", lambda: funnel.run(args.quick)),
    ]
    for name, step in steps:
        if name in wanted:
            print(f"{name}:", flush=True)
            results[name] = step()
            saved.write_text(json.dumps(results, indent=1, default=str))  # a later failure keeps it
    results["seconds"] = time.monotonic() - started
    results["quick"] = args.quick
    results["only"] = args.only
    saved.write_text(json.dumps(results, indent=1, default=str))
    report.write(results, ROOT / "docs")
    print(f"done in {results['seconds']:.0f} s; docs/benchmarks.md written")


if __name__ == "__main__":
    main()
