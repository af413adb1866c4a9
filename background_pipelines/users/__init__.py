"""Who is who: user keys, the resolver (key, platform id or unambiguous name), audited account links."""

from background_pipelines.users.identity import (
    AmbiguousUserError,
    UnknownUserError,
    User,
    UserError,
    display_labels,
    entity_norm,
    is_user_key,
    resolve_user,
    user_key,
)
from background_pipelines.users.links import link_users, list_users, unlink_user

__all__ = [
    "AmbiguousUserError", "UnknownUserError", "User", "UserError", "display_labels", "entity_norm", "is_user_key", "link_users",
    "list_users", "resolve_user", "unlink_user", "user_key",
]
