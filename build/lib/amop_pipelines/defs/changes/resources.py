"""The callback receiver's credentials, from the environment: the carrier echoes them in each
callback body. The secret comes from AMOP_CALLBACK_SECRET."""

import dagster as dg

from amop_pipelines import settings
from amop_pipelines.settings import CALLBACK_SECRET_ENV, CALLBACK_USERNAME_ENV


class CallbackReceiver(dg.ConfigurableResource):
    """The credentials the carrier echoes in each callback body, for the receiver to check."""

    username: str = settings.SETTINGS[CALLBACK_USERNAME_ENV].default or ""
    secret: str


def callback_receiver_from_env() -> CallbackReceiver:
    if settings.is_set(CALLBACK_USERNAME_ENV):
        return CallbackReceiver(
            username=dg.EnvVar(CALLBACK_USERNAME_ENV), secret=dg.EnvVar(CALLBACK_SECRET_ENV)
        )
    return CallbackReceiver(secret=dg.EnvVar(CALLBACK_SECRET_ENV))


defs = dg.Definitions(resources={"callback_receiver": callback_receiver_from_env()})
