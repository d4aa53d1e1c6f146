"""A local carrier simulator: Jasper and ThingSpace over real HTTP, with faults on demand.

It shares no code with `amop_pipelines.carriers`: each side follows CARRIERS.md on its own, so
that a misreading in one is caught by the other.
"""
