"""The invoices domain's SQL."""
