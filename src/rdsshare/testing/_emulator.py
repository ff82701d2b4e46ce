"""``rdsshare emulator``: the emulated two-account AWS as a standalone service on 127.0.0.1.

It starts the test bed in server mode and writes an AWS config and credentials pair with one
profile per account (``rdsshare-source``, ``rdsshare-target``), each naming the emulator's endpoint
(``endpoint_url``, which botocore, the AWS CLI and the SDKs read from a profile). With
``AWS_CONFIG_FILE`` and ``AWS_SHARED_CREDENTIALS_FILE`` pointing at them, ``aws --profile
rdsshare-source ...``, Terraform's AWS provider (with the endpoint) and ``rdsshare share
--source-profile rdsshare-source --target-profile rdsshare-target ...`` all talk to it.

One exception: the AWS CLI v1 sends ``aws rds`` calls in us-east-1 to ``rds.amazonaws.com`` whatever
the profile says (its ``overridesslcommonname`` customization); pass ``--endpoint-url`` there, or use
another region (the emulator's default is ap-northeast-1).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ._bed import EmulatedAWS

__all__ = ["PROFILES", "EmulatorInfo", "write_profiles"]

#: profile name -> account id
PROFILES = {"rdsshare-source": "111111111111", "rdsshare-target": "222222222222"}
SOURCE_CLUSTER = "example-db"
TARGET_NETWORK = "example-db-2"


@dataclass(frozen=True)
class EmulatorInfo:
    """Where the emulator listens and how to reach it."""

    endpoint_url: str
    region: str
    config_file: Path
    credentials_file: Path
    #: the seeded example's restore flags (subnet group, security group), when seeded
    restore_flags: list[str] = field(default_factory=list)

    def export_lines(self) -> list[str]:
        """The shell lines that point the AWS CLI, SDKs and rdsshare at the emulator."""
        return [
            f"export AWS_CONFIG_FILE={self.config_file}",
            f"export AWS_SHARED_CREDENTIALS_FILE={self.credentials_file}",
        ]


def write_profiles(aws: EmulatedAWS, directory: Path) -> tuple[Path, Path]:
    """An AWS config and credentials pair with one profile per account of ``aws`` (files readable by you only)."""
    assert aws.endpoint_url is not None
    directory.mkdir(parents=True, exist_ok=True)
    config, credentials = "", ""
    for name, account in PROFILES.items():
        creds = aws.session(account).get_credentials()
        assert creds is not None
        frozen = creds.get_frozen_credentials()
        config += f"[profile {name}]\nregion = {aws.region}\nendpoint_url = {aws.endpoint_url}\n\n"
        credentials += (
            f"[{name}]\naws_access_key_id = {frozen.access_key}\naws_secret_access_key = {frozen.secret_key}\n"
            f"aws_session_token = {frozen.token}\n\n"
        )
    paths = (directory / "config", directory / "credentials")
    for path, text in zip(paths, (config, credentials), strict=True):
        path.write_text(text, encoding="utf-8")
        os.chmod(path, 0o600)
    return paths


def serve(
    *,
    directory: Path,
    region: str,
    seed: bool,
    operation_seconds: float,
    ready: Callable[[EmulatorInfo], None],
    wait: Callable[[], None],
) -> None:
    """Run the emulator: start it, write the profiles, seed the example (if asked), call ``ready``,
    then ``wait()`` (until interrupted) and stop it."""
    with EmulatedAWS(server=True, region=region, operation_seconds=operation_seconds) as aws:
        assert aws.endpoint_url is not None
        config, credentials = write_profiles(aws, directory)
        flags: list[str] = []
        if seed:
            source, target = PROFILES["rdsshare-source"], PROFILES["rdsshare-target"]
            aws.create_cluster(source, SOURCE_CLUSTER, network=aws.create_network(source, SOURCE_CLUSTER))
            net = aws.create_network(target, TARGET_NETWORK)
            flags = ["--subnet-group", net.subnet_group, "--security-group", net.security_group_id]
        ready(EmulatorInfo(aws.endpoint_url, region, config, credentials, flags))
        wait()
