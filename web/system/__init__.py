"""Pages and endpoints that belong to no single area: home, health, language, static files."""
