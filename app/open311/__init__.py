"""Open311 GeoReport v2 at ``/open311/v2``: citizen-facing apps and 311 clients file and follow cases.

Services are the active categories of the catalogue; their attributes come from the channel's
extension form ``forms/channels/open311.json``. A request becomes a case through the one intake
operation, :func:`app.cases.operations.create_case`, with channel ``open311``. Reads are public
and show only cases of the public channels, never the reporter's details.
"""
