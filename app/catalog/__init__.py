"""The category catalogue: the GB/T 47678.5 component/event directory and the 12345 topic tree,
kept as versioned reference data and searched in memory (Chinese, pinyin initials, codes)."""
