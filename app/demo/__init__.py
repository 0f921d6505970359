"""The demo city's living history (``flask demo history``): months of invented cases played through
the product's own operations, so a first start shows a cockpit, a map and KPIs with something in them."""
