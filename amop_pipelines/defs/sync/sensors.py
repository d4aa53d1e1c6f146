"""Registers every active service provider as a partition, as soon as it is added or activated."""

import dagster as dg

from amop_pipelines.defs.shared.database import AmopDatabase
from amop_pipelines.defs.shared.partitions import providers
from amop_pipelines.sync.providers import active_provider_keys


@dg.sensor(
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Watches the carrier accounts: adds a provider partition when an account is added or "
        "activated, removes it when deactivated. Launches no run."
    ),
)
def provider_partitions_sensor(context: dg.SensorEvaluationContext, amop_db: AmopDatabase) -> dg.SensorResult:
    """Adds partitions for new active providers and removes those of deactivated ones."""
    wanted = set(active_provider_keys(amop_db.engine))
    known = set(context.instance.get_dynamic_partitions(providers.name))
    requests = []
    if wanted - known:
        requests.append(providers.build_add_request(sorted(wanted - known)))
    if known - wanted:
        requests.append(providers.build_delete_request(sorted(known - wanted)))
    return dg.SensorResult(dynamic_partitions_requests=requests, cursor=",".join(sorted(wanted)))


defs = dg.Definitions(sensors=[provider_partitions_sensor])
