"""GraphQL types of the analytics domain."""
