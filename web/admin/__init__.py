"""Administration: staff accounts and the city's categories (default OPD, SLA hours)."""
