"""The one Definitions object of the code location, merged from the modules under `defs/`."""

import dagster as dg

from amop_pipelines.defs.assets import fleet
from amop_pipelines.defs.resources import carriers, database

defs = dg.Definitions.merge(
    database.defs,
    carriers.defs,
    fleet.defs,
)
