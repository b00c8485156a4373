"""The simulated cluster: a real ClusterBackend for `--demo` and fast tests.

Everything is a function of the injected Clock and the seed: a VirtualClock runs hours of
cluster time in milliseconds, and the same seed at the same clock times gives the same
answers.
"""

from mvm_tui.backends.sim.backend import SimBackend
from mvm_tui.backends.sim.clusters import demo_cluster, demo_spec, scaled_cluster, scaled_spec
from mvm_tui.backends.sim.spec import SimClusterSpec, SimHostSpec, SimVmSpec

__all__ = [
    "SimBackend",
    "SimClusterSpec",
    "SimHostSpec",
    "SimVmSpec",
    "demo_cluster",
    "demo_spec",
    "scaled_cluster",
    "scaled_spec",
]
