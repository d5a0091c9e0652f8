"""Turning a claimed letter into a finished email message."""
