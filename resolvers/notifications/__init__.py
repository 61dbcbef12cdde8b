"""Reading the email deliveries and their attempts (the dispatcher itself is app/notifications)."""
