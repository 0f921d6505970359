"""Hot spots (热点问题): recurring problems at one place, ranked by a heat index (docs/hotspots.md)."""
