"""projects.services is the one writer of places and proposals (projects/models.py says so).

The votes app (ideas, the pabulib import) calls its services; it neither builds those
models to save them nor creates them through their managers, and projects never
imports votes.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROJECTS_MODELS = {"Region", "Municipality", "Space", "SpacePhoto", "Proposal", "ProposalPhoto", "ProgressUpdate"}
WRITES = {"create", "bulk_create", "get_or_create", "update_or_create"}


def _sources(app: str) -> list[Path]:
    return sorted(path for path in (ROOT / app).rglob("*.py") if "migrations" not in path.parts)


def _writes_of_projects_models(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        # Proposal(pk=...) names a row for a service; any other field means a new one.
        if isinstance(func, ast.Name) and func.id in PROJECTS_MODELS:
            if {keyword.arg for keyword in node.keywords} - {"pk"} or node.args:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} {func.id}(...)")
        # Model.objects.create(...) and the like.
        elif (
            isinstance(func, ast.Attribute)
            and func.attr in WRITES
            and isinstance(func.value, ast.Attribute)
            and isinstance(func.value.value, ast.Name)
            and func.value.value.id in PROJECTS_MODELS
        ):
            found.append(f"{path.relative_to(ROOT)}:{node.lineno} {func.value.value.id}.{func.value.attr}.{func.attr}")
    return found


@pytest.mark.parametrize("path", _sources("votes"), ids=lambda path: str(path.relative_to(ROOT)))
def test_votes_creates_places_and_proposals_only_through_projects_services(path):
    assert _writes_of_projects_models(path) == []


def test_projects_never_imports_votes():
    importers = []
    for path in _sources("projects"):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            else:
                continue
            importers += [f"{path.relative_to(ROOT)}:{node.lineno}" for name in names if name.split(".")[0] == "votes"]
    assert importers == []
