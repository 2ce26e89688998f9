"""Every command line of the README's shell blocks is checked, so the README cannot drift from the tool:

- each ``eventform`` command parses with the real CLI (command, options, their types and required ones), and the
  cheap ones run, in the README's order, on a copy of the project (lint, --version, every ``add``, one stack's synth,
  docs, export, local status); the others say why they do not run here and which tests run them;
- each ``make`` target exists in the Makefile, each ``npx cdktn`` subcommand is one the CLI has, each
  ``.venv/bin/python`` script or module exists, each ``terraform -chdir`` names a stack the project synthesizes.
A line of any other kind fails the test until it is classified here.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import typer.main
from typer.testing import CliRunner

from eventform.cli import selection
from eventform.cli.main import app
from tests.conftest import ROOT, copy_project

BLOCK = re.compile(r"```(?:bash|sh)\n(.*?)```", re.S)
PLACEHOLDERS = {"N": "2"}  # `[--count N]` in usage lines
CDKTN_COMMANDS = {"synth", "deploy", "destroy", "diff", "list", "output", "get"}
EXPORTED = {"TF_CLI_CONFIG_FILE", "EVENTFORM_LOCAL_ENDPOINT", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
            "AWS_DEFAULT_REGION"}  # fmt: skip
EXTERNAL = {
    "aws": "the AWS CLI against a real account (the archive replay example)",
    "curl": "a partner's call to a deployed ingestion endpoint (tests/eventform/local: the rehearsal posts through it)",
}
NOT_RUN_HERE = {  # eventform commands that parse here but run elsewhere, and why
    ("synth", "--env"): "a whole environment; tests/conftest.py synthesizes every environment once per session",
    ("validate",): "terraform init per stack; tests/eventform/synthesis run it",
    ("diff",): "synthesizes two revisions; tests/eventform/authoring/test_diff.py",
    ("scan",): "checkov; tests/eventform/compliance",
    ("lint", "--base"): "needs the git ref origin/main; tests/eventform/catalog/test_compat.py",
    ("deploy",): "Terraform against an account; tests/eventform/cli/test_deploy.py runs it on the embedded AWS",
    ("destroy",): "Terraform against an account; tests/eventform/cli/test_deploy.py runs it on the embedded AWS",
    ("local",): "needs the embedded AWS; tests/eventform/local and tests/eventform/cli/test_cdktn_app.py",
    ("dlq",): "needs the embedded AWS; tests/eventform/local",
    ("providers",): "runs terraform providers lock; tests/eventform/synthesis/test_provider_locks.py",
    ("--install-completion",): "would edit the shell profile; tests/eventform/cli/test_selection.py completes",
}
RUN_HERE = {("local", "status")}  # cheap members of a family above


def _words(logical: str) -> list[str] | None:
    """The words of one command (None: a quote is still open, the command goes on on the next line)."""
    try:
        words = shlex.split(logical, comments=True)
    except ValueError:
        return None
    words = [PLACEHOLDERS.get(w, w) for w in (w.removeprefix("[").removesuffix("]") for w in words)]
    while words and re.match(r"^[A-Z_]+=", words[0]):
        value = words[0].split("=", 1)[1]
        words = [value.removeprefix("$("), *words[1:]] if value.startswith("$(") else words[1:]  # X=$(terraform ...)
    return words


def command_lines() -> list[tuple[int, list[str]]]:
    """(README line, words) per command: continuations joined, comments and `VAR=value` prefixes dropped, optional
    `[...]` parts of usage lines kept without brackets."""
    text = (ROOT / "README.md").read_text()
    found = []
    for block in BLOCK.finditer(text):
        first = text[: block.start()].count("\n") + 2
        logical, start = "", first
        for number, line in enumerate(block.group(1).splitlines(), first):
            if not logical:
                start = number
            if line.rstrip().endswith("\\"):
                logical += line.rstrip()[:-1] + " "
                continue
            logical += line
            words = _words(logical)
            if words is None:
                logical += "\n"
                continue
            if words:
                found.append((start, words))
            logical = ""
    return found


def eventform_lines() -> list[tuple[int, list[str]]]:
    return [(n, w[1:]) for n, w in command_lines() if w[0] in (".venv/bin/eventform", "eventform")]


def reason_not_run(args: list[str]) -> str | None:
    if tuple(args[:2]) in RUN_HERE:
        return None
    for key, reason in NOT_RUN_HERE.items():
        if all(word in args for word in key) and args[0] == key[0]:
            return reason
    return None


def parse(args: list[str]) -> None:
    """Resolve the command and parse its arguments exactly as the CLI would, without running it. The eager options
    (`--version`, `--install-completion`) act while parsing, so they are only looked up."""
    command = typer.main.get_command(app)
    if args[0] in ("--version", "--install-completion", "--show-completion"):
        assert len(args) == 1 and any(args[0] in p.opts for p in command.params), args
        return
    context = command.make_context("eventform", list(args))
    while hasattr(command, "commands") and (words := [*getattr(context, "_protected_args", []), *context.args]):
        name, *rest = words
        command = command.get_command(context, name)
        assert command is not None, f"no command {name!r}"
        context = command.make_context(name, rest, parent=context)


def test_the_readme_has_the_commands_it_should() -> None:
    lines = eventform_lines()
    assert len(lines) >= 30, lines
    assert any(args[:2] == ["add", "schedule"] for _, args in lines)


@pytest.mark.parametrize(("line", "args"), eventform_lines(), ids=[f"L{n}" for n, _ in eventform_lines()])
def test_every_eventform_command_parses(line: int, args: list[str]) -> None:
    try:
        parse(args)
    except Exception as error:
        pytest.fail(f"README.md:{line}: `eventform {' '.join(args)}` does not parse: {error}")


def test_every_other_command_line_is_real() -> None:
    makefile = (ROOT / "Makefile").read_text()
    stacks = set(selection.stack_names(ROOT))
    for line, words in command_lines():
        program = words[0]
        where = f"README.md:{line}: {' '.join(words)}"
        if program in (".venv/bin/eventform", "eventform"):
            continue
        if program == "make":
            assert all(re.search(rf"^{re.escape(t)}:", makefile, re.M) for t in words[1:]), where
        elif program == "npx":
            assert words[1] == "cdktn" and words[2] in CDKTN_COMMANDS, where
            assert all(w in stacks for w in words[3:] if not w.startswith("-")), where
        elif program == ".venv/bin/python":
            target = words[2].replace(".", "/") + ".py" if words[1] == "-m" else words[1]
            assert (ROOT / target).is_file(), where
        elif program == "terraform":
            chdir = next(w for w in words if w.startswith("-chdir=")).removeprefix("-chdir=")
            assert chdir.removeprefix("cdktf.out/stacks/") in stacks, where
        elif program == "export":
            assert all(w.split("=")[0] in EXPORTED for w in words[1:]), where
        else:
            assert program in EXTERNAL, f"{where}: classify this command in tests/test_readme_commands.py"


def test_the_cheap_commands_run_in_the_readmes_order(tmp_path: Path) -> None:
    project = copy_project(tmp_path)
    runner = CliRunner()
    ran = []
    for line, args in eventform_lines():
        if reason_not_run(args) is not None:
            continue
        result = runner.invoke(app, [*args, "--root", str(project)] if args[0] != "--version" else args)
        assert result.exit_code == 0, f"README.md:{line}: eventform {' '.join(args)}\n{result.output}"
        ran.append(" ".join(args[:2]))
    assert {"lint", "add schedule", "docs --out", "export asyncapi", "synth --stack", "local status"} <= set(ran)
    assert (project / "site" / "index.html").is_file() and (project / "handlers" / "track_parcels").is_dir()
