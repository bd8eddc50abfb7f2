"""Scheduled pulls from an upstream HTTP interface or a department database (第十九条)."""
