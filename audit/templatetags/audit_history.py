"""`{% audit_history obj %}`: the History section of a tag's or segment's page.

The latest entries about `obj`; users who may read the audit log also get a link
to the full log narrowed to it.
"""

from urllib.parse import urlencode

from django import template
from django.db.models import Model
from django.urls import reverse

from audit.services import HISTORY_LENGTH, history, target_type_for

register = template.Library()


@register.inclusion_tag("audit/_history.html", takes_context=True)
def audit_history(context, target: Model, limit: int = HISTORY_LENGTH) -> dict:
    user = context["request"].user
    log_url = ""
    if user.has_perm("audit.view_auditentry"):
        query = urlencode({"target_type": target_type_for(target), "target_id": target.pk})
        log_url = f"{reverse('audit_list')}?{query}"
    return {"entries": history(target, limit), "log_url": log_url}
