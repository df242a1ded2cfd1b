"""A built wheel runs: install it into a fresh venv (no editable install, no source tree in
reach), run `outreach-hub up` from an empty directory, publish BIT scores and a lead batch with
an outside client, read the gate's verdicts off the broker, stop `up` with Ctrl-C (SIGINT).

Run with the project's dev venv (it has confluent-kafka from the test extra):
    .venv/bin/python .ci/wheel_smoke.py
Exits non-zero with the reason and the tail of `up`'s output when any step fails.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from confluent_kafka import Consumer, Producer

from streams.contracts.topics import load_catalog
from streams.embedded import free_port
from streams.sample import bit_scores, lead_batch

ROOT = Path(__file__).resolve().parent.parent
NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv", ".var", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis"
)
STOP_BOUND_S = 60.0


class SmokeFailure(Exception):
    pass


def run(*cmd: str | Path, cwd: Path | None = None) -> None:
    done = subprocess.run([str(c) for c in cmd], cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        raise SmokeFailure(f"{' '.join(map(str, cmd))} failed:\n{done.stdout}{done.stderr}")


def install_wheel(work: Path) -> Path:
    """Build the wheel from a copy of the source tree (no build/ left in it), install it fresh."""
    source = work / "src"
    shutil.copytree(ROOT, source, symlinks=True, ignore=NOT_SOURCE)
    run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", work / "dist", source)
    (wheel,) = (work / "dist").glob("outreach_hub-*.whl")
    run(sys.executable, "-m", "venv", work / "venv")
    # `up` needs the embedded extra; the production image installs the wheel without it.
    run(work / "venv" / "bin" / "pip", "install", "-q", f"{wheel}[embedded]")
    shutil.rmtree(source)  # nothing of the source tree is left to lean on
    return work / "venv" / "bin" / "outreach-hub"


def wait_for(what: str, check, timeout: float, proc: subprocess.Popen[bytes]):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SmokeFailure(f"`up` exited with {proc.returncode} while waiting for {what}")
        if result := check():
            return result
        time.sleep(0.25)
    raise SmokeFailure(f"no {what} after {timeout:.0f}s")


def healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as answer:
            return bool(json.loads(answer.read()).get("status") == "ok")
    except (OSError, ValueError):
        return False


def publish_and_read_verdicts(bootstrap: str, timeout: float) -> dict[str, str]:
    topics = load_catalog()
    batch = lead_batch("sxp_wheel_smoke", cards=24, companies=4)
    scores = bit_scores(4, scores=(88, 63, 41, 12))  # one company in each band
    expected = {c["lead_id"] for c in batch["records"] if c["enrichment_status"] == "ENRICHED"}
    producer = Producer({"bootstrap.servers": bootstrap})
    for score in scores:
        producer.produce(topics["bit_scores"].name, key=score["company_sov_id"],
                         value=json.dumps(score).encode())
    producer.produce(topics["lead_batches"].name, key=batch["batch_id"],
                     value=json.dumps(batch).encode())
    if producer.flush(15) != 0:
        raise SmokeFailure("the outside producer could not deliver the batch and scores")
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"smoke-{os.getpid()}",
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    consumer.subscribe([topics["gate_verdicts"].name])
    verdicts: dict[str, str] = {}
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline and not expected <= verdicts.keys():
            message = consumer.poll(0.5)
            if message is not None and message.error() is None:
                event = json.loads(message.value())
                # The gate packs its verdicts (streams/contracts/packing.py); one is read too.
                packed = event["verdicts"] if event.get("type") == "leads_gated" else [event]
                verdicts.update((v["lead_id"], v["verdict"]) for v in packed)
    finally:
        consumer.close()
    if not expected <= verdicts.keys():
        raise SmokeFailure(f"{len(expected - verdicts.keys())} of {len(expected)} leads got no "
                           f"verdict on {topics['gate_verdicts'].name} in {timeout:.0f}s")
    return verdicts


def smoke(work: Path) -> None:
    started = time.monotonic()
    hub = install_wheel(work)
    print(f"wheel built and installed in a fresh venv in {time.monotonic() - started:.1f}s")
    rundir = work / "run"
    rundir.mkdir()
    web_port = free_port()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OUTREACH_", "PYTHON", "VIRTUAL_ENV"))}
    env.update({"OUTREACH_WEB_PORT": str(web_port), "OUTREACH_TOPIC_PARTITIONS": "2"})
    log_path = work / "up.log"
    with log_path.open("wb") as log:
        up = subprocess.Popen([hub, "up"], cwd=rundir, env=env, stdout=log,
                              stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        found = wait_for("bootstrap address", lambda: re.search(
            r"kafka bootstrap: (\S+)", log_path.read_text()), 60, up)
        bootstrap = found.group(1)
        wait_for("ready worker (/health)", lambda: healthy(web_port), 90, up)
        print(f"`up` ready at {bootstrap} in {time.monotonic() - started:.1f}s")
        verdicts = publish_and_read_verdicts(bootstrap, 60)
        tally = {v: list(verdicts.values()).count(v) for v in sorted(set(verdicts.values()))}
        print(f"{len(verdicts)} verdicts on the broker: {tally}")
        stopping = time.monotonic()
        up.send_signal(signal.SIGINT)
        try:
            code = up.wait(STOP_BOUND_S)
        except subprocess.TimeoutExpired:
            raise SmokeFailure(f"`up` still ran {STOP_BOUND_S:.0f}s after SIGINT") from None
        if code != 0:
            raise SmokeFailure(f"`up` exited with {code} after SIGINT")
        print(f"`up` stopped {time.monotonic() - stopping:.1f}s after SIGINT; "
              f"wheel smoke test passed in {time.monotonic() - started:.1f}s")
    except BaseException:
        print(log_path.read_text()[-4000:], file=sys.stderr)
        raise
    finally:
        if up.poll() is None:
            up.send_signal(signal.SIGINT)  # let it stop its broker and PostgreSQL
            try:
                up.wait(30)
            except subprocess.TimeoutExpired:
                up.kill()


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="outreach-wheel-") as work:
        try:
            smoke(Path(work))
        except SmokeFailure as exc:
            print(f"error: wheel smoke test: {exc}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
