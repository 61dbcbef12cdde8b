"""GraphQL types of the orders domain."""
