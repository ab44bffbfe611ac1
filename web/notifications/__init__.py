"""Notifications: who is told what (rules.py), the outbox written with each event (outbox.py),
delivery by Web Push or WhatsApp (delivery.py), the VAPID key (vapid.py) and the browser's
subscriptions (subscriptions.py, routes.py)."""

from web.notifications.outbox import (
    notify_report_ready,
    notify_ticket_event,
    notify_ticket_events,
)

__all__ = ["notify_report_ready", "notify_ticket_event", "notify_ticket_events"]
