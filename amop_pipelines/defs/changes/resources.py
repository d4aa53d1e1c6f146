"""The callback receiver's credentials, from the environment: the carrier echoes them in each
callback body. The secret comes from AMOP_CALLBACK_SECRET."""

import os

import dagster as dg

from amop_pipelines.changes.callbacks import DEFAULT_USERNAME, SECRET_ENV, USERNAME_ENV


class CallbackReceiver(dg.ConfigurableResource):
    """The credentials the carrier echoes in each callback body, for the receiver to check."""

    username: str = DEFAULT_USERNAME
    secret: str


def callback_receiver_from_env() -> CallbackReceiver:
    username = dg.EnvVar(USERNAME_ENV) if os.environ.get(USERNAME_ENV) else DEFAULT_USERNAME
    return CallbackReceiver(username=username, secret=dg.EnvVar(SECRET_ENV))


defs = dg.Definitions(resources={"callback_receiver": callback_receiver_from_env()})
