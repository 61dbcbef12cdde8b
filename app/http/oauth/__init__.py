"""The OAuth2 authorization server: token endpoint, metadata and JWKS routes."""
