"""pingtree: real-time ping/post lead distribution."""
