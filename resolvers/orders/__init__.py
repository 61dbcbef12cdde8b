"""The orders domain's SQL."""
