"""The documented contract's vocabulary (docs/account-opening-api.md), as the upstream speaks it.
``invitations.models.AccountChannel`` stores the same values (a test keeps them equal)."""

import re

# A phone as the contract writes it: the normalized number, 11 ASCII digits (never full-width or
# another script's digits, which would be another key on either side).
PHONE = re.compile(r"1[0-9]{10}", re.ASCII)

# Yuan as a JSON string, at most two decimals (a float would round money): "1000.00".
AMOUNT = re.compile(r"(0|[1-9][0-9]{0,11})(\.[0-9]{1,2})?", re.ASCII)

CHANNELS = {
    "app": "App",
    "h5": "H5 (mobile web)",
    "wechat": "WeChat",
    "one_click": "one-click login",
    "branch": "branch",
}
