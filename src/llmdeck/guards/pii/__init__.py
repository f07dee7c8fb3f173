"""PII and secrets: rule recognisers with checksums, and a token tagger for names and addresses."""
