"""The GraphQL API as clients read it: connections, relations, aggregates, the schema contract."""
