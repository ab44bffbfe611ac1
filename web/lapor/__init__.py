"""SP4N-LAPOR! reconciliation: tracking IDs, the list to update in LAPOR!, and import."""
