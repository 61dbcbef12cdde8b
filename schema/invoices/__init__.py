"""GraphQL types of the invoices domain."""
