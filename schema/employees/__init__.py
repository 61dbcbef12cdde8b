"""GraphQL types of the employees domain."""
