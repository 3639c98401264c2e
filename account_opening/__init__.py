"""The integration with the other team's account-opening service: its contract, our client and
the rate limiter every worker shares. No models and no app imports: ``invitations`` uses it."""
