"""Between the AMOP database and the cost engine: a provider's month as an optimization problem,
and (later) the results back into the database. No Dagster here."""
