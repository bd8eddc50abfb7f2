"""Someone with write access to the database edits, deletes and reorders audit rows; verification finds each change
at the entry where it was made. The attacker also cannot rewrite history past a signed checkpoint."""

from __future__ import annotations

import json

import pytest
from django.db import connection

from tongshu.security.audit import record
from tongshu.security.chain import ENTRY_COLUMNS, entry_hash, seal_pending
from tongshu.security.models import AuditEntry
from tongshu.security.verify import verify_chain

from .factories import attacker, sealed_log, sql

pytestmark = pytest.mark.django_db

EDITS = {
    "action": "'login.succeeded'",
    "details": "'{\"n\": 99}'",
    "created_at": "'2020-01-01 00:00:00'",
    "actor_id": "424242",
    "actor_name": "'someone_else'",
    "organization_id_value": "7",
    "organization_name": "'华容县某局'",
    "object_type": "'accounts.user'",
    "object_id": "'1'",
    "object_repr": "'改过的对象'",
    "client_ip": "'10.0.0.66'",
    "algorithm": "'sm3'",
    "entry_hash": "'" + "f" * 64 + "'",
}


def first_problem():
    result = verify_chain()
    assert not result.is_intact
    return result.first_problem


@pytest.mark.parametrize("column", sorted(EDITS))
@pytest.mark.parametrize("position", [1, 4, 6])
def test_a_direct_edit_of_any_column_is_reported_at_that_entry(column, position):
    ids = sealed_log(6)
    sql(f"UPDATE {{table}} SET {column} = {EDITS[column]} WHERE id = %s", [ids[position]])
    problem = first_problem()
    assert (problem.code, problem.seq, problem.entry_id) == ("edited", position, ids[position])
    assert f"第 {position} 号记录" in verify_chain().summary()


def test_an_edited_previous_hash_is_reported_at_that_entry():
    ids = sealed_log(6)
    sql("UPDATE {table} SET prev_hash = %s WHERE id = %s", ["e" * 64, ids[3]])
    problem = first_problem()
    assert (problem.code, problem.seq, problem.entry_id) == ("relinked", 3, ids[3])


def test_deleting_an_entry_in_the_middle_is_reported_at_the_missing_sequence_number():
    ids = sealed_log(6)
    sql("DELETE FROM {table} WHERE id = %s", [ids[3]])
    problem = first_problem()
    assert (problem.code, problem.seq) == ("deleted", 3)
    assert "第 3 号记录缺失" in problem.message


def test_deleting_the_oldest_entries_without_the_prune_is_reported():
    ids = sealed_log(6)
    sql("DELETE FROM {table} WHERE id IN (%s, %s)", [ids[1], ids[2]])
    problem = first_problem()
    assert (problem.code, problem.seq) == ("deleted", 1)


def test_deleting_the_newest_entries_is_caught_by_the_signed_checkpoint():
    ids = sealed_log(6)  # the first seal signs a checkpoint at entry 6
    sql("DELETE FROM {table} WHERE id IN (%s, %s)", [ids[5], ids[6]])
    problem = first_problem()
    assert (problem.code, problem.seq) == ("truncated", 5)
    assert "第 6 号" in problem.message and "日志只到第 4 号" in problem.message


def test_deleting_every_entry_is_caught_by_the_signed_checkpoint():
    sealed_log(3)
    sql("DELETE FROM {table}")
    problem = first_problem()
    assert problem.code == "truncated" and "日志中已没有记录" in problem.message


def test_entries_after_the_last_checkpoint_can_vanish_unseen_the_documented_window():
    sealed_log(3)  # checkpoint at 3
    extra = [record("test.late") for _ in range(2)]
    seal_pending()  # sealed as 4 and 5, but no checkpoint is due yet
    sql("DELETE FROM {table} WHERE id IN (%s, %s)", [extra[0].pk, extra[1].pk])
    assert verify_chain().is_intact  # docs/architecture.md: the window in which a deletion cannot be seen


def test_swapping_the_order_of_two_entries_is_reported_at_the_first():
    ids = sealed_log(6)
    with attacker() as cursor:
        cursor.execute(f"UPDATE {AuditEntry._meta.db_table} SET seq = -1 WHERE id = %s", [ids[3]])
        cursor.execute(f"UPDATE {AuditEntry._meta.db_table} SET seq = 3 WHERE id = %s", [ids[4]])
        cursor.execute(f"UPDATE {AuditEntry._meta.db_table} SET seq = 4 WHERE id = %s", [ids[3]])
    problem = first_problem()
    assert (problem.code, problem.seq, problem.entry_id) == ("relinked", 3, ids[4])


def test_swapping_the_contents_of_two_entries_is_reported_at_the_first():
    ids = sealed_log(6)
    rows = {row["id"]: row for row in AuditEntry.objects.filter(pk__in=[ids[2], ids[3]]).values()}
    for target, source in ((ids[2], ids[3]), (ids[3], ids[2])):
        sql(
            "UPDATE {table} SET actor_name = %s, details = %s WHERE id = %s",
            [rows[source]["actor_name"], json.dumps(rows[source]["details"]), target],
        )
    problem = first_problem()
    assert (problem.code, problem.seq, problem.entry_id) == ("edited", 2, ids[2])


def test_rewriting_the_chain_after_an_edit_is_caught_by_the_signed_checkpoint():
    """An attacker edits entry 2 and recomputes every later hash: the chain is consistent again, but entry 6 no longer
    has the hash that the signed checkpoint holds."""
    ids = sealed_log(6)
    sql("UPDATE {table} SET action = 'nothing.happened' WHERE id = %s", [ids[2]])
    rows = list(AuditEntry.objects.sealed().order_by("seq").values(*ENTRY_COLUMNS, "prev_hash", "entry_hash"))
    prev = rows[0]["entry_hash"]
    for row in rows[1:]:
        digest = entry_hash(row, prev)
        sql("UPDATE {table} SET prev_hash = %s, entry_hash = %s WHERE id = %s", [prev, digest, row["id"]])
        prev = digest
    problem = first_problem()
    assert (problem.code, problem.seq, problem.entry_id) == ("rewritten", 6, ids[6])


def test_taking_an_entry_out_of_the_chain_is_reported():
    ids = sealed_log(6)
    sql("UPDATE {table} SET seq = NULL WHERE id = %s", [ids[4]])
    seal_pending()  # the sealer never re-chains a row that already carries a hash
    result = verify_chain()
    codes = {(problem.code, problem.seq) for problem in result.problems}
    assert ("deleted", 4) in codes
    assert any(problem.code == "unchained" and problem.entry_id == ids[4] for problem in result.problems)


def test_a_forged_checkpoint_line_is_reported(settings):
    sealed_log(3)
    path = settings.AUDIT_CHECKPOINT_FILE
    line = json.loads(path.read_text())
    line["hash"] = "0" * 64
    path.write_text(json.dumps(line) + "\n")
    problem = first_problem()
    assert problem.code == "checkpoint_forged" and "签名无效" in problem.message


def test_a_checkpoint_file_that_lost_lines_is_reported(settings):
    sealed_log(3)
    settings.AUDIT_CHECKPOINT_FILE.unlink()
    problem = first_problem()
    assert (problem.code, problem.seq) == ("checkpoint_missing", 3)


@pytest.mark.postgres
def test_on_postgresql_a_trigger_refuses_changes_to_sealed_entries():
    if connection.vendor != "postgresql":
        pytest.skip("the guard trigger exists on PostgreSQL only")
    from django.db import DatabaseError, transaction

    ids = sealed_log(2)
    for statement in (
        f"UPDATE {AuditEntry._meta.db_table} SET action = 'x' WHERE id = {ids[1]}",
        f"DELETE FROM {AuditEntry._meta.db_table} WHERE id = {ids[1]}",
    ):
        with pytest.raises(DatabaseError, match="audit"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement)
    pending = record("test.pending")
    with (
        pytest.raises(DatabaseError, match="only be sealed"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(f"UPDATE {AuditEntry._meta.db_table} SET action = 'x' WHERE id = {pending.pk}")
    assert verify_chain().is_intact
