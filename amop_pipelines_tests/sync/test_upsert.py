"""The device upsert for a carrier without communication plans (ThingSpace): AMOP keeps a known
device's group, and a device it has not seen joins the account's own over its priced plans."""

import sqlalchemy as sa

from amop_pipelines.carriers.models import CarrierDevice
from amop_pipelines.db.models import CommunicationPlan, Device, ServiceProvider
from amop_pipelines.demo.catalog import THINGSPACE
from amop_pipelines.demo.seed import seed_demo
from amop_pipelines.sync.rate_plans import ACCOUNT_COMM_PLAN
from amop_pipelines.sync.staging import stage_devices
from amop_pipelines.sync.upsert import upsert_devices


def _comm_plan_of(engine, iccid: str) -> str:
    with sa.orm.Session(engine) as session:
        return session.scalar(
            sa.select(CommunicationPlan.name)
            .join(Device, Device.communication_plan_id == CommunicationPlan.id)
            .where(Device.iccid == iccid)
        )


def test_a_new_thingspace_device_joins_the_accounts_group_and_a_known_one_keeps_its_own(sqlite_engine):
    seed_demo(sqlite_engine, devices=200)
    with sa.orm.Session(sqlite_engine) as session:
        provider_id = session.scalar(sa.select(ServiceProvider.id).filter_by(name=THINGSPACE.name))
        known = session.scalars(sa.select(Device).filter_by(service_provider_id=provider_id)).first()
        session.expunge(known)
    group = _comm_plan_of(sqlite_engine, known.iccid)
    new = "89148000000000000025"
    carrier_view = [  # as ThingSpace lists them: no communication plan, no customer
        CarrierDevice(known.iccid, "active", "T-M2M-25MB", None),
        CarrierDevice(new, "active", "T-M2M-2MB", None),
    ]
    stage_devices(sqlite_engine, provider_id, carrier_view)
    report = upsert_devices(sqlite_engine, provider_id)
    assert report.rejected == [] and report.inserted == 1
    assert _comm_plan_of(sqlite_engine, known.iccid) == group != ACCOUNT_COMM_PLAN
    assert _comm_plan_of(sqlite_engine, new) == ACCOUNT_COMM_PLAN
    with sa.orm.Session(sqlite_engine) as session:
        assert session.scalar(sa.select(Device.customer_id).filter_by(iccid=known.iccid)) == known.customer_id
