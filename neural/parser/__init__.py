"""The seed's parser module names."""
