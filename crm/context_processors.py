from django.http import HttpRequest


def navigation(request: HttpRequest) -> dict:
    """Navigation entries by role, for the base layout."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": []}
    items = [("home", "Overview")]
    if getattr(user, "is_manager", False):
        items += [("crm-import", "Import")]
    return {"nav_items": items, "current_org": getattr(user, "organization", None)}
