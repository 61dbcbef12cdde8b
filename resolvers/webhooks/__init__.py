"""Webhook endpoints as data: how they are read and the commands that manage them."""
