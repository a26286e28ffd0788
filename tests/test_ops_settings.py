"""[retention], [metrics], [alerts]: defaults and errors naming file, key and problem; the daily purge runs once a day."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from intake.app import build_app
from intake.db import upgrade
from intake.devservers.localconfig import offline_config
from intake.errors import ConfigErrors
from intake.settings import load_settings
from intake.stages.duties import run_daily_purge


def test_defaults_and_overrides(tmp_path):
    config = offline_config(tmp_path)
    s = load_settings(config)
    assert s.retention.categories["visit-certificate"] == 10 and s.retention.categories["general"] == 3
    assert s.alerts.outage_minutes == 15 and s.metrics.listen == ""    # local configs: no fixed port
    config.write_text(config.read_text() + '\n[retention]\ndefault_years = 7\n[retention.categories]\ngeneral = 4\n')
    s = load_settings(config)
    assert (s.retention.default_years, s.retention.categories["general"]) == (7, 4)


@pytest.mark.parametrize("extra,key", [
    ("\n[retention.categories]\ngeneral = 0\n", "retention.categories"),
    ('\n[alerts]\nbacklog_minutes = -1\n', "alerts.backlog_minutes"),
    ('\n[retention]\nforever = true\n', "retention.forever"),
])
def test_bad_values_name_file_key_problem(tmp_path, extra, key):
    config = offline_config(tmp_path)
    config.write_text(config.read_text() + extra)
    with pytest.raises(ConfigErrors) as exc:
        load_settings(config)
    assert [e.key for e in exc.value.errors] == [key] and exc.value.errors[0].file == str(config)


def test_bad_metrics_listen(tmp_path):
    config = offline_config(tmp_path)
    config.write_text(config.read_text().replace('listen = ""', 'listen = "localhost"'))
    with pytest.raises(ConfigErrors, match='metrics.listen: must be "host:port"'):
        load_settings(config)


def test_daily_purge_once_per_seoul_day(tmp_path):
    app = build_app(load_settings(offline_config(tmp_path)))
    upgrade(app.engine)
    day = datetime(2026, 12, 4, 1, 0, tzinfo=timezone.utc)
    assert run_daily_purge(app, day) is True
    assert run_daily_purge(app, day.replace(hour=14)) is False          # 23:00 in Seoul: same day
    assert run_daily_purge(app, day.replace(hour=15, minute=1)) is True  # 00:01 the next day
    app.engine.dispose()
