"""The sign-in and sign-out pages: local, LDAP and single sign-on (OpenID Connect) together."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView, LogoutView
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils.translation import gettext_lazy as _

from identity.ldap_signin import directory_error, forget_directory_error
from identity.oidc_signin import provider_logout_url

DIRECTORY_UNREACHABLE = _(
    "The company directory (LDAP) could not be reached, so your password could not be checked. "
    "Try again in a few minutes; if it goes on, tell your platform admin."
)


class SignInForm(AuthenticationForm):
    directory_unreachable = False

    def clean(self) -> dict[str, Any]:
        forget_directory_error()
        try:
            return super().clean()
        except ValidationError:
            if directory_error() is not None:
                self.directory_unreachable = True
                raise ValidationError(DIRECTORY_UNREACHABLE, code="directory_unreachable") from None
            raise


SINGLE_SIGN_ON_PROBLEMS = {
    "unreachable": _(
        "The single sign-on provider could not be reached. Try again in a few minutes; if it "
        "goes on, tell your platform admin."
    ),
    "failed": _(
        "Single sign-on did not complete (it was cancelled, took too long, or the provider "
        "refused it). Try again."
    ),
}


class SignInView(LoginView):
    """Django's sign-in page, with the single sign-on button when a provider is configured."""

    authentication_form = SignInForm

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["single_sign_on_label"] = settings.B2I_OIDC.issuer and settings.B2I_OIDC.label
        context["single_sign_on_problem"] = SINGLE_SIGN_ON_PROBLEMS.get(
            self.request.GET.get("sso", "")
        )
        return context


class SignOutView(LogoutView):
    """Sign out here, and at the provider too when the session came from single sign-on."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        at_provider = provider_logout_url(request)
        response = super().post(request, *args, **kwargs)
        return HttpResponseRedirect(at_provider) if at_provider else response
