#!/usr/bin/env python3
"""Import benchmark (prints figures, asserts nothing): `serversync mailbox sync` of one IMAP
mailbox against the real local Dovecot, beside a raw `UID FETCH 1:* BODY.PEEK[]` of the same
mailbox, measured in the same run. Run it through bench/import.sh (release build, keychain).

Usage: import.py [MESSAGES] (default 10000: about 200 MB); BENCH_ROUNDS (default 3) rounds of
the two measurements, taken in turn, and their medians compared.

The mailbox is generated (seeded, reproducible) and delivered over LMTP: text bodies of 1-12 KiB
in French, Japanese, Vietnamese and English, 10 % with an attachment of 30-150 KiB, 20 % replies
(In-Reply-To/References to an earlier message), senders from a pool of 400 addresses of which half
are contacts (imported from CSV first, so resolution does real look-ups), some Cc.
"""
import csv
import json
import os
import random
import shutil
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import imaplib
from email.message import EmailMessage
from email.utils import format_datetime
from datetime import datetime, timedelta, timezone

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "serversync")
N = int(sys.argv[1]) if len(sys.argv) > 1 else 10000
USER, PASS = "bench", "bench-pass"
DB_FILE = "serversync.sqlite3"
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))

TEXTS = [
    "Bonjour, veuillez trouver ci-joint le compte rendu de la réunion de mardi. Les décisions prises concernent le budget.",
    "お世話になっております。来週の打ち合わせの件でご連絡いたしました。資料を事前にお送りします。",
    "Xin chào, chúng tôi gửi kèm báo giá cho đơn hàng tháng này. Vui lòng xác nhận trước thứ Sáu.",
    "Hello team, the quarterly numbers are in. Please review the attached figures before the call on Thursday.",
]


def sender(i):
    return f"person{i:03d}@customer{(i % 37):02d}.example"


def make(i, rng, ids):
    m = EmailMessage()
    s = rng.randrange(400)
    m["From"] = f"Person {s} <{sender(s)}>"
    m["To"] = f"{USER}@localhost"
    if rng.random() < 0.15:
        m["Cc"] = sender(rng.randrange(400))
    m["Subject"] = f"[{i:05d}] " + rng.choice(["Devis", "見積もり", "Báo giá", "Report", "Réunion", "Order"]) + f" {rng.randrange(10**6)}"
    m["Date"] = format_datetime(datetime(2026, 1, 1, tzinfo=timezone.utc) + timedelta(minutes=40 * i))
    mid = f"<bench-{i:06d}@customer.example>"
    m["Message-ID"] = mid
    if ids and rng.random() < 0.2:
        parent = rng.choice(ids)
        m["In-Reply-To"] = parent
        m["References"] = parent
    ids.append(mid)
    size = rng.randint(1024, 12 * 1024)
    parts, n = [], 0
    while n < size:
        t = rng.choice(TEXTS)
        parts.append(t)
        n += len(t.encode())
    m.set_content("\n".join(parts) + "\n")
    if rng.random() < 0.10:
        blob = rng.randbytes(rng.randint(30 * 1024, 150 * 1024))
        m.add_attachment(blob, maintype="application", subtype="pdf", filename=f"document-{i}.pdf")
    return m.as_bytes().replace(b"\n", b"\r\n").replace(b"\r\r\n", b"\r\n")


def lmtp_deliver(port, messages):
    """One LMTP session, one transaction per message (as an MTA delivers)."""
    s = socket.create_connection(("127.0.0.1", port))
    f = s.makefile("rb")

    def reply():
        while True:
            line = f.readline()
            if not line.startswith(b"2") and not line.startswith(b"3"):
                raise SystemExit(f"LMTP: {line!r}")
            if line[3:4] != b"-":
                return

    reply()
    s.sendall(b"LHLO bench\r\n")
    reply()
    for raw in messages:
        s.sendall(b"MAIL FROM:<bench@example.org>\r\n" + f"RCPT TO:<{USER}@localhost>\r\n".encode() + b"DATA\r\n")
        reply(); reply(); reply()
        body = raw.replace(b"\r\n.", b"\r\n..")
        s.sendall(body + (b"" if body.endswith(b"\r\n") else b"\r\n") + b".\r\n")
        reply()
    s.sendall(b"QUIT\r\n")
    s.close()


def cli(data, *args, stdin=None):
    r = subprocess.run([BIN, "--data-dir", data, "--json", *args], input=stdin, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"serversync {' '.join(args)} failed: {r.stdout}{r.stderr}")
    return r.stdout


def raw_fetch(port, ca):
    """UID FETCH 1:* BODY.PEEK[] over IMAPS: the fastest a client can read the mailbox."""
    ctx = ssl.create_default_context(cafile=ca)
    t = time.perf_counter()
    imap = imaplib.IMAP4_SSL("localhost", port, ssl_context=ctx)
    imap.login(USER, PASS)
    imap.select("INBOX", readonly=True)
    typ, data = imap.uid("FETCH", "1:*", "(BODY.PEEK[])")
    n = sum(1 for d in data if isinstance(d, tuple))
    total = sum(len(d[1]) for d in data if isinstance(d, tuple))
    imap.logout()
    return time.perf_counter() - t, n, total


def timed_sync(data, mailbox):
    """One `serversync mailbox sync`: its wall time, peak RSS (KiB) and report. It is started by a
    small helper interpreter, whose wait4 gives the sync's own peak RSS (a child forked from this
    script would count this script's memory until its exec)."""
    helper = ("import os, subprocess, sys, time; t = time.perf_counter(); p = subprocess.Popen(sys.argv[1:]); "
              "_, st, ru = os.wait4(p.pid, 0); "
              "sys.stderr.write(f'{ru.ru_maxrss} {time.perf_counter() - t}\\n'); sys.exit(1 if st else 0)")
    r = subprocess.run([sys.executable, "-c", helper, BIN, "--data-dir", data, "--json", "mailbox", "sync", mailbox],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"sync failed: {r.stdout}{r.stderr}")
    # From the sync's start to its exit, as the helper saw them (not the helper's own start).
    peak, elapsed = r.stderr.strip().splitlines()[-1].split()
    peak_kib, sync_s = int(peak), float(elapsed)
    return sync_s, peak_kib, json.loads(r.stdout)[0]["report"]


def main():
    state = tempfile.mkdtemp(prefix="ss-bench-", dir="/tmp")
    data = tempfile.mkdtemp(prefix="ss-bench-data-")
    try:
        with open(os.path.join(state, "users.txt"), "w") as f:
            f.write(f"{USER}:{PASS}\n")
        subprocess.run(["bash", os.path.join(ROOT, "tests/servers/up.sh"), state], check=True, stdout=subprocess.DEVNULL)
        ports = dict(l.strip().split("=", 1) for l in open(os.path.join(state, "ports.env")) if "=" in l)
        lmtp, imaps, smtp = int(ports["LMTP_PORT"]), int(ports["IMAPS_PORT"]), int(ports["SMTP_PORT"])
        ca = os.path.join(state, "ca.pem")

        rng = random.Random(42)
        ids, t0 = [], time.perf_counter()
        messages = [make(i, rng, ids) for i in range(N)]
        mailbox_bytes = sum(len(m) for m in messages)
        lmtp_deliver(lmtp, messages)
        del messages
        print(f"generated and delivered {N} messages, {mailbox_bytes / 1e6:.1f} MB, in {time.perf_counter() - t0:.1f} s")

        # The organisation: half of the senders are contacts; one IMAP profile; one user.
        contacts = os.path.join(data, "contacts.csv")
        with open(contacts, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["first_name", "last_name", "email_address_1"])
            for i in range(0, 400, 2):
                w.writerow([f"Person", f"{i:03d}", sender(i)])
        cli(data, "contact", "import", contacts)
        cli(data, "profile", "create", "--type", "imap-smtp", "--name", "Bench", "--default",
            "--set", "incoming_location=localhost", "--set", "outgoing_location=localhost",
            "--set", f"incoming_port={imaps}", "--set", f"outgoing_port={smtp}", "--set", f"ca_file={ca}")
        user = json.loads(cli(data, "user", "create", "--name", "Bench", "--email", f"{USER}@localhost"))
        mailbox = str(user["mailbox_id"])
        cli(data, "user", "update", str(user["id"]), "--set", "incoming_filtering_method=all_email")
        cli(data, "mailbox", "set-credentials", mailbox, "--user-name", USER, "--password-stdin", stdin=PASS)
        cli(data, "mailbox", "approve", mailbox)
        cli(data, "mailbox", "test-enable", mailbox)

        if os.environ.get("BENCH_KEEP"):
            # For profiling: the state before the sync is kept, and the servers stay up.
            shutil.copytree(data, data + ".pristine")
            print(f"kept: servers {state}, data {data} (pristine copy {data}.pristine), mailbox {mailbox}")
        # Each round reads the same mailbox twice: the raw fetch, then the sync into a fresh copy
        # of the organisation set up above. The delivery's own writes are flushed first, so that
        # neither measurement pays for them; both read a warm page cache (a warm-up fetch first).
        pristine = data + ".before-sync"
        shutil.copytree(data, pristine)
        os.sync()
        raw_fetch(imaps, ca)
        rounds = []
        for _ in range(ROUNDS):
            raw_s, raw_n, raw_bytes = raw_fetch(imaps, ca)
            shutil.rmtree(data)
            shutil.copytree(pristine, data)
            os.sync()
            sync_s, peak_kib, report = timed_sync(data, mailbox)
            rounds.append((raw_s, sync_s, peak_kib))
            os.sync()
        db = os.path.join(data, DB_FILE)
        raw_s = statistics.median(r[0] for r in rounds)
        sync_s = statistics.median(r[1] for r in rounds)
        peak_kib = max(r[2] for r in rounds)
        print()
        print(f"{ROUNDS} rounds (raw fetch, then sync, in turn); the table gives the medians")
        for i, (r, s_, _) in enumerate(rounds, 1):
            print(f"  round {i}: raw fetch {r:.2f} s, sync {s_:.2f} s, ratio {s_ / r:.2f}x")
        print()
        print(f"{'':34} {'wall_s':>8} {'msgs/s':>9} {'MB/s':>7} {'peak_RSS_MB':>12}")
        print(f"{'raw UID FETCH 1:* BODY.PEEK[]':34} {raw_s:>8.2f} {raw_n / raw_s:>9.0f} {raw_bytes / 1e6 / raw_s:>7.1f} {'':>12}")
        print(f"{'serversync mailbox sync':34} {sync_s:>8.2f} {N / sync_s:>9.0f} {mailbox_bytes / 1e6 / sync_s:>7.1f} "
              f"{peak_kib / 1024:>12.1f}")
        print()
        print(f"ratio sync / raw fetch: {sync_s / raw_s:.2f}x  (goal: <= 2.0x)")
        print(f"tracked {report['tracked']}, already tracked {report['already_tracked']}, skipped {report['skipped']}, "
              f"failed {report['failed']}; database {os.path.getsize(db) / 1e6:.0f} MB")
    finally:
        if os.environ.get("BENCH_KEEP"):
            return
        subprocess.run(["bash", os.path.join(ROOT, "tests/servers/down.sh"), state], stdout=subprocess.DEVNULL)
        shutil.rmtree(state, ignore_errors=True)
        shutil.rmtree(data, ignore_errors=True)
        shutil.rmtree(data + ".before-sync", ignore_errors=True)


if __name__ == "__main__":
    main()
