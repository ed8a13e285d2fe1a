"""Receive: the inbox, settled files, the archive."""
