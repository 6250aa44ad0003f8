"""The conversation layer: one turn as typed steps (understand -> retrieve -> disambiguate ->
FAQ/override -> generate -> verify), the confidence gate, prompts, retrieval helpers,
grounding and intents."""
