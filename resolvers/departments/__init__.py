"""The departments domain's SQL."""
