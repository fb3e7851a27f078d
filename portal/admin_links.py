"""The admin's "view on site" link, scoped like the rest of the admin.

Django's `/admin/r/<content type>/<id>/` redirects for any object that exists, so an
official could tell another municipality's objects (302) from missing ones (404), and it
built the address from the Site's domain. Here the object must be one the user's own
ModelAdmin shows (its `get_object`, which the scoping narrows); everything else is a
404, and the redirect is to the object's path on this host.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.contrib.contenttypes.models import ContentType
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET


@require_GET
def view_on_site(request: HttpRequest, content_type_id: int, object_id: str) -> HttpResponse:
    content_type = ContentType.objects.filter(pk=content_type_id).first()
    model = content_type.model_class() if content_type is not None else None
    model_admin = admin.site._registry.get(model) if model is not None else None
    if model_admin is None or not hasattr(model, "get_absolute_url"):
        raise Http404
    if not model_admin.has_view_or_change_permission(request):
        raise Http404  # not 403: the link must not confirm that the object exists
    obj = model_admin.get_object(request, unquote(object_id))
    if obj is None:
        raise Http404
    url = obj.get_absolute_url()
    if not url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()}):
        raise Http404
    return HttpResponseRedirect(url)
