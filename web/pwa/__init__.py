"""Installable app: manifest, service worker, offline page and the outbox ("Menunggu dikirim")."""
