"""GraphQL types of the departments domain."""
