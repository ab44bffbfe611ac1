"""Citizens: identity (NIK), WhatsApp numbers, accounts and sign-in."""
