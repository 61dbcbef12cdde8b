"""Webhook endpoints, their deliveries and attempts: types, queries and mutations."""
