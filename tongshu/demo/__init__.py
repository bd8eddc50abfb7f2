"""The 华容县 demo: organizations and one account per role (more demo data is added by later issues).

Everything is deterministic and idempotent: running `manage.py load_demo` twice changes nothing the second time.
"""
