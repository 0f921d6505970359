"""English translations of the interface's Chinese texts (the key is the Chinese text)."""
EN: dict[str, str] = {
}
