"""The analytics domain's SQL."""
