"""Settings: defaults, TOML, environment overrides and clear errors."""

from __future__ import annotations

import os
from datetime import time
from pathlib import Path

import pytest
from pydantic import ValidationError

from reactivator.config import Settings, load_settings
from reactivator.errors import ConfigError

STEP = """
[[campaign.steps]]
key = "{key}"
from_days = {days}
discount_percent = 10
"""


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No repo config file, no REACTIVATOR_* variables from the outside."""
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("REACTIVATOR_"):
            monkeypatch.delenv(name)


def write(tmp_path: Path, text: str, name: str = "custom.toml") -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(exc: pytest.ExceptionInfo[ConfigError]) -> str:
    return str(exc.value)


# --- loading ---


def test_defaults_load_without_any_file() -> None:
    settings = load_settings()
    assert isinstance(settings, Settings)
    assert settings.database.url == "sqlite:///reactivator.db"
    assert [(s.from_days, s.discount_percent) for s in settings.campaign.steps] == [
        (90, 10),
        (180, 15),
        (360, 20),
    ]
    assert settings.campaign.apology.from_days == 90
    assert settings.campaign.exclude_tags == ("bad_payer",)
    assert (settings.campaign.quiet_start, settings.campaign.quiet_end) == (time(21), time(9))
    assert settings.shop.default_timezone == "UTC"


def test_env_override_replaces_the_database_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REACTIVATOR_DATABASE__URL", "postgresql+psycopg://app@db/reactivator")
    assert load_settings().database.url == "postgresql+psycopg://app@db/reactivator"


def test_toml_file_values_are_read(tmp_path: Path) -> None:
    path = write(tmp_path, '[database]\nurl = "sqlite:///from-file.db"\n[campaign]\ncap_letters = 3\n')
    settings = load_settings(path)
    assert settings.database.url == "sqlite:///from-file.db"
    assert settings.campaign.cap_letters == 3


def test_environment_wins_over_the_toml_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, '[database]\nurl = "sqlite:///from-file.db"\n')
    monkeypatch.setenv("REACTIVATOR_DATABASE__URL", "sqlite:///from-env.db")
    assert load_settings(path).database.url == "sqlite:///from-env.db"


def test_reactivator_config_variable_names_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, '[shop]\nname = "Books & Co"\n', name="elsewhere/shop.toml")
    monkeypatch.setenv("REACTIVATOR_CONFIG", str(path))
    assert load_settings().shop.name == "Books & Co"


def test_default_config_file_in_the_working_directory_is_picked_up(tmp_path: Path) -> None:
    write(tmp_path, '[shop]\ncurrency = "RUB"\n', name="config/reactivator.toml")
    assert load_settings().shop.currency == "RUB"


def test_loaded_settings_are_frozen() -> None:
    settings = load_settings()
    with pytest.raises(ValidationError):
        settings.database.url = "sqlite:///other.db"  # type: ignore[misc]


# --- bad values name the key, the value and a fix ---


def test_bad_database_url_names_key_value_and_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REACTIVATOR_DATABASE__URL", "mysql://root@localhost/shop")
    with pytest.raises(ConfigError) as exc:
        load_settings()
    message = problems_of(exc)
    assert "database.url" in message
    assert "mysql://root@localhost/shop" in message
    assert "postgresql+psycopg://" in message
    assert "REACTIVATOR_DATABASE__URL" in message
    assert len(exc.value.problems) == 1


def test_non_numeric_env_value_names_key_value_and_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REACTIVATOR_CAMPAIGN__CAP_LETTERS", "many")
    with pytest.raises(ConfigError) as exc:
        load_settings()
    message = problems_of(exc)
    assert "campaign.cap_letters" in message
    assert "'many'" in message
    assert "integer" in message
    assert "REACTIVATOR_CAMPAIGN__CAP_LETTERS" in message


def test_unknown_time_zone_in_file_names_key_value_and_fix(tmp_path: Path) -> None:
    path = write(tmp_path, '[shop]\ndefault_timezone = "Mars/Olympus"\n')
    with pytest.raises(ConfigError) as exc:
        load_settings(path)
    message = problems_of(exc)
    assert "shop.default_timezone" in message
    assert "Mars/Olympus" in message
    assert "IANA" in message
    assert exc.value.source == str(path)
    assert str(path) in message


def test_out_of_range_value_names_the_limit(tmp_path: Path) -> None:
    path = write(tmp_path, "[campaign]\ncap_letters = 0\n")
    with pytest.raises(ConfigError) as exc:
        load_settings(path)
    message = problems_of(exc)
    assert "campaign.cap_letters = 0" in message
    assert "greater than or equal to 1" in message


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    path = write(tmp_path, '[shop]\ncurrency = "dollars"\n[campaign]\nmin_gap_days = -1\n')
    with pytest.raises(ConfigError) as exc:
        load_settings(path)
    assert len(exc.value.problems) == 2
    message = problems_of(exc)
    assert "shop.currency" in message
    assert "campaign.min_gap_days" in message


# --- the file itself ---


def test_missing_config_path_gives_a_clear_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    with pytest.raises(ConfigError) as exc:
        load_settings(missing)
    message = problems_of(exc)
    assert "--config" in message
    assert str(missing) in message
    assert "not a file" in message


def test_missing_file_named_by_reactivator_config_gives_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REACTIVATOR_CONFIG", str(tmp_path / "gone.toml"))
    with pytest.raises(ConfigError) as exc:
        load_settings()
    message = problems_of(exc)
    assert "REACTIVATOR_CONFIG" in message
    assert "gone.toml" in message


def test_directory_as_config_path_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not a file"):
        load_settings(tmp_path)


def test_toml_syntax_error_is_a_config_error(tmp_path: Path) -> None:
    path = write(tmp_path, "[database\nurl = \n")
    with pytest.raises(ConfigError, match="cannot read the file"):
        load_settings(path)


def test_unknown_key_in_a_toml_section_is_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, '[database]\nurl = "sqlite:///x.db"\ncolour = "red"\n')
    with pytest.raises(ConfigError) as exc:
        load_settings(path)
    message = problems_of(exc)
    assert "database.colour" in message
    assert "unknown setting" in message


def test_unknown_top_level_key_in_a_toml_file_is_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, "verbose = true\n")
    with pytest.raises(ConfigError, match="verbose: unknown setting"):
        load_settings(path)


def test_unknown_section_in_a_toml_file_is_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, '[smtp_server]\nhost = "localhost"\n')
    with pytest.raises(ConfigError, match="smtp_server"):
        load_settings(path)


# --- the ladder's shape ---


def test_steps_in_ascending_order_are_accepted(tmp_path: Path) -> None:
    path = write(tmp_path, STEP.format(key="first", days=60) + STEP.format(key="second", days=120))
    assert [s.from_days for s in load_settings(path).campaign.steps] == [60, 120]


def test_steps_not_ascending_are_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, STEP.format(key="first", days=180) + STEP.format(key="second", days=90))
    with pytest.raises(ConfigError) as exc:
        load_settings(path)
    message = problems_of(exc)
    assert "ascending" in message
    assert "[180, 90]" in message


def test_steps_on_the_same_day_are_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, STEP.format(key="first", days=90) + STEP.format(key="second", days=90))
    with pytest.raises(ConfigError, match="strictly ascending"):
        load_settings(path)


def test_step_keys_must_be_unique(tmp_path: Path) -> None:
    path = write(tmp_path, STEP.format(key="same", days=90) + STEP.format(key="same", days=180))
    with pytest.raises(ConfigError, match="unique"):
        load_settings(path)


def test_an_unsafe_survey_reason_is_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, '[campaign]\nsurvey_reasons = ["too expensive/../x"]\n')
    with pytest.raises(ConfigError, match="survey reason"):
        load_settings(path)


def test_segment_tiers_not_ascending_are_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, "[segments]\ntiers = [180, 90, 360]\n")
    with pytest.raises(ConfigError) as exc:
        load_settings(path)
    message = problems_of(exc)
    assert "segments.tiers" in message
    assert "ascending" in message


def test_bad_value_inside_a_step_names_the_step_and_the_value(tmp_path: Path) -> None:
    path = write(tmp_path, STEP.format(key="first", days=0))
    with pytest.raises(ConfigError) as exc:
        load_settings(path)
    message = problems_of(exc)
    assert "campaign.steps.0.from_days = 0" in message
    assert "greater than 0" in message


def test_bad_value_inside_a_step_does_not_suggest_an_unusable_environment_variable(tmp_path: Path) -> None:
    path = write(tmp_path, STEP.format(key="first", days=0))
    with pytest.raises(ConfigError) as exc:
        load_settings(path)
    assert "REACTIVATOR_CAMPAIGN__STEPS__FROM_DAYS" not in problems_of(exc)


def test_a_sender_address_with_a_display_name_is_refused_at_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("REACTIVATOR_SENDER__FROM_EMAIL", "Shop <hello@shop.example.com>")
    with pytest.raises(ConfigError, match=r"sender\.from_email"):
        load_settings()


def test_a_database_password_is_never_echoed_in_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("REACTIVATOR_DATABASE__URL", "mysql://app:s3cretPW@db/shop")
    with pytest.raises(ConfigError) as exc:
        load_settings()
    assert "s3cretPW" not in str(exc.value)
    assert "mysql://app:***@db/shop" in str(exc.value)


# --- keys that moved keep working, with a warning naming the new key ---


def test_a_delivery_key_still_read_from_smtp_moves_to_delivery_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = write(
        tmp_path, '[smtp]\nport = 2525\nretry_lifetime_hours = 5\nreturn_path = "b@shop.example.com"\n'
    )
    settings = load_settings(path)
    assert settings.delivery.retry_lifetime_hours == 5
    assert settings.delivery.return_path == "b@shop.example.com"
    assert settings.smtp.port == 2525
    warned = caplog.text
    assert "smtp.retry_lifetime_hours is now delivery.retry_lifetime_hours" in warned
    assert "REACTIVATOR_DELIVERY__RETURN_PATH" in warned


def test_an_old_key_in_the_environment_still_wins_over_the_new_key_in_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    path = write(tmp_path, "[delivery]\ndomain_pause_minutes = 10\n")
    monkeypatch.setenv("REACTIVATOR_SMTP__DOMAIN_PAUSE_MINUTES", "45")
    assert load_settings(path).delivery.domain_pause_minutes == 45
    assert "REACTIVATOR_DELIVERY__DOMAIN_PAUSE_MINUTES" in caplog.text


def test_the_apology_after_days_is_now_from_days(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = write(tmp_path, "[campaign.apology]\nafter_days = 120\n")
    assert load_settings(path).campaign.apology.from_days == 120
    assert "campaign.apology.after_days is now campaign.apology.from_days" in caplog.text


def test_an_old_key_beside_its_new_one_in_one_place_is_ignored_and_said_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = write(tmp_path, "[smtp]\nmessages_per_second = 3\n[delivery]\nmessages_per_second = 7\n")
    assert load_settings(path).delivery.messages_per_second == 7
    assert "smtp.messages_per_second is ignored" in caplog.text


def test_a_wrong_value_under_an_old_key_is_reported_under_the_new_one(tmp_path: Path) -> None:
    path = write(tmp_path, '[smtp]\nretry_lifetime_hours = "soon"\n')
    with pytest.raises(ConfigError) as exc:
        load_settings(path)
    assert "delivery.retry_lifetime_hours = 'soon'" in problems_of(exc)


def test_a_text_missing_a_language_names_the_languages(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[[signers]]\nname = "Ann"\nrole = { en = "Founder" }\nphoto_url = "https://x.example/a.jpg"\n',
    )
    with pytest.raises(ConfigError) as exc:
        load_settings(path)
    message = problems_of(exc)
    assert "signers.0.role" in message
    assert "en, ru" in message
    assert "missing ru" in message


def test_the_shipped_config_file_equals_the_defaults_but_turns_the_holdout_on() -> None:
    shipped = load_settings(Path(__file__).resolve().parent.parent / "config" / "reactivator.toml")
    defaults = load_settings()
    assert defaults.campaign.holdout_percent == 0
    assert shipped.campaign.holdout_percent == 10
    holdout_on = defaults.campaign.model_copy(update={"holdout_percent": 10.0})
    assert shipped == defaults.model_copy(update={"campaign": holdout_on})
