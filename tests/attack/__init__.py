"""Red-team attacks on issue 12 promises, from outside."""
