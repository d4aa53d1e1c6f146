"""The one Definitions object of the code location, merged from the modules under `defs/`."""

import dagster as dg

from amop_pipelines.defs import executor
from amop_pipelines.defs.assets import fleet, optimization, sync
from amop_pipelines.defs.checks import sync as sync_checks
from amop_pipelines.defs.jobs import callbacks, changes, launchpad
from amop_pipelines.defs.resources import carriers, database, notifier
from amop_pipelines.defs.sensors import failures, providers, window

defs = dg.Definitions.merge(
    database.defs,
    carriers.defs,
    notifier.defs,
    fleet.defs,
    sync.defs,
    optimization.defs,
    sync_checks.defs,
    providers.defs,
    window.defs,
    failures.defs,
    changes.defs,
    callbacks.defs,
    launchpad.defs,
    executor.defs,
)
