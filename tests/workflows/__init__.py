"""Business commands through their mutations: lifecycles, audit, events, concurrency."""
