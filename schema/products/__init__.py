"""GraphQL types of the products domain."""
