"""Workflow: the complaint lifecycle (who may move a ticket from which status to which) and SLA.

Plain Python with no framework or database imports: routes and services ask ``decide()`` first,
then store the ``Decision`` and its timeline event.
"""
