"""Setting up an account's callbacks from the Dagster UI: the launchpad twin of
`amop callbacks register`. The secret the carrier will echo comes from AMOP_CALLBACK_SECRET."""

import os

import dagster as dg

from amop_pipelines.changes.callbacks import DEFAULT_USERNAME, SECRET_ENV, USERNAME_ENV, register_receiver
from amop_pipelines.defs.assets.common import markdown_table
from amop_pipelines.defs.resources.carriers import CarrierClients
from amop_pipelines.defs.resources.database import AmopDatabase


class CallbackReceiver(dg.ConfigurableResource):
    """The credentials the carrier echoes in each callback body, for the receiver to check."""

    username: str = DEFAULT_USERNAME
    secret: str


def callback_receiver_from_env() -> CallbackReceiver:
    username = dg.EnvVar(USERNAME_ENV) if os.environ.get(USERNAME_ENV) else DEFAULT_USERNAME
    return CallbackReceiver(username=username, secret=dg.EnvVar(SECRET_ENV))


class CallbackRegistration(dg.Config):
    url: str  # the receiver's public URL (`amop callbacks serve`, reachable by the carrier)
    provider: str = ""  # a service provider's name; empty: every active one


@dg.op
def register_carrier_callbacks(
    config: CallbackRegistration,
    amop_db: AmopDatabase,
    carriers: CarrierClients,
    callback_receiver: CallbackReceiver,
) -> dg.Output[int]:
    """Point each account's carrier callbacks (ThingSpace: CarrierService, DeviceUsage) at AMOP."""
    registered = register_receiver(
        amop_db.engine,
        carriers.for_provider,
        config.url,
        callback_receiver.secret,
        config.provider or None,
        callback_receiver.username,
    )
    rows = [(name, ", ".join(services) or "none (answers at once)") for name, services in registered.items()]
    return dg.Output(
        sum(len(services) for services in registered.values()),
        metadata={
            "url": config.url,
            "registered": dg.MetadataValue.md(markdown_table(["provider", "services"], rows)),
        },
    )


@dg.job(tags={"amop/kind": "setup"})
def register_callbacks_job() -> None:
    register_carrier_callbacks()


defs = dg.Definitions(
    jobs=[register_callbacks_job], resources={"callback_receiver": callback_receiver_from_env()}
)
