"""What every app stands on and nothing of theirs: recorded events, the reason check and the
domain error, the database clock, system actors, advisory-lock keys, the shared rate limiter's
table, and the request, admin and template tools the apps share. Imports no app."""
