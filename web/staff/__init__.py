"""Staff: sign-in with password, server-side sessions with idle expiry, and who may open what."""
