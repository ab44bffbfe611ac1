"""Open311 GeoReport v2: the standard API other systems read tickets from (and file into)."""
