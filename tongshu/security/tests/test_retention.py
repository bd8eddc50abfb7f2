"""Retention: entries stay at least 180 days (网络安全法 第二十一条); the prune keeps the chain verifiable."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from tongshu.core.errors import Conflict
from tongshu.security.chain import seal_pending
from tongshu.security.checkpoints import read_checkpoint_file
from tongshu.security.models import AuditEntry, CheckpointReason
from tongshu.security.retention import prune_expired, retention_days
from tongshu.security.verify import verify_chain

from .factories import append, sql

pytestmark = pytest.mark.django_db


@pytest.fixture
def log_over_time():
    """Three entries on day 0, two on day 100; returns day 0."""
    start = timezone.now() - timedelta(days=400)
    with time_machine.travel(start, tick=False):
        append(3, action="old.event")
        seal_pending()
    with time_machine.travel(start + timedelta(days=100), tick=False):
        append(2, action="newer.event")
        seal_pending()
    return start


def test_retention_is_never_shorter_than_180_days(settings):
    settings.AUDIT_RETENTION_DAYS = 30
    assert retention_days() == 180
    settings.AUDIT_RETENTION_DAYS = 365
    assert retention_days() == 365


def test_nothing_younger_than_180_days_is_pruned_whatever_the_setting(settings, log_over_time):
    settings.AUDIT_RETENTION_DAYS = 1
    with time_machine.travel(log_over_time + timedelta(days=179, hours=23), tick=False):
        result = prune_expired()
    assert result.deleted == 0 and result.retention_days == 180
    assert AuditEntry.objects.count() == 5


def test_prune_removes_expired_entries_and_the_chain_still_verifies(log_over_time):
    with time_machine.travel(log_over_time + timedelta(days=181), tick=False):
        result = prune_expired(actor_name="tester")
    assert (result.deleted, result.through_seq) == (3, 3)
    assert set(AuditEntry.objects.values_list("action", flat=True)) == {"newer.event", "audit.pruned"}
    pruned = AuditEntry.objects.get(action="audit.pruned")
    assert pruned.actor_name == "tester" and pruned.details["deleted"] == 3 and pruned.seq == 6
    _, lines = read_checkpoint_file()
    assert any(line.reason == CheckpointReason.PRUNE and line.seq == 3 for line in lines)
    verification = verify_chain()
    assert verification.is_intact, verification.problems
    assert (verification.first_seq, verification.head_seq) == (4, 6)
    append(1)
    seal_pending()
    assert verify_chain().is_intact


def test_a_longer_retention_setting_is_honoured(settings, log_over_time):
    settings.AUDIT_RETENTION_DAYS = 365
    with time_machine.travel(log_over_time + timedelta(days=300), tick=False):
        assert prune_expired().deleted == 0
    with time_machine.travel(log_over_time + timedelta(days=366), tick=False):
        assert prune_expired().deleted == 3


def test_pruning_everything_leaves_a_chain_that_continues_from_the_signed_anchor(log_over_time):
    with time_machine.travel(log_over_time + timedelta(days=290), tick=False):
        result = prune_expired()
    assert result.deleted == 5
    assert AuditEntry.objects.get().seq == 6  # the prune's own entry continues after the anchor
    assert verify_chain().is_intact


def test_deleting_the_oldest_entry_after_a_prune_is_still_reported(log_over_time):
    with time_machine.travel(log_over_time + timedelta(days=181), tick=False):
        prune_expired()
    sql("DELETE FROM {table} WHERE seq = 4")
    problem = verify_chain().first_problem
    assert (problem.code, problem.seq) == ("deleted", 4)


def test_a_broken_chain_is_not_pruned(log_over_time):
    sql("UPDATE {table} SET action = 'x' WHERE seq = 2")
    with time_machine.travel(log_over_time + timedelta(days=181), tick=False), pytest.raises(Conflict):
        prune_expired()
    assert AuditEntry.objects.count() == 5


def test_audit_prune_command(log_over_time, capsys):
    with time_machine.travel(log_over_time + timedelta(days=181), tick=False):
        call_command("audit_prune", "--dry-run")
        assert "将清理 3 条" in capsys.readouterr().out
        assert AuditEntry.objects.count() == 5
        call_command("audit_prune")
        assert "已清理 3 条" in capsys.readouterr().out
        call_command("audit_prune")
        assert "没有早于" in capsys.readouterr().out
    sql("UPDATE {table} SET action = 'x' WHERE seq = 5")
    with pytest.raises(CommandError, match="校验未通过"):
        call_command("audit_prune")
