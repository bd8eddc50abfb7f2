"""PostgreSQL only: a trigger that refuses to change a sealed audit entry or to delete any entry.

The sealer may fill the chain fields of a pending entry (nothing else); the retention prune may delete sealed entries
after `SELECT set_config('tongshu.audit_prune', 'on', true)` in its transaction. This is hardening, not the proof: a
database superuser can disable the trigger, and the hash chain with its signed checkpoints is what shows the change.
SQLite has no per-session setting to let the prune through, so there the ORM guard (models.py) stands alone.
"""

from django.db import migrations

FUNCTION = """
CREATE OR REPLACE FUNCTION security_auditentry_guard() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.seq IS NOT NULL AND current_setting('tongshu.audit_prune', true) = 'on' THEN
            RETURN OLD;
        END IF;
        RAISE EXCEPTION 'audit entries are deleted only by the retention prune'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF OLD.seq IS NOT NULL THEN
        RAISE EXCEPTION 'sealed audit entry % cannot be changed', OLD.id USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF (NEW.id, NEW.created_at, NEW.actor_id, NEW.actor_name, NEW.organization_id_value, NEW.organization_name,
        NEW.action, NEW.object_type, NEW.object_id, NEW.object_repr, NEW.details, NEW.client_ip)
       IS DISTINCT FROM
       (OLD.id, OLD.created_at, OLD.actor_id, OLD.actor_name, OLD.organization_id_value, OLD.organization_name,
        OLD.action, OLD.object_type, OLD.object_id, OLD.object_repr, OLD.details, OLD.client_ip) THEN
        RAISE EXCEPTION 'audit entry % can only be sealed, not changed', OLD.id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
"""

TRIGGER = """
CREATE TRIGGER security_auditentry_guard
BEFORE UPDATE OR DELETE ON security_auditentry
FOR EACH ROW EXECUTE FUNCTION security_auditentry_guard();
"""

DROP = """
DROP TRIGGER IF EXISTS security_auditentry_guard ON security_auditentry;
DROP FUNCTION IF EXISTS security_auditentry_guard();
"""


def create_guard(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FUNCTION, params=None)
        schema_editor.execute(TRIGGER, params=None)


def drop_guard(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("security", "0002_audit_chain")]

    operations = [migrations.RunPython(create_guard, drop_guard)]
