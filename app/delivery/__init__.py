"""What every outbound delivery (customer emails, webhooks) shares: the retry schedule."""
