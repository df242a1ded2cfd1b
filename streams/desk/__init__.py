"""The review desk: server-rendered pages on the worker's web port where an operator reviews,
previews and approves campaigns (streams/desk/views.py), with the same credentials as the
operator API exchanged for a signed session cookie (streams/desk/sessions.py)."""
