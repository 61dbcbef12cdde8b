"""GraphQL types of the customers domain."""
