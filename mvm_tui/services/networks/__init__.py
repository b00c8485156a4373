"""Networks and datastores on a running cluster (issue 20): Open vSwitch port groups on every
host (checked everywhere, applied everywhere, rolled back everywhere), drift and its repair,
RBD pools, NFS and iSCSI datastores. Empty until then.

Goes here: networks.py and datastores.py, each a run over all hosts; reading bridges and port
groups is backends/ovs.py; the scripts run on the hosts are provision/ovs.sh and
provision/datastore.sh (the same code cluster creation and Add Worker use).
"""
