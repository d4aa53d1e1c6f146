"""The one Definitions object of the code location, merged from the modules under `defs/`.

`defs/` is grouped by domain (sync, optimization, changes, fleet), each domain with one module per
kind (assets, checks, jobs, sensors, resources); `defs/shared/` holds what every domain uses (the
database, carrier and notifier resources, step storage, partitions, the executor, the failure alerts).
"""

import dagster as dg

from amop_pipelines import settings
from amop_pipelines.defs.changes import jobs as change_jobs
from amop_pipelines.defs.changes import launchpad_jobs
from amop_pipelines.defs.changes import resources as change_resources
from amop_pipelines.defs.changes import sensors as change_sensors
from amop_pipelines.defs.fleet import assets as fleet_assets
from amop_pipelines.defs.optimization import assets as optimization_assets
from amop_pipelines.defs.optimization import checks as optimization_checks
from amop_pipelines.defs.optimization import jobs as optimization_jobs
from amop_pipelines.defs.optimization import realized as optimization_realized
from amop_pipelines.defs.optimization import sensors as optimization_sensors
from amop_pipelines.defs.shared import (
    carriers,
    database,
    executor,
    failure_alerts,
    mail_retries,
    notifier,
    operations_alerts,
    step_storage,
)
from amop_pipelines.defs.sync import assets as sync_assets
from amop_pipelines.defs.sync import checks as sync_checks
from amop_pipelines.defs.sync import jobs as sync_jobs
from amop_pipelines.defs.sync import sensors as sync_sensors

# the code location does not load on a malformed setting: the UI shows the error, naming it
if _problems := settings.problems():
    raise settings.SettingError("; ".join(_problems))

defs = dg.Definitions.merge(
    database.defs,
    carriers.defs,
    notifier.defs,
    step_storage.defs,
    executor.defs,
    failure_alerts.defs,
    mail_retries.defs,
    operations_alerts.defs,
    fleet_assets.defs,
    sync_assets.defs,
    sync_checks.defs,
    sync_jobs.defs,
    sync_sensors.defs,
    optimization_assets.defs,
    optimization_checks.defs,
    optimization_jobs.defs,
    optimization_sensors.defs,
    optimization_realized.defs,
    change_resources.defs,
    change_jobs.defs,
    change_sensors.defs,
    launchpad_jobs.defs,
)
