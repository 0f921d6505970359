"""Duplicate detection (智能判重) and merging: find reports of the same problem at intake, merge them into one case."""
