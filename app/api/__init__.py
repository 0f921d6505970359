"""The JSON API under /api/v1: marshmallow schemas in, thin views, operations do the work."""
