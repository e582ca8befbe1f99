"""The sign-in form: tells "the directory did not answer" apart from a wrong password."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from identity.ldap_signin import directory_error, forget_directory_error

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
