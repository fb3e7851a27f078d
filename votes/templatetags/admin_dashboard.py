"""The officials' dashboard on the admin index (templates/admin/index.html)."""

from django import template

from votes.dashboard import dashboard_for

register = template.Library()


@register.inclusion_tag("admin/_dashboard.html", takes_context=True)
def official_dashboard(context) -> dict:
    request = context["request"]
    return {"dashboard": dashboard_for(request.user), "request": request}
