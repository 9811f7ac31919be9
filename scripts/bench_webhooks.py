"""Webhook latency: commit of an event → its webhook received, on loopback, at a steady rate.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/renfang_scratch \\
        .venv/bin/python scripts/bench_webhooks.py [--rate 100] [--seconds 30]
        [--docs docs/BENCHMARKS.md] [--note "..."]

Needs a register with people (``renfang demo``) in a scratch database: it publishes
``person.changed`` events (source ``bench``) that stay in the feed. A department reader
granted names in the people's district subscribes; its webhook is a receiver on 127.0.0.1
(``allow_private``); ``renfang worker`` runs as its own process, as under ``make run``. The
script publishes one name change per transaction through ``exchange.events.publish_person_
changes`` at ``--rate`` per second, takes the time after each commit, and the receiver the
time each event arrives; prints one JSON line (p50, p99, max, lost), and with ``--docs``
writes the "### Webhook latency" subsection of "## Change feed and webhooks (issue 5)" in
docs/BENCHMARKS.md, leaving the section's other subsections alone.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "renfang.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth.models import User  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from renfang.accounts.models import PersonField, Role  # noqa: E402
from renfang.accounts.services import role_grant  # noqa: E402
from renfang.areas.models import Area  # noqa: E402
from renfang.exchange.events import PersonChange, publish_person_changes  # noqa: E402
from renfang.exchange.models import EventHead, Subscription  # noqa: E402
from renfang.exchange.webhooks.services import endpoint_create  # noqa: E402
from renfang.people.models import Person, Residence  # noqa: E402

SECTION = "## Change feed and webhooks (issue 5)"
SUBSECTION = "### Webhook latency"
BIN = ROOT / ".venv" / "bin"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the listen backlog: the worker connects 8 at a time


class Receiver:
    """Records when each event (by ``seq``) first arrives; answers 204."""

    def __init__(self) -> None:
        self.arrived: dict[int, float] = {}
        self.requests = 0
        lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                now = time.time()
                seq = int(json.loads(body)["data"]["seq"])
                with lock:
                    receiver.requests += 1
                    receiver.arrived.setdefault(seq, now)
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = _Server(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/bench"


def people(limit: int) -> tuple[list[tuple[int, str]], str]:
    """Persons living in one district now (id, name), and that district's code."""
    first = Residence.objects.filter(valid_to__isnull=True).exclude(division="").first()
    if first is None:
        raise SystemExit("bench_webhooks: the register has no residents; run `renfang demo`")
    district = first.division[:6]
    ids = list(
        Residence.objects.filter(valid_to__isnull=True, division__startswith=district)
        .values_list("person_id", flat=True)
        .distinct()[:limit]
    )
    names = dict(Person.objects.filter(pk__in=ids).values_list("pk", "name"))
    return [(pk, names[pk]) for pk in ids if pk in names], district


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def measure(rate: int, seconds: int) -> dict[str, Any]:
    persons, district = people(1000)
    receiver = Receiver()
    user = User.objects.create_user(f"bench_webhooks_{os.getpid()}", password=None)
    role_grant(
        user=user,
        role=Role.DEPARTMENT_READER,
        area=Area.objects.get(code=district),
        fields=[PersonField.NAME],
        granted_by=None,
    )
    subscription = Subscription.objects.create(subscriber=user, name="bench")
    endpoint_create(subscription, receiver.url, allow_private=True, user=None)
    worker = subprocess.Popen([str(BIN / "renfang"), "worker", "-v", "0"])  # noqa: S603
    committed: dict[int, float] = {}
    try:
        time.sleep(3)  # the worker's start (Django, a first pass)
        count = rate * seconds
        start = time.monotonic()
        for number in range(count):
            due = start + number / rate
            pause = due - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            pk, name = persons[number % len(persons)]
            change = PersonChange(
                person_id=pk,
                changes=[{"field": "name", "old": name, "new": f"{name}·{number}"}],
                source="bench",
            )
            with transaction.atomic():
                publish_person_changes([change])
                seq = EventHead.objects.get(pk=1).last_seq  # ours: the head is locked by us
            committed[seq] = time.time()
        published_in = time.monotonic() - start
        deadline = time.monotonic() + 60
        while len(receiver.arrived.keys() & committed.keys()) < count:
            if time.monotonic() > deadline:
                break
            time.sleep(0.1)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(30)
        receiver.server.shutdown()
        user.delete()  # its subscription, endpoint and deliveries with it
    latencies = [
        (receiver.arrived[seq] - at) * 1000
        for seq, at in committed.items()
        if seq in receiver.arrived
    ]
    return {
        "benchmark": "webhook_latency",
        "database": connection.vendor,
        "events": len(committed),
        "rate_per_s": rate,
        "achieved_rate_per_s": round(len(committed) / published_in, 1),
        "p50_ms": round(percentile(latencies, 0.50), 1),
        "p99_ms": round(percentile(latencies, 0.99), 1),
        "max_ms": round(max(latencies), 1),
        "lost": len(committed) - len(latencies),
        "requests": receiver.requests,
        "load_1min": round(os.getloadavg()[0], 2),
        "cpus": os.cpu_count(),
    }


def subsection(result: dict[str, Any], command: str, note: str) -> str:
    commit = subprocess.run(
        ["git", "log", "-1", "--format=%h %s"], cwd=ROOT, capture_output=True, text=True,
        check=False,
    ).stdout.strip()  # fmt: skip
    today = datetime.datetime.now(tz=datetime.UTC).date().isoformat()
    measured = textwrap.fill(
        f'Measured {today} at commit "{commit}" on {result["database"]}, {result["cpus"]} '
        f"cores, load {result['load_1min']} (1 min) at the end. {note}",
        width=96,
    )
    return f"""{SUBSECTION}

```sh
{command}
```

(script: `scripts/bench_webhooks.py`). One name change per transaction through
`exchange.events.publish_person_changes`, at a steady rate, for people of one district; a
department reader granted names there subscribes, with a webhook on a loopback receiver;
`renfang worker` runs as its own process with its defaults (8 sends at once, 0.2 s idle
poll). Latency is from the publisher's commit to the receiver's reading of the request.

{measured}

| events | rate (/s) | p50 | p99 | max | lost |
| ---: | ---: | ---: | ---: | ---: | ---: |
| {result["events"]:,} | {result["achieved_rate_per_s"]} | {result["p50_ms"]} ms | \
{result["p99_ms"]} ms | {result["max_ms"]} ms | {result["lost"]} |

Target: p99 under 1 s at 100 events/s.

"""


def update_docs(docs: Path, body: str) -> None:
    """Replace (or add) the webhook subsection; other subsections of the section stay."""
    text = docs.read_text(encoding="utf-8")
    start = text.find(SECTION)
    if start < 0:
        anchor = text.find("\n## ", text.find("## ") + 1)  # after the first section
        at = anchor + 1 if anchor >= 0 else len(text)
        text = text[:at] + f"{SECTION}\n\n" + text[at:]
        start = at
    section_end = text.find("\n## ", start + len(SECTION))
    section_end = section_end + 1 if section_end >= 0 else len(text)
    sub = text.find(SUBSECTION, start, section_end)
    if sub < 0:
        sub_end = sub = section_end
    else:
        following = text.find("\n### ", sub + len(SUBSECTION), section_end)
        sub_end = following + 1 if following >= 0 else section_end
    docs.write_text(text[:sub] + body + text[sub_end:], encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rate", type=int, default=100, help="events per second")
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--docs", type=Path, help="update this BENCHMARKS.md")
    parser.add_argument("--note", default="", help="a sentence for the docs (e.g. the load)")
    args = parser.parse_args()
    result = measure(args.rate, args.seconds)
    print(json.dumps(result))
    if args.docs:
        command = (
            f"DATABASE_URL=… .venv/bin/python scripts/bench_webhooks.py --rate {args.rate} "
            f"--seconds {args.seconds}"
        )
        update_docs(args.docs, subsection(result, command, args.note))


if __name__ == "__main__":
    main()
