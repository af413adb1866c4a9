"""Character cognition: the nightly and daily passes that make a character feel continuous (diaries,
dreams, goal strategies, reflections on users, insights across users, drift, gossip, channel summaries).
Engine functions only; no Dagster here."""
