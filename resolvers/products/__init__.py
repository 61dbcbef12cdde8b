"""The products domain's SQL."""
