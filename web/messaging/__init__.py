"""Messages to citizens (sign-in codes, later ticket notifications) over WhatsApp or the dev log."""
