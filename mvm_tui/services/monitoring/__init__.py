"""Monitoring history (issue 20): host and VM metrics recorded in SQLite with roll-ups and a
bounded size, written by the headless service (or the TUI when none runs), read by the
charts. Empty until then.

Goes here: recorder.py (polling re-armed after each poll, as services/inventory.py does) and
the store beside runs/store.py's; charts read it through a query module, never the UI's own
buffers.
"""
