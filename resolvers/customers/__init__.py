"""The customers domain's SQL."""
