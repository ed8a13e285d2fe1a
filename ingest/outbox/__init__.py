"""Outbox: what each province office gets back in its own folder (receipts, templates)."""
