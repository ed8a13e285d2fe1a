"""Receive: the inbox walk, settled files, taking files in (`taking`), the archive, safe names."""
