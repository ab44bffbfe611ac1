"""Staff views of tickets: the operator inbox (desktop) and the OPD queue (phone)."""
