"""The floor target of the side-by-side benchmark: bizgraph's own floor SQL behind a minimal HTTP server."""
