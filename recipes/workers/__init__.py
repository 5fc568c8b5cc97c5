"""Worker processes: how many, how busy, and how the work spreads over them."""
