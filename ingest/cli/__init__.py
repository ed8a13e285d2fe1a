"""The command line `lhpn` (contract §6)."""
