"""Outbox: what goes back out. To the province offices: receipts in their own folders
(`receipts`), reminders (`reminders`) and quarantine copies and reports (`quarantine`); to the
operators, mail (`mail`). The templates of `lhpn template --all` go to the same folders."""
