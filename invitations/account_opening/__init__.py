"""The account-opening service: our client of it, its simulator, and the shared rate limiter."""
