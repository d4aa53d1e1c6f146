"""Notifications: e-mail through SMTP when configured, `.eml` files in an outbox otherwise."""
