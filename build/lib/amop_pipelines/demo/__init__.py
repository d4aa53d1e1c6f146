"""The demo fleet: a deterministic, realistic fleet for the demo, the simulator and benchmarks."""
