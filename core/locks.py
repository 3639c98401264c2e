"""PostgreSQL advisory-lock keys, one list so that no two uses share a key by accident. A key
with a second number (an upload's, a person's or a campaign's id) uses the two-int form of the lock
functions, a key alone the one-bigint form: the two never collide."""

from enum import IntEnum


class AdvisoryLock(IntEnum):
    IMPORT = 7_266_001  # one import into the pool at a time (two deadlocked on the digest index)
    UPLOAD = 7_266_002  # (UPLOAD, upload id): a process works on this upload
    CARD_COUNT = 7_266_003  # one count of the pool's stock at a time (CardCount)
    MESSAGES = 7_266_201  # (MESSAGES, user id): a worker forms this person's batch
    BUDGET = 7_266_301  # (BUDGET, campaign id): a grant checks and spends the campaign's budget
