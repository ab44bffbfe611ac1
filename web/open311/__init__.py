"""Open311 GeoReport v2: the API other systems file into and read from."""
