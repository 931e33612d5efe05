"""The seed's code-generation module names."""
