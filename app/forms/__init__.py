"""Task forms: JSON Schema files rendered with Jinja2 and validated with jsonschema."""
