from django.contrib.auth.models import AnonymousUser

from .models import is_instructor


def roles(request):
    # An error page can render before the authentication middleware ran (a 400 for a bad
    # Host header): no user then.
    return {"is_instructor": is_instructor(getattr(request, "user", AnonymousUser()))}
