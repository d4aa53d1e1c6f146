"""Load and fault campaign: the whole carrier side on one large fleet while the carriers misbehave.

A simulator process serves the demo fleet with 10% 5xx answers, 5% 429s, hung responses (longer
than the client's timeout), sessions and tokens expired every 20 seconds, and ThingSpace callbacks
dropped, duplicated and reordered. Against it, through Dagster runs on a persistent instance:

1. full sync of every device and its usage (the sync assets, both providers);
2. the optimization of both providers' months (in a child process, for its peak memory);
3. change requests across the six types, executed round by round as the sensors launch them,
   callbacks received by `amop callbacks serve` and reconciled (items whose callback was dropped
   are checked on the carrier once overdue: the campaign moves the reconciler's clock on by the
   callback timeout each pass rather than waiting half an hour). The first round of the largest
   request runs in a process of its own and is SIGKILLed a third of the way through; the run is
   then failed (what run monitoring or an operator does) and the sensor's next round resumes it.

It prints devices synced per second, the optimization's wall time and peak memory, items per
second, items completed / failed / dead / lost / applied twice, and the database's row counts
before and after. Target: 0 lost, 0 applied twice, every dead item with a reason.

Run: python bench/campaign.py [--devices 1000000] [--items 50000] [--rate 1000]
The last line is the summary as JSON (`CAMPAIGN {...}`), which the slow test reads.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import httpx
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
SECRET = "campaign-callback-secret"
TIMEOUT_SECONDS = 2.0  # the clients' timeout: a hung response is abandoned and retried
FAULTS = {
    "error_rate": 0.10,
    "throttle_rate": 0.05,
    "retry_after_seconds": 0.05,
    "hang_rate": 0.001,
    "hang_seconds": 3 * TIMEOUT_SECONDS,
}
QUIET = {
    "loggers": {"console": {"config": {"log_level": "WARNING"}}}
}  # the runs' events stay in the instance
CALLBACK_FAULTS = {"callback_drop_rate": 0.05, "callback_duplicate_rate": 0.10, "callback_reorder": True}
# share of the items per change type (and carrier); what the fleet cannot offer goes to the first
MIX = [
    ("change_carrier_rate_plan", "jasper", 0.20),
    ("change_carrier_rate_plan", "thingspace", 0.20),
    ("change_customer_rate_plan", None, 0.16),
    ("assign_customer", None, 0.12),
    ("update_device_status", "jasper", 0.08),
    ("update_device_status", "thingspace", 0.08),
    ("change_iccid_imei", "thingspace", 0.08),
    ("archive_device", None, 0.08),
]
CARRIER_OPERATION = {  # what the simulator logs for an applied item, per type and carrier
    ("change_carrier_rate_plan", "jasper"): "edit",
    ("change_carrier_rate_plan", "thingspace"): "plan",
    ("update_device_status", "jasper"): "edit",
    ("update_device_status", "thingspace"): "suspend",
    ("change_iccid_imei", "thingspace"): "deviceId",
}


def _counts(engine) -> dict[str, int]:
    names = sorted(sa.inspect(engine).get_table_names())
    with engine.connect() as connection:
        return {
            name: connection.scalar(sa.select(sa.func.count()).select_from(sa.table(name)))
            for name in names
            if name != "alembic_version"
        }


def _expire_sessions_forever(base: str, every: float, stop: threading.Event) -> None:
    while not stop.wait(every):
        with contextlib.suppress(httpx.HTTPError):
            httpx.post(f"{base}/_sim/sessions/expire", timeout=10)


# ---- phase 2: the optimization, in a child process for its peak memory ---------------------------


def _optimize(url: str, base: str, data_dir: str, queue) -> None:
    os.environ["AMOP_DATA_DIR"] = data_dir
    import dagster as dg
    from sqlalchemy.orm import Session

    from amop_pipelines.db.engine import make_engine
    from amop_pipelines.db.models import ServiceProvider
    from amop_pipelines.defs.optimization.assets import optimization_assets
    from amop_pipelines.defs.shared.database import AmopDatabase
    from amop_pipelines.defs.shared.launch import materialize_month
    from amop_pipelines.defs.shared.notifier import Notifier
    from amop_pipelines.demo.carriers import simulator_carriers

    engine = make_engine(url)
    with Session(engine) as session:
        providers = session.scalars(sa.select(ServiceProvider).order_by(ServiceProvider.id)).all()
        session.expunge_all()
    resources = {
        "amop_db": AmopDatabase(url=url),
        "carriers": simulator_carriers(base),
        "notifier": Notifier(outbox_dir=str(Path(data_dir) / "outbox")),
    }
    figures = []
    with dg.instance_for_test() as instance:
        for provider in providers:
            started = time.perf_counter()
            result = materialize_month(optimization_assets, provider, instance, resources, run_config=QUIET)
            seconds = time.perf_counter() - started
            assert result.success, provider.name
            savings = result.asset_materializations_for_node("winning_results")[0].metadata["savings"].value
            figures.append((provider.name, seconds, savings))
    queue.put((figures, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))


# ---- phase 3: the change requests -----------------------------------------------------------------


def _restore_customers(engine, devices: int) -> None:
    """Customers are AMOP's own records (ThingSpace keeps none, Jasper's search pages name none):
    the devices the sync brought back get the customers the seed had given them."""
    from amop_pipelines.db.models import Customer, Device
    from amop_pipelines.demo.fleet import generate_devices

    with engine.begin() as connection:
        ids = dict(connection.execute(sa.select(Customer.external_id, Customer.id)).all())
        rows = [
            {"b_iccid": row["iccid"], "b_customer": ids[row["customer"]]}
            for row in generate_devices(devices, 7).select("iccid", "customer").iter_rows(named=True)
            if row["customer"] in ids
        ]
        connection.execute(
            sa.update(Device)
            .where(Device.iccid == sa.bindparam("b_iccid"))
            .values(customer_id=sa.bindparam("b_customer")),
            rows,
        )


def _pick(engine, want: dict[tuple[str, str | None], int]) -> dict[tuple[str, str | None], str]:
    """A CSV body per (type, carrier) on devices no other request touches."""
    used: set[str] = set()
    bodies: dict[tuple[str, str | None], str] = {}

    def take(rows, n):
        chosen = []
        for row in rows:
            if row[0] not in used:
                used.add(row[0])
                chosen.append(row)
                if len(chosen) == n:
                    break
        return chosen

    def query(sql: str, **params):
        with engine.connect() as connection:
            return connection.execute(sa.text(sql), params).all()

    base = (
        "SELECT d.iccid, rp.plan_code, d.communication_plan_id, d.optimization_group_id FROM device d "
        "JOIN service_provider sp ON sp.id = d.service_provider_id "
        "JOIN carrier_rate_plan rp ON rp.id = d.carrier_rate_plan_id "
    )
    allowed: dict[tuple[int, int | None], list[str]] = {}
    for comm, group, code in query(
        "SELECT cprp.communication_plan_id, rp.optimization_group_id, rp.plan_code "
        "FROM communication_plan_rate_plan cprp "
        "JOIN carrier_rate_plan rp ON rp.id = cprp.carrier_rate_plan_id ORDER BY rp.plan_code"
    ):
        allowed.setdefault((comm, group), []).append(code)

    def candidates(wanted: int, sql: str, **params):
        """Enough rows to find `wanted` devices that no other request holds."""
        return query(sql + " LIMIT :limit", limit=4 * wanted + 1000, **params)

    def other_plan(rows):
        for iccid, plan, comm, group in rows:
            others = [p for p in allowed.get((comm, group), []) if p != plan]
            if others:
                yield iccid, others[0]

    # ThingSpace status and identifier changes first: they need active ThingSpace devices, which the
    # plan changes would otherwise take
    order = sorted(want, key=lambda k: (k[0] not in ("update_device_status", "change_iccid_imei"), k))
    for change_type, carrier in order:
        n = want[change_type, carrier]
        if change_type == "change_carrier_rate_plan":
            status = "ACTIVATED" if carrier == "jasper" else "active"
            rows = candidates(
                n, base + "WHERE sp.integration = :c AND d.status = :s ORDER BY d.id", c=carrier, s=status
            )
            chosen = take(other_plan(rows), n)
            body = "iccid,rate_plan\n" + "".join(f"{i},{p}\n" for i, p in chosen)
        elif change_type == "update_device_status":
            status, target = ("ACTIVATED", "Inactive") if carrier == "jasper" else ("active", "Suspended")
            rows = candidates(
                n,
                base + "WHERE sp.integration = :c AND d.status = :s ORDER BY d.id DESC",
                c=carrier,
                s=status,
            )
            chosen = take(rows, n)
            body = "iccid,status\n" + "".join(f"{r[0]},{target}\n" for r in chosen)
        elif change_type == "change_iccid_imei":
            from amop_pipelines.identifiers import luhn_check_digit

            rows = candidates(
                n, base + "WHERE sp.integration = 'thingspace' AND d.status = 'active' ORDER BY d.id DESC"
            )
            chosen = take(rows, n)
            lines = []
            for k, row in enumerate(chosen):
                if k % 2:  # half get a new SIM, half a new device
                    payload = f"89148000009{k:07d}"
                    lines.append(f"{row[0]},{payload}{luhn_check_digit(payload)},\n")
                else:
                    payload = f"35999{k:09d}"
                    lines.append(f"{row[0]},,{payload}{luhn_check_digit(payload)}\n")
            body = "iccid,new_iccid,new_imei\n" + "".join(lines)
        elif change_type == "change_customer_rate_plan":
            chosen = take(
                candidates(n, "SELECT d.iccid FROM device d WHERE d.customer_id IS NOT NULL ORDER BY d.id"), n
            )
            body = "iccid,customer_rate_plan,data_allocation_mb\n" + "".join(
                f"{r[0]},{'PREMIUM' if k % 2 else 'BASIC'},{100 + k % 400}\n" for k, r in enumerate(chosen)
            )
        elif change_type == "assign_customer":
            chosen = take(
                candidates(n, "SELECT d.iccid FROM device d WHERE d.customer_id IS NULL ORDER BY d.id"), n
            )
            body = "iccid,customer_id,site_id,customer_rate_plan\n" + "".join(
                f"{r[0]},CUST-002,Site A,BASIC\n" for r in chosen
            )
        else:  # archive: no usage in the last 30 days, no active billing service
            rows = candidates(
                n,
                "SELECT d.iccid FROM device d WHERE NOT EXISTS (SELECT 1 FROM device_usage u "
                "WHERE u.device_id = d.id AND u.data_mb > 0) AND NOT EXISTS (SELECT 1 FROM billing_service b "
                "WHERE b.device_id = d.id AND b.status = 'active') ORDER BY d.id",
            )
            chosen = take(rows, n)
            body = "iccid\n" + "".join(f"{r[0]}\n" for r in chosen)
        bodies[change_type, carrier] = body
    return bodies


def _kill_mid_way(script: str, env: dict, engine, request_pk: int, total: int) -> None:
    """Run a round in a process of its own; SIGKILL it once a third of its items are settled."""
    process = subprocess.Popen([sys.executable, "-c", script], env=env, cwd=ROOT, start_new_session=True)
    while process.poll() is None:
        with engine.connect() as connection:
            done = connection.scalar(
                sa.text(
                    "SELECT count(*) FROM change_item WHERE change_request_id = :r "
                    "AND state IN ('completed', 'awaiting_callback', 'failed', 'dead')"
                ),
                {"r": request_pk},
            )
        if done >= total // 3:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            print(f"  round SIGKILLed with {done:,} of {total:,} items settled", flush=True)
            return
        time.sleep(0.2)
    raise SystemExit(f"the round to kill ended by itself (exit {process.returncode})")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--devices", type=int, default=1_000_000)
    parser.add_argument("--items", type=int, default=50_000)
    parser.add_argument("--rate", type=float, default=1000.0, help="each carrier account's limit, requests/s")
    parser.add_argument("--batch-size", type=int, default=2000, help="change items per step")
    parser.add_argument("--workdir", type=Path, help="keep the databases here (default: a temporary folder)")
    args = parser.parse_args()

    import dagster as dg
    from sqlalchemy.orm import Session

    from amop_pipelines.changes.callbacks import CALLBACK_TIMEOUT, reconcile
    from amop_pipelines.changes.requests import approve, status, submit_file
    from amop_pipelines.db import migrate
    from amop_pipelines.db.engine import make_engine
    from amop_pipelines.db.models import ChangeItem, ChangeRequest, Device, DeviceUsage, ServiceProvider
    from amop_pipelines.defs.changes.jobs import change_request_job
    from amop_pipelines.defs.changes.sensors import change_requests_sensor, effective_dates_sensor
    from amop_pipelines.defs.shared.database import AmopDatabase
    from amop_pipelines.defs.shared.launch import materialize_month
    from amop_pipelines.defs.shared.notifier import Notifier
    from amop_pipelines.defs.sync.assets import sync_assets
    from amop_pipelines.demo.carriers import simulator_carriers
    from amop_pipelines.demo.seed import seed_demo
    from amop_pipelines.simulator.server import free_port, start_simulator_process

    folder = args.workdir or Path(tempfile.mkdtemp(prefix="amop-campaign-"))
    folder.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{folder / 'amop.sqlite3'}"
    home = folder / "dagster_home"
    home.mkdir(exist_ok=True)
    shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
    os.environ.update(
        DAGSTER_HOME=str(home),
        AMOP_DATABASE_URL=url,
        AMOP_DATA_DIR=str(folder / "data"),
        AMOP_CALLBACK_SECRET=SECRET,
        AMOP_ARCHIVERS="campaign",
        AMOP_APPROVALS_REQUIRED="1",
    )
    print(f"fleet {args.devices:,} devices, {args.items:,} change items, limit {args.rate:g}/s; in {folder}")
    started_all = time.perf_counter()
    sim_log = (folder / "simulator.log").open("w")  # hung calls the client gave up on log there
    sim, base, _ = start_simulator_process(
        args.devices, startup_seconds=900, stdout=sim_log, stderr=subprocess.STDOUT
    )
    receiver = None
    stop = threading.Event()
    try:
        migrate.upgrade(url)
        engine = make_engine(url)
        seed_demo(engine, devices=args.devices)
        with engine.begin() as connection:  # the sync inserts every device and its usage
            connection.execute(sa.delete(DeviceUsage))
            connection.execute(sa.delete(Device))
            connection.execute(
                sa.update(ServiceProvider).values(rate_limit_per_second=args.rate, base_url=base)
            )
        before = _counts(engine)
        for carrier in ("jasper", "thingspace"):
            faults = {"rate_limit_per_second": args.rate, "max_in_flight": 4, **FAULTS}
            if carrier == "thingspace":
                faults |= CALLBACK_FAULTS
            httpx.put(
                f"{base}/_sim/faults", json={"carrier": carrier, **faults}, timeout=30
            ).raise_for_status()
        threading.Thread(target=_expire_sessions_forever, args=(base, 20.0, stop), daemon=True).start()
        # some DeviceUsage callbacks are dropped (CALLBACK_FAULTS): past this wait, read those alone
        usage_wait = max(60.0, args.devices * 0.4 / 100)
        carriers = simulator_carriers(base, timeout_seconds=TIMEOUT_SECONDS, usage_wait_seconds=usage_wait)
        resources = {
            "amop_db": AmopDatabase(url=url),
            "carriers": carriers,
            "notifier": Notifier(outbox_dir=str(folder / "outbox")),
        }
        instance = dg.DagsterInstance.get()
        with Session(engine) as session:
            providers = session.scalars(sa.select(ServiceProvider).order_by(ServiceProvider.id)).all()
            session.expunge_all()

        receiver_port = free_port()
        receiver = subprocess.Popen(
            [sys.executable, "-m", "amop_pipelines.cli", "callbacks", "serve", "--port", str(receiver_port)],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
        )
        thingspace = next(p for p in providers if p.integration == "thingspace")
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.post(f"http://127.0.0.1:{receiver_port}/callbacks/thingspace", timeout=1)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        # account setup: ThingSpace answers actions and bulk usage by callback, echoing these
        carriers.for_provider(thingspace).register_callbacks(
            f"http://127.0.0.1:{receiver_port}/callbacks/thingspace", "amop", SECRET
        )

        # 1. full sync
        print("1. full sync", flush=True)
        sync_started = time.perf_counter()
        synced = 0
        for provider in providers:
            began = time.perf_counter()
            result = materialize_month(
                sync_assets,
                provider,
                instance,
                resources,
                run_config={"ops": {"device_staging": {"config": {"full_sync": True}}}, **QUIET},
            )
            assert result.success, provider.name
            count = result.asset_materializations_for_node("devices")[0].metadata["inserted"].value
            synced += count
            print(f"  {provider.name}: {count:,} devices in {time.perf_counter() - began:.1f} s", flush=True)
        sync_seconds = time.perf_counter() - sync_started
        _restore_customers(engine, args.devices)

        # 2. optimization
        print("2. optimization", flush=True)
        context = multiprocessing.get_context("spawn")
        queue = context.Queue()
        child = context.Process(target=_optimize, args=(url, base, str(folder / "data"), queue))
        opt_started = time.perf_counter()
        child.start()
        figures, peak_mb = queue.get()
        child.join()
        optimization_seconds = time.perf_counter() - opt_started
        for name, seconds, savings in figures:
            print(f"  {name}: {seconds:.1f} s, savings {savings}", flush=True)

        # 3. changes
        print("3. changes", flush=True)
        want = {(t, c): int(args.items * share) for t, c, share in MIX}
        want[MIX[0][0], MIX[0][1]] += args.items - sum(want.values())
        bodies = _pick(engine, want)
        short = sum(want.values()) - sum(body.count("\n") - 1 for body in bodies.values())
        if short:  # what the fleet could not offer, as more Jasper plan changes
            want[MIX[0][0], MIX[0][1]] += short
            bodies = _pick(engine, want)
        requests: dict[str, tuple[str, str | None]] = {}
        for (change_type, carrier), body in bodies.items():
            path = folder / f"{change_type}-{carrier or 'all'}.csv"
            path.write_text(body)
            by = "campaign"
            request_id = submit_file(engine, change_type, path, by)
            if status(engine, request_id).state == "awaiting_approval":
                approve(engine, request_id, "campaign-approver")
            requests[request_id] = (change_type, carrier)
            print(
                f"  {request_id}: {change_type} {carrier or ''} {body.count(chr(10)) - 1:,} items", flush=True
            )
        items_total = sum(body.count("\n") - 1 for body in bodies.values())
        changes_started = time.perf_counter()
        database = AmopDatabase(url=url)
        round_config = {"batch_size": args.batch_size}

        def run_config_of(run_request) -> dict:
            config = {**run_request.run_config, **QUIET}
            config["ops"]["start_change_round"]["config"] |= round_config
            return config

        # the largest synchronous request's first round: run in a process of its own and killed
        victim = max(
            (r for r, (t, c) in requests.items() if t == "change_carrier_rate_plan" and c == "jasper"),
            key=lambda r: bodies[requests[r]].count("\n"),
        )
        with Session(engine) as session:
            victim_pk = session.scalar(sa.select(ChangeRequest.id).filter_by(request_id=victim))
        with dg.build_sensor_context(instance=instance, resources={"amop_db": database}) as context:
            first = next(r for r in change_requests_sensor(context).run_requests if r.run_key == victim)
        script = textwrap.dedent(
            f"""
            import dagster as dg
            from amop_pipelines.defs.changes.jobs import change_request_job
            from amop_pipelines.demo.carriers import simulator_carriers
            from amop_pipelines.defs.shared.database import AmopDatabase
            from amop_pipelines.defs.shared.notifier import Notifier
            change_request_job.execute_in_process(
                run_config={run_config_of(first)!r},
                instance=dg.DagsterInstance.get(),
                tags={{**{first.tags!r}, "dagster/run_key": {first.run_key!r}}},
                resources={{
                    "amop_db": AmopDatabase(url={url!r}),
                    "carriers": simulator_carriers({base!r}, timeout_seconds={TIMEOUT_SECONDS}),
                    "notifier": Notifier(outbox_dir={str(folder / "outbox")!r}),
                }},
            )
            """
        )
        _kill_mid_way(script, dict(os.environ), engine, victim_pk, bodies[requests[victim]].count("\n") - 1)
        for run in instance.get_runs(dg.RunsFilter(tags={"amop/change-request": victim})):
            if not run.is_finished:  # the worker is gone: fail its run, as run monitoring would,
                instance.report_run_failed(run)  # and free its carrier pool slot (monitoring does
                instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)  # so 300 s later)
        runs = 1
        later = datetime.now(UTC)
        client_for = carriers.for_provider
        while True:
            with dg.build_sensor_context(instance=instance, resources={"amop_db": database}) as context:
                launched = list(change_requests_sensor(context).run_requests or [])
            with dg.build_sensor_context(instance=instance, resources={"amop_db": database}) as context:
                launched += list(effective_dates_sensor(context).run_requests or [])
            for run_request in launched:
                if instance.get_runs(dg.RunsFilter(tags={"dagster/run_key": run_request.run_key}), limit=1):
                    continue  # the daemon launches a run key once
                result = change_request_job.execute_in_process(
                    run_config=run_config_of(run_request),
                    instance=instance,
                    tags={**run_request.tags, "dagster/run_key": run_request.run_key},
                    resources=resources,
                )
                runs += 1
                print(
                    f"  round {run_request.run_key}: {result.output_for_node('finish_change_round')}",
                    flush=True,
                )
            httpx.post(f"{base}/_sim/callbacks/flush", timeout=300)
            time.sleep(1.0)
            later += CALLBACK_TIMEOUT  # items still without their callback are overdue: asked on the carrier
            reconcile(engine, client_for, now=later)
            with engine.connect() as connection:
                open_requests = connection.scalar(
                    sa.select(sa.func.count())
                    .select_from(ChangeRequest)
                    .where(ChangeRequest.state.not_in(("completed", "completed_with_errors")))
                )
            if not open_requests:
                break
            if time.perf_counter() - changes_started > 4 * 3600:
                raise SystemExit("the change requests did not settle in four hours")
        changes_seconds = time.perf_counter() - changes_started

        # the outcome
        with engine.connect() as connection:
            items = connection.execute(
                sa.select(
                    ChangeItem.iccid,
                    ChangeItem.state,
                    ChangeItem.last_error,
                    ChangeItem.previous_values,
                    ChangeRequest.request_id,
                ).join(ChangeRequest, ChangeRequest.id == ChangeItem.change_request_id)
            ).all()
        operations = httpx.get(f"{base}/_sim/operations", timeout=300).json()
        applied = Counter((op["iccid"], op["operation"]) for op in operations)
        states = Counter(item.state for item in items)
        lost = [item for item in items if item.state not in ("completed", "failed", "dead")]
        for item in items:
            operation = CARRIER_OPERATION.get(requests[item.request_id])
            if item.state == "completed" and operation and not applied[item.iccid, operation]:
                old = (item.previous_values or {}).get("iccid", item.iccid)
                if not applied[old, operation]:
                    lost.append(item)  # completed here, never applied on the carrier
        twice = sum(1 for count in applied.values() if count > 1)
        dead_without_reason = sum(1 for item in items if item.state == "dead" and not item.last_error)
        after = _counts(engine)
    finally:
        stop.set()
        if receiver is not None:
            receiver.terminate()
            receiver.wait(timeout=30)
        sim.terminate()
        sim.wait(timeout=60)

    print()
    print(f"devices synced: {synced:,} in {sync_seconds:.1f} s = {synced / sync_seconds:,.0f} devices/s")
    print(f"optimization: {optimization_seconds:.1f} s wall, peak {peak_mb:,.0f} MB")
    print(
        f"change items: {items_total:,} in {changes_seconds:.1f} s = "
        f"{items_total / changes_seconds:.1f} items/s ({runs} runs, one SIGKILLed)"
    )
    print(
        f"completed {states['completed']:,}, failed {states['failed']:,}, dead {states['dead']:,} "
        f"(without reason {dead_without_reason}), lost {len(lost)}, applied twice {twice}"
    )
    print(f"{'table':<40} {'before':>12} {'after':>12}")
    for name in sorted(after):
        if before.get(name) != after[name]:
            print(f"{name:<40} {before.get(name, 0):>12,} {after[name]:>12,}")
    print(f"total {time.perf_counter() - started_all:.0f} s")
    summary = {
        "devices": args.devices,
        "synced": synced,
        "devices_per_second": round(synced / sync_seconds, 1),
        "optimization_seconds": round(optimization_seconds, 1),
        "optimization_peak_mb": round(peak_mb),
        "items": items_total,
        "items_per_second": round(items_total / changes_seconds, 2),
        "completed": states["completed"],
        "failed": states["failed"],
        "dead": states["dead"],
        "dead_without_reason": dead_without_reason,
        "lost": len(lost),
        "applied_twice": twice,
        "killed_runs": 1,
        "runs": runs,
        "rows_before": before,
        "rows_after": after,
    }
    print("CAMPAIGN " + json.dumps(summary))
    if not args.workdir:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
