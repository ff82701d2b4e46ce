"""share_instance_snapshot(): RDS DB (instance) snapshots, same shape and guarantees as clusters."""

from __future__ import annotations

import pytest

from rdsshare import (
    AccountSession,
    Event,
    InstanceRestoreSpec,
    NotFoundError,
    PreflightError,
    StepFinished,
    cleanup,
    share_instance_snapshot,
)
from rdsshare.testing import EmulatedAWS

from ..accounts import OTHER, SOURCE, TARGET
from .helpers import mutating_calls, sessions


def _instance(
    aws: EmulatedAWS,
    *,
    encrypted: bool = True,
    kms_key_id: str | None = None,
    option_group: str | None = None,
    engine: str = "mysql",
    engine_version: str = "8.0.35",
    instance_class: str = "db.t3.micro",
) -> None:
    net = aws.create_network(SOURCE, "orders")
    kwargs: dict[str, object] = {}
    if kms_key_id:
        kwargs["KmsKeyId"] = kms_key_id
    if option_group:
        kwargs["OptionGroupName"] = option_group
    aws.client(SOURCE, "rds").create_db_instance(
        DBInstanceIdentifier="orders-db",
        Engine=engine,
        EngineVersion=engine_version,
        DBInstanceClass=instance_class,
        MasterUsername="admin",
        MasterUserPassword="source-password-1",
        AllocatedStorage=20,
        StorageEncrypted=encrypted,
        DBSubnetGroupName=net.subnet_group,
        VpcSecurityGroupIds=[net.security_group_id],
        **kwargs,  # type: ignore[arg-type]
    )
    aws.finish_pending()


def _spec(aws: EmulatedAWS, account: str = TARGET, instance_id: str = "orders-db-2") -> InstanceRestoreSpec:
    net = aws.create_network(account, instance_id)
    return InstanceRestoreSpec(
        instance_id=instance_id,
        instance_class="db.t3.micro",
        subnet_group=net.subnet_group,
        security_group_ids=[net.security_group_id],
    )


@pytest.mark.parametrize("source_kind", ["default-key", "cmk", "unencrypted"])
def test_instance_flow_end_to_end(aws: EmulatedAWS, source_kind: str) -> None:
    key = aws.client(SOURCE, "kms").create_key()["KeyMetadata"]["Arn"] if source_kind == "cmk" else None
    _instance(aws, encrypted=source_kind != "unencrypted", kms_key_id=key)
    source, target = sessions(aws)
    spec = _spec(aws)
    plan = share_instance_snapshot(source=source, target=target, instance_id="orders-db", restore=spec, dry_run=True)
    assert plan.ok, str(plan)
    result = share_instance_snapshot(source=source, target=target, instance_id="orders-db", restore=spec)
    # Source copies: 1 for the default key, else 0; the target copies an encrypted shared snapshot once.
    expected_source_copies = 1 if source_kind == "default-key" else 0
    expected_target_copies = 0 if source_kind == "unencrypted" else 1
    assert result.data_copies == expected_source_copies + expected_target_copies
    assert result.shared_snapshot_arn.split(":")[5] == "snapshot"
    instance = aws.client(TARGET, "rds").describe_db_instances(DBInstanceIdentifier="orders-db-2")["DBInstances"][0]
    assert instance["DBInstanceArn"] == result.target_instance_arn
    assert instance["DBInstanceStatus"] == "available"
    if source_kind == "unencrypted":
        assert result.target_snapshot_arn is None
    else:
        # Restored from the target's own copy, under a target key: no dependency on the source key.
        assert result.target_snapshot_arn is not None
        assert result.target_snapshot_arn.split(":")[4] == TARGET
        assert instance["KmsKeyId"].split(":")[4] == TARGET
    assert result.master_user_secret_arn is not None
    assert result.master_user_secret_arn.split(":")[4] == TARGET
    # Reruns converge.
    again = share_instance_snapshot(source=source, target=target, instance_id="orders-db", restore=spec)
    assert again.created == ()
    assert again.target_instance_arn == result.target_instance_arn


def test_instance_from_existing_snapshot_and_cleanup(aws: EmulatedAWS) -> None:
    _instance(aws)
    rds = aws.client(SOURCE, "rds")
    rds.create_db_snapshot(DBInstanceIdentifier="orders-db", DBSnapshotIdentifier="orders-nightly")
    source, target = sessions(aws)
    result = share_instance_snapshot(source=source, target=target, snapshot_id="orders-nightly", restore=_spec(aws))
    assert result.source_snapshot_arn.endswith(":snapshot:orders-nightly")
    assert result.manifest is not None
    cleanup(result.manifest, source=source, target=target)
    left = {s["DBSnapshotIdentifier"] for s in rds.describe_db_snapshots(SnapshotType="manual")["DBSnapshots"]}
    assert left == {"orders-nightly"}  # the user's snapshot stays; rdsshare's copy is gone
    target_left = aws.client(TARGET, "rds").describe_db_snapshots(SnapshotType="manual")["DBSnapshots"]
    assert target_left == []
    assert aws.client(TARGET, "rds").describe_db_instances(DBInstanceIdentifier="orders-db-2")["DBInstances"]


def test_tde_option_group_is_refused_before_any_change(aws: EmulatedAWS) -> None:
    rds = aws.client(SOURCE, "rds")
    rds.create_option_group(
        OptionGroupName="with-tde", EngineName="sqlserver-se", MajorEngineVersion="15.00", OptionGroupDescription="tde"
    )
    rds.modify_option_group(OptionGroupName="with-tde", OptionsToInclude=[{"OptionName": "TDE"}], ApplyImmediately=True)
    _instance(
        aws,
        option_group="with-tde",
        engine="sqlserver-se",
        engine_version="15.00.4415.2.v1",
        instance_class="db.m5.large",
    )
    source, target = sessions(aws)
    aws.clear_calls()
    with pytest.raises(PreflightError, match="TDE") as info:
        share_instance_snapshot(source=source, target=target, instance_id="orders-db")
    assert "Fix:" in str(info.value)
    assert mutating_calls(aws) == []


def test_instance_restore_id_taken_is_refused(aws: EmulatedAWS) -> None:
    _instance(aws)
    source, target = sessions(aws)
    spec = _spec(aws)
    aws.client(TARGET, "rds").create_db_instance(
        DBInstanceIdentifier="orders-db-2",
        Engine="mysql",
        DBInstanceClass="db.t3.micro",
        MasterUsername="a",
        MasterUserPassword="password-1",
        AllocatedStorage=20,
    )
    with pytest.raises(PreflightError, match="not restored by rdsshare"):
        share_instance_snapshot(source=source, target=target, instance_id="orders-db", restore=spec)


def test_instance_to_several_targets_and_another_region(aws: EmulatedAWS) -> None:
    _instance(aws)
    source = AccountSession(aws.session(SOURCE), endpoint_url=aws.endpoint_url)
    west = [AccountSession(aws.session(a, region="us-west-2"), endpoint_url=aws.endpoint_url) for a in (TARGET, OTHER)]
    net = aws.create_network(OTHER, "west", region="us-west-2")
    spec = InstanceRestoreSpec(
        instance_id="orders-west",
        instance_class="db.t3.micro",
        subnet_group=net.subnet_group,
        security_group_ids=[net.security_group_id],
    )
    result = share_instance_snapshot(source=source, targets=west, instance_id="orders-db", restore={OTHER: spec})
    assert result.region == "us-west-2"
    assert [t.target_account_id for t in result.targets] == [TARGET, OTHER]
    assert result.targets[0].target_instance_arn is None
    assert result.targets[1].target_instance_arn is not None
    assert result.targets[1].target_instance_arn.split(":")[3:5] == ["us-west-2", OTHER]


@pytest.mark.parametrize(("encrypted", "step"), [(True, "target-copy"), (False, "restore")])
def test_a_target_that_cannot_see_the_shared_db_snapshot_is_told_why(
    aws: EmulatedAWS, encrypted: bool, step: str
) -> None:
    """Unshared between the share and the target's first use: its copy (encrypted) or restore names the cause."""
    _instance(aws, encrypted=encrypted)
    source, target = sessions(aws)

    def unshare(event: Event) -> None:
        if isinstance(event, StepFinished) and event.step == "share":
            aws.client(SOURCE, "rds").modify_db_snapshot_attribute(
                DBSnapshotIdentifier=event.resource, AttributeName="restore", ValuesToRemove=[TARGET]
            )

    with pytest.raises(NotFoundError) as info:
        share_instance_snapshot(
            source=source, target=target, instance_id="orders-db", restore=_spec(aws), on_event=unshare
        )
    assert (info.value.step, info.value.account_id, info.value.error_code) == (step, TARGET, "DBSnapshotNotFound")
    assert f"the target account {TARGET} cannot see arn:" in info.value.message
