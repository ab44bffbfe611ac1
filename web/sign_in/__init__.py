"""Staff sign-in and sign-out pages, above web/staff (who staff are, what they may do) and
web/notifications (admins are warned of attacks, a signed-out device stops being told)."""
