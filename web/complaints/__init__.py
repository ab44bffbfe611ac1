"""Complaints (laporan): filing, numbering, photos, timeline, the citizen's own list."""
