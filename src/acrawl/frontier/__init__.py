"""Queue and dedup backends: the contract, memory, SQLite (--state), Redis (--frontier)."""
