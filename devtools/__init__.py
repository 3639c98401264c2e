"""Development and test tools, never imported by the product's code."""
