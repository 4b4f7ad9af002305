"""The security settings Baton ships with, checked as files a deployment would read."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

from agents.accounts import hash_password, verify_password
from agents.policy import default_policy_text, needs_approval, parse_policy
from db.settings import Settings
from tests.support.home import WINBACK, subprocess_env
from tests.support.scripted_llm import ErrorReply, ScriptedLLM

ROOT = Path(__file__).resolve().parents[2]


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


SECRET_KEY = "sk-test-9f8e7d6c5b4a39281706"


def test_an_api_key_is_never_printed_stored_or_in_a_repr(
    home: Path, scripted_llm: ScriptedLLM
) -> None:
    settings = Settings.from_env(
        {"BATON_HOME": str(home), "OPENAI_API_KEY": SECRET_KEY, "BATON_MODEL": "m"}
    )
    assert SECRET_KEY not in repr(settings)
    # Endpoints echo the key in their errors (OpenAI's 401 does); Baton must not pass it on.
    echo = f"Incorrect API key provided: {SECRET_KEY}. You can find your key in settings."
    scripted_llm.expect(ErrorReply(401, echo), ErrorReply(422, echo), agent="planner")
    env = subprocess_env(
        home,
        OPENAI_API_KEY=SECRET_KEY,
        OPENAI_BASE_URL=scripted_llm.base_url,
        BATON_MODEL="scripted-model",
    )
    outputs = []
    for _ in range(2):  # a 401 (refused key), then a 422 (any other rejection)
        out = subprocess.run(
            [sys.executable, "-m", "app.cli", "plan", "--json", WINBACK],
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert out.returncode == 0, out.stderr  # the offline planner stood in
        assert "planned this brief offline instead" in out.stderr
        outputs += [out.stdout, out.stderr]
    assert all(SECRET_KEY not in text for text in outputs)
    assert "[redacted]" in outputs[3]  # the 422 message, shown without the key
    for path in home.rglob("*"):
        if path.is_file():
            assert SECRET_KEY.encode() not in path.read_bytes(), path
