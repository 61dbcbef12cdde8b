"""bizgraph: one GraphQL schema over PostgreSQL for a business's core data."""
