"""What a newcomer sees first: ``nzc`` alone prints the help and where its settings come
from; every group's help ends with an example to copy."""

import click
import pytest
from click.testing import CliRunner

from consumer.cli import cli


def last_line(text: str) -> str:
    return [line for line in text.splitlines() if line.strip()][-1].strip()


@pytest.mark.parametrize(
    "group",
    [None, *sorted(n for n, c in cli.commands.items() if isinstance(c, click.Group))],
)
def test_each_group_help_ends_with_one_example(group):
    args = [group, "--help"] if group else ["--help"]
    result = CliRunner().invoke(cli, args, prog_name="nzc")
    assert result.exit_code == 0, result.output
    example = last_line(result.output)
    assert example.startswith("Example: nzc "), result.output
    # The example names a real command of its group.
    words = example.removeprefix("Example: nzc ").split()
    assert words[0] in cli.commands
    if group:
        assert words[0] == group and words[1] in cli.commands[group].commands


def test_nzc_alone_prints_the_help_and_the_settings_it_would_use(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NZC_ENV_FILE", raising=False)
    alone = CliRunner().invoke(cli, [], prog_name="nzc")
    assert alone.exit_code == 0
    assert "Usage: nzc" in alone.output and "jobs" in alone.output
    assert f"Settings: the environment only (no .env in {tmp_path})" in alone.output
    (tmp_path / ".env").write_text("NZC_LOG_LEVEL=INFO\n")
    found = CliRunner().invoke(cli, [], prog_name="nzc")
    assert f"Settings: {tmp_path / '.env'}, and the environment (which wins)" in found.output
