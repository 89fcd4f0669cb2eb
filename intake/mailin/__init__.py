"""Incoming mail: parse a message, verify thread tokens, strip quotes; the pipe and IMAP."""
