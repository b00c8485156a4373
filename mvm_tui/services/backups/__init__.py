"""Snapshots, backups and restores (issue 19): RBD snapshots with the guest frozen through its
agent, incremental backups (rbd export-diff), retention, verify, restore and restore drills,
scheduled by the headless service. Empty until then.

Goes here: one module per concern (snapshots.py, backups.py, retention.py, restore.py), each a
run kind registered with the executor as services/decommission_runs.py registers its own;
Ceph commands through the backend's CephAdmin capability (backends/capabilities.py), their
exact argv in backends/ceph/commands.py; pure retention decisions in core/.
"""
