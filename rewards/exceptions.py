NOT_QUALIFIED = "Invitation #{invitation} is {status}, not qualified: nothing to grant."
GRANT_NOT_IN_STATUS = "Grant {grant} is {status}; this needs a grant that is {expected}."
NOT_YOUR_GRANT = "This reward is not yours."


class RewardError(Exception):
    pass


class NotQualified(RewardError):
    def __init__(self, invitation):
        super().__init__(NOT_QUALIFIED.format(invitation=invitation.pk, status=invitation.status))


class GrantNotInStatus(RewardError):
    def __init__(self, grant, expected: str):
        super().__init__(
            GRANT_NOT_IN_STATUS.format(grant=grant.grant_no, status=grant.status, expected=expected)
        )


class NotYourGrant(RewardError):
    def __init__(self):
        super().__init__(NOT_YOUR_GRANT)
