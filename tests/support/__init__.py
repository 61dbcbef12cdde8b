"""Helpers shared by the test suite: real tokens, databases, GraphQL over HTTP, a browser."""
