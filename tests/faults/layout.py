"""The commands of docs/deploy.md, read from the file so the harness runs exactly them.

Each command line in a ```sh block of deploy.md ends with a tag, `# [name]`; the harness
runs it through `deploy_argv(name, ...)` with its own hosts, ports and folders in place of
the placeholders. The PgBouncer configuration is the ```ini block.
"""

from __future__ import annotations

import re
import shlex
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]
DEPLOY_DOC = BASE_DIR / "docs" / "deploy.md"
TAGGED = re.compile(r"^(?P<command>\S.*?)\s+#\s*\[(?P<tag>[\w-]+)\]\s*$")
_used: set[str] = set()


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", DEPLOY_DOC.read_text(encoding="utf-8"), flags=re.S)


def deploy_commands() -> dict[str, str]:
    """Tag -> command template, from every ```sh block line that carries a tag."""
    commands = {}
    for block in _blocks("sh"):
        for line in block.splitlines():
            match = TAGGED.match(line.strip())
            if match:
                commands[match["tag"]] = match["command"]
    return commands


def untagged_command_lines() -> list[str]:
    """Lines of ```sh blocks that are commands without a tag (environment lines excepted)."""
    lines = []
    for block in _blocks("sh"):
        for line in block.splitlines():
            text = line.strip()
            if not text or text.startswith("#") or TAGGED.match(text):
                continue
            if re.match(r"^[A-Z_][A-Z0-9_]*=", text):
                continue  # a setting, not a command
            lines.append(text)
    return lines


def pgbouncer_ini(**values: str) -> str:
    (block,) = _blocks("ini")
    return block.format(**values)


def deploy_argv(tag: str, **values: str) -> list[str]:
    """The command tagged `tag`, placeholders filled in, Python programs run with this interpreter."""
    template = deploy_commands()[tag]
    _used.add(tag)
    argv = shlex.split(template.format(**values))
    if argv[0] in ("gunicorn", "celery"):
        return [sys.executable, "-m", *argv]
    if argv[0] == "python":
        return [sys.executable, *argv[1:]]
    return argv


def used_tags() -> set[str]:
    return set(_used)
