from django.apps import AppConfig


class IdentityConfig(AppConfig):
    name = "identity"
    verbose_name = "Identity providers"

    def ready(self) -> None:
        # Receivers of django-auth-ldap's signals: group mappings at each directory sign-in,
        # and the "directory unreachable" flag the sign-in page reads.
        from identity import ldap_signin

        ldap_signin.connect_receivers()
