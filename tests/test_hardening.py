"""The security settings Baton ships with, checked as files a deployment would read."""

from __future__ import annotations

import tomllib
from pathlib import Path

from agents.accounts import hash_password, verify_password
from agents.policy import default_policy_text, needs_approval, parse_policy

ROOT = Path(__file__).resolve().parent.parent


def test_chainlit_renders_no_raw_html_and_accepts_only_csv_uploads() -> None:
    config = tomllib.loads((ROOT / ".chainlit" / "config.toml").read_text())
    assert config["features"]["unsafe_allow_html"] is False
    assert config["features"]["edit_message"] is False
    uploads = config["features"]["spontaneous_file_upload"]
    # Only CSV uploads (the data import), whatever MIME type a browser gives a .csv.
    assert set(uploads["accept"]) <= {"text/csv", "application/vnd.ms-excel"}
    assert all(exts == [".csv"] for exts in uploads["accept"].values())
    assert uploads["max_files"] == 1 and uploads["max_size_mb"] <= 100
    assert "*" not in config["project"]["allow_origins"]
    assert config["project"]["user_session_timeout"] <= 8 * 3600


def test_default_policy_waits_for_people_on_anything_but_reading() -> None:
    policy = parse_policy(default_policy_text())
    assert policy.autonomy == 1
    assert not needs_approval(policy, kind="kpi_summary", risk="read")
    assert needs_approval(policy, kind="build_segment", risk="internal")
    assert needs_approval(policy, kind="launch_campaign", risk="external")
    assert policy.quiet_hours.contains(22) and not policy.quiet_hours.contains(10)


def test_passwords_are_stored_as_salted_scrypt_hashes() -> None:
    first, second = hash_password("s3cret-pass"), hash_password("s3cret-pass")
    assert first != second and "s3cret-pass" not in first
    assert first.startswith("scrypt$")
    assert verify_password("s3cret-pass", first)
    assert not verify_password("s3cret-pasS", first)
    assert not verify_password("s3cret-pass", "garbage")
