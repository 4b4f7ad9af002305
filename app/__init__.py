"""Presentation: the Chainlit chat, its cards, and the command line."""
