"""The exception tree, ClientError translation by code, and identifier rules."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

import rdsshare
from rdsshare import (
    AccessDeniedError,
    AwsError,
    ConflictError,
    CredentialsExpiredError,
    InputError,
    KeyNotAccessibleError,
    KeyPolicyError,
    NotFoundError,
    QuotaExceededError,
    RdsShareError,
)
from rdsshare._errors import translate_client_error
from rdsshare._validation import validate_account_id, validate_identifier


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        ("AccessDeniedException", AccessDeniedError),
        ("KMSKeyNotAccessibleFault", KeyNotAccessibleError),
        ("MalformedPolicyDocumentException", KeyPolicyError),
        ("ExpiredToken", CredentialsExpiredError),
        ("SnapshotQuotaExceeded", QuotaExceededError),
        ("DBClusterAlreadyExistsFault", ConflictError),
        ("DBClusterSnapshotNotFoundFault", NotFoundError),
        ("SomethingNew", AwsError),
    ],
)
def test_translate_by_code(code: str, cls: type[RdsShareError]) -> None:
    exc = ClientError({"Error": {"Code": code, "Message": "boom"}}, "Op")
    err = translate_client_error(exc, step="copy", account_id="111111111111", resource="snap-1")
    assert type(err) is cls
    assert err.error_code == code
    text = str(err)
    for part in ("boom", "step=copy", "account=111111111111", "resource=snap-1"):
        assert part in text


def test_expired_token_says_how_to_resume() -> None:
    exc = ClientError({"Error": {"Code": "ExpiredToken", "Message": "expired"}}, "Op")
    err = translate_client_error(exc, step="copy", account_id=None, resource=None)
    assert "rerun the same call" in str(err)


def test_input_error_is_value_error() -> None:
    assert issubclass(InputError, ValueError)


def test_tree_is_documented() -> None:
    doc = rdsshare._errors.__doc__ or ""
    for name in rdsshare._errors.__all__:
        if name.endswith("Error"):
            assert name in doc, name


@pytest.mark.parametrize("bad", ["1", "12345678901a", 123456789012, None, " 111111111111"])
def test_bad_account_ids(bad: object) -> None:
    with pytest.raises(InputError, match="12-digit"):
        validate_account_id(bad, "target")


@pytest.mark.parametrize("bad", ["", "1abc", "a--b", "abc-", "a_b", "a" * 64, "db cluster"])
def test_bad_cluster_ids(bad: str) -> None:
    with pytest.raises(InputError, match="not a valid RDS cluster identifier"):
        validate_identifier(bad, "cluster", argument="cluster_id")


def test_good_identifier_is_lowered() -> None:
    assert validate_identifier("Example-DB-2", "cluster", argument="x") == "example-db-2"
