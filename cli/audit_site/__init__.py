"""What `mydocker audit serve` puts in front of datasette: the metadata that documents
the audit views and carries the canned queries, the timeline page and its template,
and the read-only server around them. Only that command imports this package."""
