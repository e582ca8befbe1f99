"""Single sign-on routes (OpenID Connect), included under /oidc/ by b2i_console/urls.py."""

from django.urls import path

from identity.oidc_signin import ProviderCallbackView, ProviderSignInView

urlpatterns = [
    path("authenticate/", ProviderSignInView.as_view(), name="oidc_authentication_init"),
    path("callback/", ProviderCallbackView.as_view(), name="oidc_authentication_callback"),
]
