"""Read and write pabulib ``.pb`` files (https://pabulib.org, arXiv 2305.11035).

A file has three sections, ``META``, ``PROJECTS`` and ``VOTES``, each a section name
line, a header line and ``;``-separated rows. Fields follow CSV quoting (``"a;b"``,
doubled quotes inside); vote lists are comma-separated project ids, in rank order for
ordinal ballots, with a parallel ``points`` list for cumulative ones. Real files come
with a UTF-8 BOM, Windows line endings and optional columns; all of that is accepted.

:func:`parse` keeps every column as text; :func:`dump` writes a file that
``pabutools.election.parse_pabulib`` reads back to the same election;
:func:`to_rules_input` turns a parsed election into the inputs of :mod:`votes.rules`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from votes import rules

SECTIONS = ("meta", "projects", "votes")


class PabulibError(ValueError):
    """Malformed ``.pb`` input; the message names the line."""

    def __init__(self, message: str, line: int | None = None) -> None:
        self.line = line
        super().__init__(f"line {line}: {message}" if line is not None else message)


@dataclass
class PbElection:
    meta: dict[str, str] = field(default_factory=dict)
    # Every column of every row, as text, in file order.
    projects: list[dict[str, str]] = field(default_factory=list)
    # Every column of every row; ``vote`` is split into ``vote_list`` (ids, in rank
    # order for ordinal ballots) and ``points`` into ``points_list`` (ints) if present.
    votes: list[dict[str, object]] = field(default_factory=list)
    project_columns: list[str] = field(default_factory=list)
    vote_columns: list[str] = field(default_factory=list)

    @property
    def vote_type(self) -> str:
        return self.meta.get("vote_type", rules.APPROVAL)


@dataclass(frozen=True)
class RulesInput:
    projects: list[rules.Project]
    ballots: dict[rules.Ballot, int]
    method: str
    rule: str | None
    budget: int
    threshold: int | None
    min_length: int | None
    max_length: int | None


def _read_text(source: str | bytes | Path | IO[str] | IO[bytes]) -> str:
    if isinstance(source, Path):
        data: str | bytes = source.read_bytes()
    elif isinstance(source, str | bytes):
        data = source
    else:
        data = source.read()
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise PabulibError(f"the file is not UTF-8 ({exc.reason})") from exc
    return data.removeprefix("\ufeff")


def _split_list(value: str) -> list[str]:
    return [x.strip() for x in value.split(",") if x.strip()]


def _to_int(value: str, what: str, line: int) -> int:
    text = value.strip().replace(",", ".")
    try:
        number = float(text)
    except ValueError:
        raise PabulibError(f"{what} {value!r} is not a number", line) from None
    if not number.is_integer():
        raise PabulibError(f"{what} {value!r} is not a whole number", line)
    return int(number)


def parse(source: str | bytes | Path | IO[str] | IO[bytes]) -> PbElection:
    """Parse ``.pb`` text (or bytes, a path or an open file)."""
    text = _read_text(source)
    # csv handles quoted ';' and '""'; line numbers come from the reader itself, so a
    # quoted field spanning lines still reports where the row starts.
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=";")
    election = PbElection()
    section: str | None = None
    header: list[str] | None = None
    seen: set[str] = set()
    project_ids: set[str] = set()
    voter_ids: set[str] = set()
    try:
        for row in reader:
            line = reader.line_num
            if not row or all(not cell.strip() for cell in row):
                continue
            first = row[0].strip().lower()
            if first in SECTIONS and len([c for c in row if c.strip()]) == 1:
                if first in seen:
                    raise PabulibError(f"section {first.upper()} appears twice", line)
                if section is None and first != "meta":
                    raise PabulibError("the file must start with a META section", line)
                seen.add(first)
                section, header = first, None
                continue
            if section is None:
                raise PabulibError("the file must start with a META section", line)
            if header is None:
                header = [c.strip() for c in row]
                if section == "meta" and header[:2] != ["key", "value"]:
                    raise PabulibError("the META header must be 'key;value'", line)
                if section == "projects":
                    if "project_id" not in header or "cost" not in header:
                        raise PabulibError("PROJECTS needs project_id and cost columns", line)
                    election.project_columns = header
                if section == "votes":
                    if "voter_id" not in header or "vote" not in header:
                        raise PabulibError("VOTES needs voter_id and vote columns", line)
                    election.vote_columns = header
                continue
            if section == "meta":
                if len(row) < 2:
                    raise PabulibError(f"META row {row[0]!r} has no value", line)
                election.meta[row[0].strip()] = row[1].strip()
                continue
            if len(row) != len(header):
                raise PabulibError(
                    f"{section.upper()} row has {len(row)} fields, the header has {len(header)}",
                    line,
                )
            values = dict(zip(header, (c.strip() for c in row), strict=True))
            if section == "projects":
                pid = values["project_id"]
                if not pid:
                    raise PabulibError("empty project_id", line)
                if pid in project_ids:
                    raise PabulibError(f"duplicate project_id {pid!r}", line)
                _to_int(values["cost"], f"cost of project {pid!r}", line)
                project_ids.add(pid)
                election.projects.append(values)
            else:
                election.votes.append(_parse_vote(values, election, project_ids, line))
                vid = values["voter_id"]
                if vid in voter_ids:
                    raise PabulibError(f"duplicate voter_id {vid!r}", line)
                voter_ids.add(vid)
    except csv.Error as exc:
        raise PabulibError(f"unreadable CSV ({exc})", reader.line_num) from exc
    for name in SECTIONS:
        if name not in seen:
            raise PabulibError(f"missing {name.upper()} section")
    if "budget" not in election.meta:
        raise PabulibError("META has no budget")
    _to_int(election.meta["budget"], "budget", 0)
    return election


def _parse_vote(values: dict[str, str], election: PbElection, project_ids: set[str], line: int) -> dict[str, object]:
    raw = values["vote"]
    vote = [] if raw.lower() == "none" else _split_list(raw)
    for pid in vote:
        if pid not in project_ids:
            raise PabulibError(f"vote names unknown project {pid!r}", line)
    if len(set(vote)) != len(vote):
        raise PabulibError("a vote names the same project twice", line)
    out: dict[str, object] = dict(values)
    out["vote_list"] = vote
    if "points" in values and values["points"] and values["points"].lower() != "none":
        points = [_to_int(x, "points", line) for x in _split_list(values["points"])]
        if len(points) != len(vote):
            raise PabulibError(f"{len(vote)} projects but {len(points)} points in the vote", line)
        out["points_list"] = points
    elif election.vote_type == rules.CUMULATIVE and vote:
        raise PabulibError("a cumulative vote needs a points column", line)
    return out


def _format_row(values: Iterable[object]) -> str:
    buf = io.StringIO()
    csv.writer(buf, delimiter=";", lineterminator="\n").writerow(["" if v is None else str(v) for v in values])
    return buf.getvalue()


def dump(election: PbElection) -> str:
    """Write ``election`` as ``.pb`` text (``\\n`` line endings, no BOM)."""
    meta = dict(election.meta)
    meta["num_projects"] = str(len(election.projects))
    meta["num_votes"] = str(len(election.votes))
    out = ["META\n", _format_row(["key", "value"])]
    out += [_format_row([k, v]) for k, v in meta.items()]
    pcols = election.project_columns or _columns(election.projects, ["project_id", "cost"])
    out += ["PROJECTS\n", _format_row(pcols)]
    out += [_format_row([p.get(c) for c in pcols]) for p in election.projects]
    vcols = election.vote_columns or _columns(
        [{k: v for k, v in vote.items() if not k.endswith("_list")} for vote in election.votes],
        ["voter_id", "vote"],
    )
    if any("points_list" in v for v in election.votes) and "points" not in vcols:
        vcols = [*vcols, "points"]
    out += ["VOTES\n", _format_row(vcols)]
    for vote in election.votes:
        row = dict(vote)
        if "vote_list" in vote:
            row["vote"] = ",".join(vote["vote_list"])  # type: ignore[arg-type]
        if "points_list" in vote:
            row["points"] = ",".join(str(x) for x in vote["points_list"])  # type: ignore[attr-defined]
        out.append(_format_row([row.get(c) for c in vcols]))
    return "".join(out)


def _columns(rows: Iterable[Mapping[str, object]], first: list[str]) -> list[str]:
    cols = list(first)
    for row in rows:
        cols += [k for k in row if k not in cols]
    return cols


def _meta_int(meta: dict[str, str], key: str) -> int | None:
    value = meta.get(key, "").strip()
    if not value or value.lower() == "none":
        return None
    return _to_int(value, key, 0)


def to_rules_input(election: PbElection) -> RulesInput:
    """Projects, grouped ballots and parameters for :func:`votes.rules.select`."""
    method = election.vote_type
    if method not in rules.METHODS:
        raise PabulibError(f"unsupported vote_type {method!r}")
    projects = [
        rules.Project(p["project_id"], _to_int(p["cost"], "cost", 0), p.get("name", "")) for p in election.projects
    ]
    ballots: dict[rules.Ballot, int] = {}
    for vote in election.votes:
        ids: list[str] = vote["vote_list"]  # type: ignore[assignment]
        if method == rules.CUMULATIVE:
            pts: list[int] = vote.get("points_list", [])  # type: ignore[assignment]
            ballot = tuple(sorted(zip(ids, pts, strict=True)))
        elif method == rules.ORDINAL:
            ballot = tuple(sorted((pid, rank) for rank, pid in enumerate(ids, start=1)))
        else:
            ballot = tuple(sorted((pid, 1) for pid in ids))
        ballots[ballot] = ballots.get(ballot, 0) + 1
    meta = election.meta
    return RulesInput(
        projects=projects,
        ballots=ballots,
        method=method,
        rule=meta.get("rule") or None,
        budget=_to_int(meta["budget"], "budget", 0),
        threshold=_meta_int(meta, "min_project_score_threshold"),
        min_length=_meta_int(meta, "min_length"),
        max_length=_meta_int(meta, "max_length"),
    )
