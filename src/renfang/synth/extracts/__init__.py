"""Department extracts of a synthetic district: files in each system's own shape, with the
truth of which records are the same person (``write.write_extracts``)."""
