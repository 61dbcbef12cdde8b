"""Sign-in identities (users, service clients) and the CLI's account commands."""
