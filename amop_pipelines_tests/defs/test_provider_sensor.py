"""Providers become partitions when added or activated, and stop being ones when deactivated."""

import dagster as dg
import sqlalchemy as sa

from amop_pipelines.db.models import ServiceProvider
from amop_pipelines.defs.shared.database import AmopDatabase
from amop_pipelines.defs.shared.partitions import providers
from amop_pipelines.defs.sync.sensors import provider_partitions_sensor
from amop_pipelines.demo.seed import seed_demo


def _tick(instance, url):
    with dg.build_sensor_context(instance=instance, resources={"amop_db": AmopDatabase(url=url)}) as context:
        result = provider_partitions_sensor(context)
    for request in result.dynamic_partitions_requests:
        if isinstance(request, dg.AddDynamicPartitionsRequest):
            instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
        else:
            for key in request.partition_keys:
                instance.delete_dynamic_partition(request.partitions_def_name, key)
    return result


def test_active_providers_are_registered_and_deactivated_ones_removed(sqlite_url, sqlite_engine):
    seed_demo(sqlite_engine, devices=10)
    with dg.instance_for_test() as instance:
        _tick(instance, sqlite_url)
        assert sorted(instance.get_dynamic_partitions(providers.name)) == [
            "acme-iot-jasper",
            "northwind-fleet-thingspace",
        ]
        assert not _tick(instance, sqlite_url).dynamic_partitions_requests  # nothing new: nothing asked
        with sqlite_engine.begin() as connection:
            connection.execute(
                sa.update(ServiceProvider)
                .where(ServiceProvider.integration == "thingspace")
                .values(is_active=False)
            )
        _tick(instance, sqlite_url)
        assert instance.get_dynamic_partitions(providers.name) == ["acme-iot-jasper"]
