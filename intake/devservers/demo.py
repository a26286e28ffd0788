"""``python -m intake.devservers.demo``: the main job once, on embedded defaults.

Starts a private Dovecot seeded with the sample messages and a local SMTP
server that keeps every mail it receives in ``var/demo/sent/``, writes a
config for them (SQLite in ``var/demo/intake.db``), upgrades the schema, runs
``intake run --once`` and prints what happened. The servers are stopped at
the end; the database, the stored raw mail and the sent mail stay for reading.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

from intake.devservers.certs import create_ca
from intake.devservers.dovecot import PrivateDovecot
from intake.devservers.localconfig import LocalServers, write_local_config
from intake.devservers.smtp_sink import SmtpSink

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "tests" / "data" / "samples"


DEMO_ADMIN = "kim.minsu"     # role = "admin" in config/staff.toml
WEB_LISTEN = "127.0.0.1:8080"


def web_section(base: Path) -> str:
    return f'\n[web]\nlisten = "{WEB_LISTEN}"\nbase_url = "http://{WEB_LISTEN}"\nsecret_file = "{base / "web-secret"}"\n'


def print_console_link(intake: list[str]) -> None:
    """The web console's address and a one-time sign-in link for the demo admin (15 minutes)."""
    subprocess.run(intake + ["web", "--init-secret"], check=True, stdout=subprocess.DEVNULL)
    link = subprocess.run(intake + ["web", "--sign-in-link", DEMO_ADMIN], check=True, capture_output=True,
                          text=True).stdout.strip()
    command = " ".join(intake[2:] if intake[1] == "-m" else intake)
    print(f"\nWeb console: start it with `.venv/bin/{command} web`, then open http://{WEB_LISTEN}/ and sign in as the "
          f"demo admin ({DEMO_ADMIN}) with this one-time link (15 minutes; "
          f"`.venv/bin/{command} web --sign-in-link {DEMO_ADMIN}` prints a new one):\n  {link}")


def open_path_for_dovecot(base: Path) -> None:
    """Dovecot's unprivileged processes must traverse every folder above its own."""
    for parent in [base, *base.parents]:  # Dovecot's unprivileged processes must traverse these
        if parent == Path("/"):
            break
        mode = parent.stat().st_mode
        if not mode & 0o001:
            os.chmod(parent, mode | 0o011)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=REPO / "var" / "demo", help="where the demo keeps its state")
    parser.add_argument("--samples", type=Path, default=SAMPLES, help="folder of .eml files to seed the mailbox with")
    parser.add_argument("--keep", action="store_true", help="keep the previous demo's database and mail")
    args = parser.parse_args(argv)

    base: Path = args.dir.absolute()
    if base.exists() and not args.keep:
        shutil.rmtree(base)
    base.mkdir(parents=True, exist_ok=True)
    open_path_for_dovecot(base)

    ca = create_ca(base / "tls")
    dovecot = PrivateDovecot(base / "dovecot", ca=ca)
    sink = SmtpSink(base / "sent", ca=ca)
    dovecot.start()
    sink.start()
    try:
        seeded = 0
        for eml in sorted(args.samples.glob("*.eml")):
            dovecot.append("INBOX", eml.read_bytes())
            seeded += 1
        servers = LocalServers(imap_port=dovecot.imaps_port, imap_security="ssl", imap_user=dovecot.user,
                               imap_password=dovecot.password, smtp_port=sink.port, smtp_security="starttls",
                               ca_file=Path(ca.ca_file))
        config = write_local_config(base / "config", servers, database_url=f"sqlite:///{base / 'intake.db'}",
                                    storage=base / "store",
                                    # fax acknowledgements go out as PDFs to {number}@fax.example (the sink keeps them)
                                    extra='\n[fax]\ngateway_address = "{number}@fax.example"\n'
                                          + web_section(base))
        print(f"demo: private Dovecot on 127.0.0.1:{dovecot.imaps_port} (IMAPS) seeded with {seeded} sample "
              f"messages; SMTP sink on 127.0.0.1:{sink.port} (STARTTLS); SQLite {base / 'intake.db'}\n", flush=True)
        intake = [sys.executable, "-m", "intake", "--config", str(config)]
        subprocess.run(intake + ["db", "upgrade"], check=True, stdout=subprocess.DEVNULL)
        result = subprocess.run(intake + ["run", "--once"], stderr=subprocess.PIPE, text=True)
        (base / "intake.log").write_text(result.stderr, encoding="utf-8")
        if result.returncode != 0:
            print(result.stderr[-4000:], file=sys.stderr)
            return result.returncode
        report = demo_report(intake, base)
        metrics = subprocess.run(intake + ["metrics"], capture_output=True, text=True)
        (base / "metrics.txt").write_text(metrics.stdout, encoding="utf-8")
        sent = sorted((base / "sent").glob("*.eml"))
        print(f"\nThe {len(sent)} mails the SMTP server received are in {base / 'sent'}/ (one .eml each, with the "
              f"envelope in a .json beside it).\nThe daemon's log is {base / 'intake.log'}; "
              f"`.venv/bin/intake --config {config} cases list` lists the cases, "
              f"`cases show REF` shows one with its evidence and audit trail; the Prometheus metrics after the run "
              f"are in {base / 'metrics.txt'} (`intake metrics`; the daemon serves them on [metrics] listen). "
              f"The store is sealed with {config.parent / 'store.key'}.")
        print(f"The charter report of the demo's cases: {report}")

        print_console_link(intake)
        return 0
    finally:
        sink.stop()
        dovecot.stop()


def demo_report(intake: list[str], base: Path) -> Path:
    """``intake report`` over this year up to today: the demo's cases, as html under ``base``."""
    from datetime import datetime

    from intake.domain.workdays import SEOUL

    today = datetime.now(SEOUL).date()       # the cases' dates are Seoul dates
    out = base / "report.html"
    subprocess.run(intake + ["report", "--from", f"{today.year}-01-01", "--to", today.isoformat(), "--out", str(out)],
                   check=True, stderr=subprocess.DEVNULL)
    return out


if __name__ == "__main__":
    sys.exit(main())
