"""The documented contract's vocabulary (docs/account-opening-api.md), as the upstream speaks it.
``invitations.models.AccountChannel`` stores the same values (a test keeps them equal)."""

CHANNELS = {
    "app": "App",
    "h5": "H5 (mobile web)",
    "wechat": "WeChat",
    "one_click": "one-click login",
    "branch": "branch",
}
