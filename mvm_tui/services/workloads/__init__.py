"""VM lifecycle (issue 17): the image library, plans (named sizes), creating, changing and
deleting VMs with cloud-init, each a Run with previewed commands. Empty until then.

Goes here: one module per action (create.py, change.py, delete.py, images.py), each building
its run as services/power_runs.py and services/placement.py do (a plan checked when shown,
each step re-checking its guard right before acting). What a host does goes through a backend
capability (backends/capabilities.py: a `Workloads` protocol, implemented in
backends/real_workloads.py over libvirt calls run where libvirt runs, and in
backends/sim/workloads.py); pure decisions (what fits where, the domain XML) in core/.
"""
