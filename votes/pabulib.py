"""Read and write pabulib ``.pb`` files (https://pabulib.org, arXiv 2305.11035).

A file has three sections, ``META``, ``PROJECTS`` and ``VOTES``, each a section name
line, a header line and ``;``-separated rows. Fields follow CSV quoting (``"a;b"``,
doubled quotes inside); vote lists are comma-separated project ids, in rank order for
ordinal ballots, with a parallel ``points`` list for cumulative ones. Real files come
with a UTF-8 BOM, Windows line endings and optional columns; all of that is accepted.

Leniently and loudly
--------------------
Cities publish what their systems produced, and :func:`parse` reads it as they meant
it, listing each departure from the format in ``PbElection.irregularities`` (with its
line): nothing is dropped silently, and only what cannot be counted is refused
(:class:`PabulibError`, with the line and a ``code``).

* Money is kept exactly (``Decimal``): a fractional budget or cost (Kraków's and
  Warszawa's sub-areas) is an irregularity, not an error; :func:`to_rules_input`
  counts in kopecks then (``votes.ledger.money_scale``).
* A vote that names a project twice: once in an approval-like vote, its points
  summed in a cumulative vote (Częstochowa 2020's ``579,579,579,579;1,1,1,1`` is
  4 points), its first (best) rank kept in a ranking.
* A repeated ``voter_id`` keeps both votes (the importer numbers the second one).
* A row with fewer fields than the header gets empty trailing fields; one with extra
  empty trailing fields loses them.
* Refused: no META/PROJECTS/VOTES, no budget or cost, text where a number must be, a
  vote naming an unknown project, points that do not match the vote, negative money.

Rules written in words
----------------------
:func:`resolve_rule` turns META ``rule`` plus what an official chooses at import (a
``<name>.portal.json`` sidecar next to ``<name>.pb``, or the import command's options) into
a rule the portal counts: ``greedy-custom`` with Poznań's reserve sentence becomes
``greedy-reserve`` with its share; ``greedy-exclusive`` becomes ``greedy`` with
exclusivity groups (from the sidecar, the options, or a comment that names the
projects); ``unknown`` needs the official's rule and is flagged.

:func:`dump` writes a file that ``pabutools.election.parse_pabulib`` reads back to the
same election; :func:`to_rules_input` turns a parsed election into the inputs of
:mod:`votes.rules`.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from pathlib import Path
from typing import IO, Any

from votes import ledger, rules

SECTIONS = ("meta", "projects", "votes")
SIDECAR_SUFFIX = ".portal.json"
# Per kind of irregularity, the first ones are listed one by one, the rest counted.
IRREGULARITIES_LISTED = 10


class PabulibError(ValueError):
    """A ``.pb`` input that cannot be counted; the message names the line, ``code`` the kind."""

    def __init__(self, message: str, line: int | None = None, code: str = "malformed") -> None:
        self.line = line
        self.code = code
        super().__init__(f"line {line}: {message}" if line is not None else message)


@dataclass(frozen=True)
class Irregularity:
    """A departure from the format that the import coped with, and how."""

    code: str
    message: str
    line: int | None = None
    # The message's values, so pages can say it in the reader's language.
    params: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "line": self.line, "params": self.params}

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line is not None else self.message


class _Irregularities:
    """Collects irregularities, listing the first few of each kind and counting the rest."""

    def __init__(self) -> None:
        self.items: list[Irregularity] = []
        self.counts: dict[str, int] = {}

    def add(self, code: str, message: str, line: int | None = None, **params: Any) -> None:
        self.counts[code] = self.counts.get(code, 0) + 1
        if self.counts[code] <= IRREGULARITIES_LISTED:
            self.items.append(Irregularity(code, message, line, params))

    def result(self) -> list[Irregularity]:
        out = list(self.items)
        for code, count in self.counts.items():
            if count > IRREGULARITIES_LISTED:
                more = count - IRREGULARITIES_LISTED
                out.append(Irregularity(code, f"… and {more} more like these ({code})", None, {"more": more}))
        return out


@dataclass
class PbElection:
    meta: dict[str, str] = field(default_factory=dict)
    # Every column of every row, as text, in file order.
    projects: list[dict[str, str]] = field(default_factory=list)
    # Every column of every row; ``vote`` is split into ``vote_list`` (ids, in rank
    # order for ordinal ballots) and ``points`` into ``points_list`` (ints) if present,
    # both as the city meant them (a repeated project merged, see the module docstring).
    votes: list[dict[str, object]] = field(default_factory=list)
    project_columns: list[str] = field(default_factory=list)
    vote_columns: list[str] = field(default_factory=list)
    irregularities: list[Irregularity] = field(default_factory=list)
    # The line each META key and project was read from, for messages.
    meta_lines: dict[str, int] = field(default_factory=dict)
    project_lines: dict[str, int] = field(default_factory=dict)

    @property
    def vote_type(self) -> str:
        return self.meta.get("vote_type", rules.APPROVAL)

    @property
    def budget(self) -> Decimal:
        return _to_decimal(self.meta["budget"], "budget", self.meta_lines.get("budget"))

    def costs(self) -> dict[str, Decimal]:
        return {
            p["project_id"]: _to_decimal(p["cost"], "cost", self.project_lines.get(p["project_id"]))
            for p in self.projects
        }


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
    # Money is counted in units of 1/scale (1: whole units, 100: kopecks/cents).
    scale: int = 1


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
            raise PabulibError(f"the file is not UTF-8 ({exc.reason})", code="not_utf8") from exc
    return data.removeprefix("\ufeff")


def _split_list(value: str) -> list[str]:
    return [x.strip() for x in value.split(",") if x.strip()]


def _to_decimal(value: str, what: str, line: int | None) -> Decimal:
    """A number as cities write it: "1331751.11", "1331751,11", "1 331 751"."""
    text = value.strip().replace("\u00a0", "").replace(" ", "").replace(",", ".")
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise PabulibError(f"{what} {value!r} is not a number", line, "not_a_number") from None
    if not number.is_finite():
        raise PabulibError(f"{what} {value!r} is not a number", line, "not_a_number")
    return number


def _to_int(value: str, what: str, line: int | None) -> int:
    number = _to_decimal(value, what, line)
    if number != number.to_integral_value():
        raise PabulibError(f"{what} {value!r} is not a whole number", line, "not_whole")
    return int(number)


def _fit_row(row: list[str], header: list[str], section: str, line: int, notes: _Irregularities) -> list[str]:
    """A row with the header's number of fields: missing trailing fields are empty,
    extra empty trailing fields are dropped; anything else cannot be read."""
    if len(row) == len(header):
        return row
    if len(row) < len(header):
        notes.add(
            "short_row",
            f"{section.upper()} row has {len(row)} fields, the header has {len(header)}: the missing ones are empty",
            line,
            section=section.upper(),
        )
        return row + [""] * (len(header) - len(row))
    if all(not cell.strip() for cell in row[len(header) :]):
        notes.add(
            "extra_empty_fields",
            f"{section.upper()} row ends with empty fields the header does not have",
            line,
            section=section.upper(),
        )
        return row[: len(header)]
    raise PabulibError(
        f"{section.upper()} row has {len(row)} fields, the header has {len(header)}", line, "field_count"
    )


def parse(source: str | bytes | Path | IO[str] | IO[bytes]) -> PbElection:
    """Parse ``.pb`` text (or bytes, a path or an open file), leniently (module docstring)."""
    text = _read_text(source)
    # csv handles quoted ';' and '""'; line numbers come from the reader itself, so a
    # quoted field spanning lines still reports where the row starts.
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=";")
    election = PbElection()
    notes = _Irregularities()
    section: str | None = None
    header: list[str] | None = None
    seen: set[str] = set()
    project_ids: set[str] = set()
    voter_ids: set[str] = set()
    line = 0
    try:
        for row in reader:
            line = reader.line_num
            if not row or all(not cell.strip() for cell in row):
                continue
            first = row[0].strip().lower()
            if first in SECTIONS and len([c for c in row if c.strip()]) == 1:
                if first in seen:
                    raise PabulibError(f"section {first.upper()} appears twice", line, "section_twice")
                if section is None and first != "meta":
                    raise PabulibError("the file must start with a META section", line, "no_meta")
                seen.add(first)
                section, header = first, None
                continue
            if section is None:
                raise PabulibError("the file must start with a META section", line, "no_meta")
            if header is None:
                header = [c.strip() for c in row]
                while len(header) > 1 and not header[-1]:
                    header.pop()  # "project_id;cost;" : a trailing separator names no column
                if section == "meta" and [h.lower() for h in header[:2]] != ["key", "value"]:
                    raise PabulibError("the META header must be 'key;value'", line, "meta_header")
                if section == "projects":
                    if "project_id" not in header or "cost" not in header:
                        raise PabulibError("PROJECTS needs project_id and cost columns", line, "projects_header")
                    election.project_columns = header
                if section == "votes":
                    if "voter_id" not in header or "vote" not in header:
                        raise PabulibError("VOTES needs voter_id and vote columns", line, "votes_header")
                    election.vote_columns = header
                continue
            if section == "meta":
                key = row[0].strip()
                if len(row) < 2:
                    notes.add("meta_without_value", f"META key {key!r} has no value: ignored", line, key=key)
                    continue
                # A value with an unquoted ';' inside (a comment) is its fields joined back.
                election.meta[key] = ";".join(row[1:]).strip() if len(row) > 2 else row[1].strip()
                election.meta_lines[key] = line
                continue
            row = _fit_row(row, header, section, line, notes)
            values = dict(zip(header, (c.strip() for c in row), strict=True))
            if section == "projects":
                pid = values["project_id"]
                if not pid:
                    raise PabulibError("empty project_id", line, "empty_project_id")
                if pid in project_ids:
                    raise PabulibError(f"duplicate project_id {pid!r}", line, "duplicate_project")
                cost = _to_decimal(values["cost"], f"cost of project {pid!r}", line)
                if cost < 0:
                    raise PabulibError(f"project {pid!r} has a negative cost", line, "negative_cost")
                if cost != cost.to_integral_value():
                    notes.add(
                        "fractional_cost",
                        f"project {pid!r} costs {values['cost']}: kept exactly",
                        line,
                        project=pid,
                        value=values["cost"],
                    )
                project_ids.add(pid)
                election.project_lines[pid] = line
                election.projects.append(values)
            else:
                election.votes.append(_parse_vote(values, election, project_ids, line, notes))
                vid = values["voter_id"]
                if vid in voter_ids:
                    notes.add(
                        "duplicate_voter_id",
                        f"voter_id {vid!r} appears again: both votes are kept, the second under a numbered id",
                        line,
                        voter=vid,
                    )
                voter_ids.add(vid)
    except csv.Error as exc:
        raise PabulibError(f"unreadable CSV ({exc})", reader.line_num, "csv") from exc
    for name in SECTIONS:
        if name not in seen:
            raise PabulibError(f"missing {name.upper()} section", code="missing_section")
    if "budget" not in election.meta or election.meta["budget"].lower() in ("", "none"):
        raise PabulibError("META has no budget", code="no_budget")
    budget_line = election.meta_lines.get("budget")
    budget = _to_decimal(election.meta["budget"], "budget", budget_line)
    if budget < 0:
        raise PabulibError("the budget is negative", budget_line, "negative_budget")
    if budget != budget.to_integral_value():
        notes.add(
            "fractional_budget",
            f"budget {election.meta['budget']} is not a whole number: kept exactly",
            budget_line,
            value=election.meta["budget"],
        )
    election.irregularities = notes.result()
    return election


def _parse_vote(
    values: dict[str, str], election: PbElection, project_ids: set[str], line: int, notes: _Irregularities
) -> dict[str, object]:
    raw = values["vote"]
    vote = [] if raw.lower() == "none" else _split_list(raw)
    for pid in vote:
        if pid not in project_ids:
            raise PabulibError(f"vote names unknown project {pid!r}", line, "unknown_project")
    out: dict[str, object] = dict(values)
    points: list[int] | None = None
    if "points" in values and values["points"] and values["points"].lower() != "none":
        points = [_to_int(x, "points", line) for x in _split_list(values["points"])]
        if len(points) != len(vote):
            raise PabulibError(f"{len(vote)} projects but {len(points)} points in the vote", line, "points_mismatch")
        if any(p < 0 for p in points):
            raise PabulibError("a vote gives negative points", line, "negative_points")
    elif election.vote_type == rules.CUMULATIVE and vote:
        raise PabulibError("a cumulative vote needs a points column", line, "points_missing")
    if len(set(vote)) != len(vote):
        vote, points = _merge_repeats(vote, points, election.vote_type, line, notes)
    out["vote_list"] = vote
    if points is not None:
        out["points_list"] = points
    return out


def _merge_repeats(
    vote: list[str], points: list[int] | None, vote_type: str, line: int, notes: _Irregularities
) -> tuple[list[str], list[int] | None]:
    """A vote that names a project twice, as the city meant it (module docstring)."""
    repeated = sorted({pid for pid in vote if vote.count(pid) > 1})
    merged: dict[str, int] = {}
    for i, pid in enumerate(vote):
        if pid in merged:
            if vote_type == rules.CUMULATIVE and points is not None:
                merged[pid] += points[i]
        else:
            merged[pid] = points[i] if points is not None else 1
    if vote_type == rules.CUMULATIVE:
        how = "its points summed"
    elif vote_type == rules.ORDINAL:
        how = "its first (best) rank kept"
    else:
        how = "counted once"
    notes.add(
        "repeated_project",
        f"the vote names {', '.join(repeated)} more than once: {how}",
        line,
        projects=", ".join(repeated),
        vote_type=vote_type,
    )
    ids = list(merged)
    if points is None:
        return ids, None
    if vote_type == rules.CUMULATIVE:
        return ids, [merged[pid] for pid in ids]
    first: dict[str, int] = {}
    for pid, pts in zip(vote, points, strict=True):
        first.setdefault(pid, pts)
    return ids, [first[pid] for pid in ids]


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


def _meta_threshold(meta: dict[str, str], lines: dict[str, int]) -> int | None:
    """``min_project_score_threshold`` as the smallest whole score that passes it."""
    value = meta.get("min_project_score_threshold", "").strip()
    if not value or value.lower() == "none":
        return None
    return math.ceil(_to_decimal(value, "min_project_score_threshold", lines.get("min_project_score_threshold")))


def _meta_int(meta: dict[str, str], key: str, lines: dict[str, int]) -> int | None:
    value = meta.get(key, "").strip()
    if not value or value.lower() == "none":
        return None
    return _to_int(value, key, lines.get(key))


def to_rules_input(election: PbElection) -> RulesInput:
    """Projects, grouped ballots and parameters for :func:`votes.rules.select`.

    Money is counted in whole units, or in hundredths when the budget or a cost has a
    fractional part (``votes.ledger.money_scale``, the tally service's choice too).
    """
    method = election.vote_type
    if method not in rules.METHODS:
        raise PabulibError(
            f"unsupported vote_type {method!r}", election.meta_lines.get("vote_type"), "unsupported_vote_type"
        )
    costs = election.costs()
    budget = election.budget
    scale = ledger.money_scale([budget, *costs.values()])
    for what, amount in [("budget", budget), *((f"cost of project {pid!r}", c) for pid, c in costs.items())]:
        if amount * scale != (amount * scale).to_integral_value():
            raise PabulibError(f"{what} {amount} has more than two decimal places", None, "money_precision")
    projects = [
        rules.Project(p["project_id"], int(costs[p["project_id"]] * scale), p.get("name", ""))
        for p in election.projects
    ]
    ballots: dict[rules.Ballot, int] = {}
    for vote in election.votes:
        ids: list[str] = vote["vote_list"]  # type: ignore[assignment]
        if method == rules.CUMULATIVE:
            pts: list[int] = vote.get("points_list", [])  # type: ignore[assignment]
            ballot = tuple(sorted((pid, p) for pid, p in zip(ids, pts, strict=True) if p > 0))
        elif method == rules.ORDINAL:
            ballot = tuple(sorted((pid, rank) for rank, pid in enumerate(ids, start=1)))
        else:
            ballot = tuple(sorted((pid, 1) for pid in ids))
        ballots[ballot] = ballots.get(ballot, 0) + 1
    meta = election.meta
    lines = election.meta_lines
    return RulesInput(
        projects=projects,
        ballots=ballots,
        method=method,
        rule=meta.get("rule") or None,
        budget=int(budget * scale),
        threshold=_meta_threshold(meta, lines),
        min_length=_meta_int(meta, "min_length", lines),
        max_length=_meta_int(meta, "max_length", lines),
        scale=scale,
    )


# ------------------------------------------------------------ rules written in words

# Poznań's greedy-custom comment: "... if the remaining budget is enough to fund at
# least 80% of that project, we fund it as well with the external reserve funds".
_RESERVE_SENTENCE = re.compile(
    r"at least (\d+(?:[.,]\d+)?)\s*%\s*of (?:that|the|this) project[^.]*reserve", re.IGNORECASE | re.DOTALL
)
# Warszawa's greedy-exclusive comment: "projects 773 and 153 both targeted ... and
# could not be implemented simultaneously".
_EXCLUSIVE_SENTENCE = re.compile(
    r"projects\s+([\w./-]+(?:\s*,\s*[\w./-]+)*)\s+and\s+([\w./-]+)\b[^#]{0,300}?"
    r"(?:could|can)\s*not\s+be\s+(?:implemented|carried out|funded)\s+(?:simultaneously|together)",
    re.IGNORECASE | re.DOTALL,
)


@dataclass
class RuleChoice:
    """How a file is counted: what the file says plus what an official chose."""

    rule: str
    file_rule: str
    reserve_share: Fraction | None = None
    groups: dict[str, str] = field(default_factory=dict)
    tie_break: str = rules.TIE_LOWER_ID
    tie_seed: str = ""
    # True when the rule was not the file's own (unknown, or written in words).
    flagged: bool = False
    notes: list[Irregularity] = field(default_factory=list)


def sidecar_path(pb_path: Path) -> Path:
    """Where an official's choices for ``<name>.pb`` are kept: ``<name>.portal.json``."""
    return pb_path.with_name(pb_path.stem + SIDECAR_SUFFIX)


def read_sidecar(path: Path) -> dict[str, Any]:
    """An official's choices for one file (``<name>.portal.json``): ``rule``,
    ``reserve_share``, ``exclusive`` (lists of project ids that exclude each other),
    ``tie_break``, ``tie_seed`` and ``source`` (where the choice comes from)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise PabulibError(f"{path.name}: unreadable choices file ({exc})", code="sidecar") from exc
    if not isinstance(data, dict):
        raise PabulibError(f"{path.name}: the choices file must hold a JSON object", code="sidecar")
    unknown = sorted(set(data) - {"rule", "reserve_share", "exclusive", "tie_break", "tie_seed", "source"})
    if unknown:
        raise PabulibError(f"{path.name}: unknown keys {unknown}", code="sidecar")
    return data


def exclusive_groups(sets: Sequence[Sequence[str]], known: set[str]) -> dict[str, str]:
    """Groups from lists of mutually exclusive project ids: the label is the first id."""
    groups: dict[str, str] = {}
    for ids in sets:
        ids = [str(x).strip() for x in ids if str(x).strip()]
        if len(ids) < 2:
            raise PabulibError(f"an exclusive set needs two projects or more, got {ids}", code="exclusive_set")
        missing = [pid for pid in ids if pid not in known]
        if missing:
            raise PabulibError(f"exclusive projects {missing} are not in the file", code="exclusive_unknown")
        taken = [pid for pid in ids if pid in groups]
        if taken:
            raise PabulibError(f"project {taken[0]} is in two exclusive sets", code="exclusive_twice")
        for pid in ids:
            groups[pid] = f"excl-{ids[0]}"[:64]
    return groups


def resolve_rule(
    election: PbElection,
    *,
    rule: str | None = None,
    reserve_share: Fraction | None = None,
    exclusive: Sequence[Sequence[str]] = (),
    tie_break: str | None = None,
    tie_seed: str = "",
    sidecar: dict[str, Any] | None = None,
) -> RuleChoice:
    """The rule the portal counts a file with (module docstring); options win over the
    sidecar, which wins over what the comment says. Raises PabulibError (code
    ``rule_needs_choice``) when only an official can say how the file was counted."""
    side = sidecar or {}
    file_rule = election.meta.get("rule", "").strip() or rules.GREEDY
    comment = election.meta.get("comment", "")
    line = election.meta_lines.get("rule")
    known = {p["project_id"] for p in election.projects}
    chosen_rule = rule or side.get("rule")
    share = (
        reserve_share
        if reserve_share is not None
        else (Fraction(str(side["reserve_share"])) if side.get("reserve_share") is not None else None)
    )
    sets = list(exclusive) or list(side.get("exclusive") or [])
    choice = RuleChoice(
        rule=file_rule,
        file_rule=file_rule,
        tie_break=tie_break or side.get("tie_break") or rules.TIE_LOWER_ID,
        tie_seed=tie_seed or side.get("tie_seed") or "",
    )
    if choice.tie_break not in rules.TIE_BREAKS:
        raise PabulibError(
            f"unknown tie-break {choice.tie_break!r}; use one of {', '.join(rules.TIE_BREAKS)}", code="tie_break"
        )
    source = f" ({side['source']})" if side.get("source") else ""
    if chosen_rule:
        if chosen_rule not in rules.RULES:
            raise PabulibError(
                f"unknown rule {chosen_rule!r}; the portal counts {', '.join(rules.RULES)}", code="unsupported_rule"
            )
        choice.rule = chosen_rule
        if chosen_rule != file_rule:
            choice.flagged = True
            choice.notes.append(
                Irregularity(
                    "rule_chosen",
                    f"the file's rule is {file_rule!r}; counted with {chosen_rule!r}, chosen at import{source}",
                    line,
                    {"file_rule": file_rule, "rule": chosen_rule},
                )
            )
    elif file_rule in rules.RULES:
        choice.rule = file_rule
    elif file_rule == "greedy-custom":
        found = _RESERVE_SENTENCE.search(comment)
        if found is None and share is None:
            raise PabulibError(
                "the rule 'greedy-custom' is written only in words and its comment names no reserve: "
                "choose the rule at import (--rule)",
                line,
                "rule_needs_choice",
            )
        choice.rule = rules.GREEDY_RESERVE
        choice.flagged = True
        if share is None:
            share = Fraction(found.group(1).replace(",", ".")) / 100  # type: ignore[union-attr]
        choice.notes.append(
            Irregularity(
                "rule_in_words",
                f"'greedy-custom' read from the comment as greedy with a reserve: the next project is funded "
                f"from a reserve if the budget left covers {float(share) * 100:g} % of its cost",
                line,
                {"file_rule": file_rule, "share": f"{float(share) * 100:g}"},
            )
        )
    elif file_rule == "greedy-exclusive":
        choice.rule = rules.GREEDY
        choice.flagged = True
        if not sets:
            sets = [
                [a.strip() for a in m.group(1).split(",")] + [m.group(2)] for m in _EXCLUSIVE_SENTENCE.finditer(comment)
            ]
            sets = [s for s in sets if all(pid in known for pid in s)]
            how = "read from the comment"
        else:
            how = f"given at import{source}"
        if sets:
            listed = "; ".join(", ".join(s) for s in sets)
            choice.notes.append(
                Irregularity(
                    "rule_in_words",
                    f"'greedy-exclusive' counted as greedy with exclusive projects {listed}, {how}",
                    line,
                    {"file_rule": file_rule, "projects": listed},
                )
            )
        else:
            choice.notes.append(
                Irregularity(
                    "exclusive_unnamed",
                    "'greedy-exclusive' names no exclusive projects: counted as plain greedy "
                    "(give them with --exclusive)",
                    line,
                )
            )
    else:
        raise PabulibError(
            f"the file's rule is {file_rule!r}: choose the rule the city used at import (--rule)",
            line,
            "rule_needs_choice",
        )
    if sets:
        choice.groups = exclusive_groups(sets, known)
    if choice.rule == rules.GREEDY_RESERVE:
        if share is None:
            raise PabulibError("greedy-reserve needs a reserve share (--reserve-share)", code="reserve_share")
        if not 0 < share <= 1:
            raise PabulibError(f"the reserve share must be above 0 and at most 1, got {share}", code="reserve_share")
        choice.reserve_share = share
    if choice.tie_break != rules.TIE_LOWER_ID:
        choice.notes.append(
            Irregularity(
                "tie_break_chosen",
                f"ties broken by {choice.tie_break!r}, chosen at import{source}",
                None,
                {"tie_break": choice.tie_break},
            )
        )
    return choice


def load_choice(path: Path, **options: Any) -> tuple[PbElection, RuleChoice]:
    """Parse ``path`` and resolve its rule with its sidecar (if any) and ``options``."""
    election = parse(path)
    side = sidecar_path(path)
    sidecar = read_sidecar(side) if side.is_file() else None
    return election, resolve_rule(election, sidecar=sidecar, **options)


def count(election: PbElection, choice: RuleChoice) -> tuple[RulesInput, rules.Outcome]:
    """Count a parsed election as the portal would after importing it (same rule,
    groups, ties, threshold and money scale as the tally service)."""
    data = to_rules_input(election)
    scores = rules.tally_scores(data.method, data.ballots, projects=[p.id for p in data.projects])
    try:
        outcome = rules.select(
            choice.rule,
            data.projects,
            scores,
            budget=data.budget,
            ballots=data.ballots,
            method=data.method,
            k=len(data.projects) if choice.rule == rules.TOP_K else None,
            threshold=data.threshold if choice.rule in rules.GREEDY_RULES else None,
            groups=choice.groups,
            tie_break=choice.tie_break,
            tie_seed=choice.tie_seed,
            reserve_share=choice.reserve_share,
            money_unit=data.scale,
            ordinal_max_length=data.max_length if data.method == rules.ORDINAL else None,
        )
    except rules.RulesError as exc:
        raise PabulibError(str(exc), code=exc.code) from exc
    return data, outcome
