"""The config a filled-in wizard form makes (core.cluster_form): a ClusterConfig ready for
add_cluster(), a HostConfig for Add Worker. No password is in it: the hosts that log in with
one have password_auth set, and the form's passwords() hands the passwords over."""

from __future__ import annotations

from pathlib import Path

from mvm_tui.config.cluster import ClusterConfig, DatastoreConfig, HostConfig, Interfaces
from mvm_tui.core.cluster_form import (
    Auth,
    ClusterForm,
    FormInvalid,
    HostRow,
    IscsiTarget,
    NfsExport,
    check_vlans,
    port_number,
)
from mvm_tui.core.form_validation import validate_key_file
from mvm_tui.core.validation import (
    parse_devices,
    validate_address,
    validate_hostname_label,
    validate_user,
)


def host_from_row(row: HostRow) -> HostConfig:
    """The row as config (raises ValueError if a field is invalid)."""
    key = row.key_file if row.auth is Auth.KEY else ""
    return HostConfig(
        name=validate_hostname_label(row.name), address=validate_address(row.address),
        port=port_number(row.port), user=validate_user(row.user),
        key_file=Path(validate_key_file(key)) if key else None,
        password_auth=row.auth is Auth.PASSWORD,
    )


def cluster_from_form(form: ClusterForm) -> ClusterConfig:
    """The cluster as config; raises FormInvalid when a field is not valid."""
    errors = form.errors()
    if errors:
        raise FormInvalid(errors)
    return ClusterConfig(
        name=form.name, layout=form.layout,
        hosts=[host_from_row(row) for row in form.hosts],
        interfaces=Interfaces(management=form.management_if, storage=form.storage_if,
                              compute=form.compute_if),
        data_devices=parse_devices(form.data_devices),
        compute_vlans=check_vlans(form.compute_vlans),
        cpu_type=form.cpu_type, cpu_model=form.cpu_model,
        datastore=_datastore(form),
    )


def _datastore(form: ClusterForm) -> DatastoreConfig | None:
    target = form.external_storage()
    if isinstance(target, NfsExport):
        return DatastoreConfig(nfs_export=str(target))
    if isinstance(target, IscsiTarget):
        return DatastoreConfig(iscsi_portal=form.storage_target, iscsi_target=target.iqn)
    return None
