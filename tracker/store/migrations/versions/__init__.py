"""The store's schema revisions, oldest first: 0001 is the schema tracker 0.1.0 created."""
