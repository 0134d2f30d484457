"""The kernel's own behaviour, written as ordinary plugins so third parties can override it."""
