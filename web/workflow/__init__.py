"""Workflow: the complaint lifecycle (who may move a ticket from which status to which) and SLA.

``status.py`` and ``lifecycle.py`` are plain Python: routes and services ask ``decide()`` first,
then ``service.act`` stores the columns ``ticket_changes()`` names, with their timeline event.
``sla.py`` is plain too, except that it also writes its states as SQL over the complaint table,
so "overdue" has one definition for Python and for every query.
"""
