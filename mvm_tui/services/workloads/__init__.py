"""VM lifecycle (issue 17), each a Run with previewed commands: images.py (the image library:
import), create.py (a VM from an image, with cloud-init), delete.py (marked for HA, undefined,
disks to the trash). Each step re-checks its guard right before acting. What a host does goes
through the backend's Workloads capability (backends/capabilities.py; backends/real_workloads.py
and backends/sim/workloads.py); pure decisions in core/ (new_vm, vm_spec, cloud_init, plans).
"""
