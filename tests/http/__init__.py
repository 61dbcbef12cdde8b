"""The edge: HTTP errors, the introspection gate, GraphiQL in a browser."""
