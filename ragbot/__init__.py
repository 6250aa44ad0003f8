"""ragbot: retrieval-augmented chatbot with a confidence gate."""
