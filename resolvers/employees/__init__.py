"""The employees domain's SQL."""
