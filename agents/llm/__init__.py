"""Model access for the LLM planner and specialists: any OpenAI-compatible endpoint."""
