"""Use cases: import, plan and run a pass, send, report. The CLI and daemon call these."""
