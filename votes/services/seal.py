"""The sealed head of the public ballot ledger's hash chain (its rows are read in votes.results)."""

from __future__ import annotations

import hashlib
import time

from django.db import connection, transaction

from lib.queue import task_send_on_commit
from portal import metrics
from portal.audit.services import audit_decision, audit_snapshot
from portal.streaming import streaming_transaction
from votes import ledger, tasks
from votes.models import Entry, Tally
from votes.results import ledger_ballots, results_page_invalidate_on_commit
from votes.services.errors import TallyError
from votes.services.locks import tally_lock


def _ledger_head_sql(campaign_id: int) -> tuple[str, int]:
    """The ledger head and the number of ballots, read in one sorted pass on PostgreSQL.

    Same format as ``ledger.chain``, without its per-ballot tuples and sorts: PostgreSQL
    returns the choices in ledger order (receipt hash, COLLATE "C" = byte order, which is
    code point order for the hex hashes), the canonical text is built per ballot here
    (choices sorted by external id only when a ballot has several) and hashed.
    """
    sql = """
        SELECT b.receipt_hash, c.entry_id, c.points, b.annulled_reason
        FROM votes_ballot b
        LEFT JOIN votes_ballotchoice c ON c.ballot_id = b.id AND c.campaign_id = b.campaign_id
        WHERE b.campaign_id = %s
        ORDER BY b.receipt_hash COLLATE "C"
    """
    external_id = dict(Entry.objects.filter(campaign_id=campaign_id).values_list("pk", "external_id"))
    sha256 = hashlib.sha256
    head = ledger.genesis(campaign_id)
    count = 0
    annulled = 0
    current = ""
    reason = ""
    choices: list[tuple[str, int]] = []

    def link() -> None:
        nonlocal head, annulled
        if not choices:
            text = ""
        elif len(choices) == 1:
            text = f"{choices[0][0]}:{choices[0][1]}"
        else:
            text = ",".join(f"{e}:{p}" for e, p in sorted(choices))
        if reason:  # annulled: chained with its reason and no choices (ledger.link), not counted
            text = f"!{reason}"
            annulled += 1
        head = sha256((head + current + text).encode()).hexdigest()

    with streaming_transaction(using=connection.alias):
        with connection.cursor() as cursor:
            # One sort of every ballot: in memory rather than on disk, and no JIT
            # compilation (about 0.8 s on this plan) for a query that runs once.
            cursor.execute("SET LOCAL work_mem = '64MB'")
            cursor.execute("SET LOCAL jit = off")
        with connection.chunked_cursor() as cursor:
            cursor.execute(sql, [campaign_id])
            while rows := cursor.fetchmany(20000):
                for receipt, entry_id, points, annulled_reason in rows:
                    if receipt != current:
                        if receipt < current:
                            raise TallyError(f"ballot {count + 1}: receipt hashes must be strictly ascending")
                        if count:
                            link()
                        current, choices, reason = receipt, [], annulled_reason
                        count += 1
                    if entry_id is not None:
                        choices.append((external_id[entry_id], points))
    if count:
        link()
    return head, count - annulled


def ledger_head_compute(campaign_id: int) -> tuple[str, int]:
    """``(head, ballots counted)`` of the campaign's ledger as it stands in the database
    (annulled ballots are chained but not counted)."""
    if connection.vendor == "postgresql":
        return _ledger_head_sql(campaign_id)
    counted = 0
    head = ledger.genesis(campaign_id)
    for receipt, choices, reason in ledger_ballots(campaign_id):
        head = ledger.link(head, receipt, sorted(choices), reason)
        counted += not reason
    return head, counted


def ledger_seal(*, campaign_id: int) -> str:
    """Compute the ledger head of the campaign's final tally and store it; return it.

    Runs after the final tally (its own task: the hash chain over every ballot is not
    counting, and the count should not wait for it). Idempotent: a sealed tally keeps
    its head. Refuses when the ballots no longer match the count (recount first).
    """
    started = time.monotonic()
    # One transaction holds the lock (transaction-level: see locks.tally_lock) from the
    # check of the tally to the stored head.
    with transaction.atomic():
        tally_lock(campaign_id, Tally.Kind.FINAL)
        tally = Tally.objects.final_done().filter(campaign_id=campaign_id).first()
        if tally is None:
            raise TallyError(f"campaign {campaign_id} has no finished final tally to seal")
        if tally.ledger_head:
            return tally.ledger_head
        head, ballots = ledger_head_compute(campaign_id)
        if ballots != tally.ballots_counted:
            raise TallyError(
                f"campaign {campaign_id}: {ballots} ballots in the ledger, {tally.ballots_counted} counted; recount"
            )
        sealed = Tally.objects.filter(pk=tally.pk, computed_at=tally.computed_at).update(ledger_head=head)
        if sealed:
            ballot_box_rewrite(campaign_id=campaign_id)
            before = audit_snapshot(tally)
            tally.ledger_head = head
            audit_decision(actor=None, name="ledger_seal", obj=tally, before=before)
        results_page_invalidate_on_commit(campaign_id=campaign_id)  # the page shows the head
    metrics.ledger_seal_observe(seconds=time.monotonic() - started, ballots=ballots)
    return head


# The rows of the box as written while the vote was open carry the order of casting:
# their physical place, the transaction id they share with their participation (xmin)
# and the choices' sequential ids. Rewritten in receipt order in one transaction, every
# ballot gets the same new xmin, a place and choice ids that say nothing of who voted
# when (docs/threat-model.md; VACUUM then clears the old versions). The ballots' ids
# and receipt hashes, and so the ledger and the sealed links, are unchanged.
_BOX_REWRITE_SQL = [
    "CREATE TEMP TABLE box_ballots AS SELECT * FROM votes_ballot WHERE campaign_id = %(c)s",
    "CREATE TEMP TABLE box_choices AS"
    " SELECT ballot_id, campaign_id, entry_id, points FROM votes_ballotchoice WHERE campaign_id = %(c)s",
    "DELETE FROM votes_ballotchoice WHERE campaign_id = %(c)s",
    "DELETE FROM votes_ballot WHERE campaign_id = %(c)s",
    "INSERT INTO votes_ballot (id, campaign_id, cast_on, receipt_hash, annulled_reason)"
    " SELECT id, campaign_id, cast_on, receipt_hash, annulled_reason"
    ' FROM box_ballots ORDER BY receipt_hash COLLATE "C"',
    "INSERT INTO votes_ballotchoice (ballot_id, campaign_id, entry_id, points)"
    " SELECT c.ballot_id, c.campaign_id, c.entry_id, c.points"
    " FROM box_choices c JOIN box_ballots b ON b.id = c.ballot_id"
    ' ORDER BY b.receipt_hash COLLATE "C", c.points, c.entry_id',
    # Dropped here, not at commit: one transaction may seal more than one vote (a
    # recount sealed again).
    "DROP TABLE box_ballots, box_choices",
]


def ballot_box_rewrite(*, campaign_id: int) -> None:
    """Rewrite a closed campaign's ballots and choices in receipt order (PostgreSQL; the
    embedded SQLite of development keeps its rows). Run inside the seal's transaction."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for statement in _BOX_REWRITE_SQL:
            cursor.execute(statement, {"c": campaign_id})


def ledger_seal_enqueue(*, campaign_id: int) -> None:
    """Ask a worker to seal the ledger once the final tally's transaction commits."""
    task_send_on_commit(tasks.ledger_seal, campaign_id)


def ledger_seal_request(*, campaign, actor) -> bool:
    """An official asks for the ledger to be sealed again (the seal after the final tally
    failed or never ran): queued for a worker once committed, audited. False when there is
    nothing to seal (no finished final tally, or it is sealed already)."""
    with transaction.atomic():
        tally = Tally.objects.final_done().filter(campaign_id=campaign.pk).first()
        if tally is None or tally.ledger_head:
            return False
        audit_decision(actor=actor, name="ledger_seal_request", obj=campaign, before=None)
        ledger_seal_enqueue(campaign_id=campaign.pk)
    return True
