"""Webhook delivery: deliveries per second per worker, and commit → receiver latency (``python -m bench.webhooks``)."""
