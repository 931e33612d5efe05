"""The seed's HPO module names."""
