"""Application state beside the knowledge base: sessions, handoff tickets, feedback, overrides,
users and API keys. Embedded default: one SQLite file (`state.sqlite` in the KB directory), each
store owning its own tables; the Postgres backend implements the same store classes."""
