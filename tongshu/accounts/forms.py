from __future__ import annotations

from typing import Any

from captcha.fields import CaptchaField, CaptchaTextInput
from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _


class CaptchaInput(CaptchaTextInput):
    """The captcha image, its hidden key and the answer box on one row, with a "new image" link."""

    template_name = "accounts/captcha_widget.html"

    def __init__(self, refresh_url: str = "?", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.refresh_url_fallback = refresh_url
        self.widgets[1].attrs.update(
            {"data-testid": "captcha-answer", "maxlength": "8", "class": "captcha-answer"}
        )

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        context["refresh_fallback"] = self.refresh_url_fallback
        return context


def make_captcha_field(refresh_url: str = "?") -> CaptchaField:
    return CaptchaField(
        label=_("Verification code"),
        help_text=_("Type the characters in the picture (not case-sensitive)."),
        error_messages={
            "invalid": _("Wrong verification code. Please type the characters in the new picture."),
            "required": _("Please enter the verification code."),
        },
        widget=CaptchaInput(refresh_url=refresh_url),
    )


class LoginForm(AuthenticationForm):
    """User name and password, plus a captcha once the account has had several recent failures.

    When the captcha is asked for and is wrong or blank, the password is not checked at all: `captcha_failed`
    tells the view to count the attempt as a failure (see `login_security.count_failure`).
    """

    error_messages = {
        "invalid_login": _("Wrong user name or password."),
        "inactive": _("This account is disabled."),
    }

    def __init__(
        self,
        request: Any = None,
        *args: Any,
        require_captcha: bool = False,
        refresh_url: str = "?",
        **kwargs: Any,
    ) -> None:
        super().__init__(request, *args, **kwargs)
        self.fields["username"].widget.attrs.update({"data-testid": "username", "autofocus": True})
        self.fields["password"].widget.attrs.update({"data-testid": "password"})
        self.refresh_url = refresh_url
        self.require_captcha = False
        self.captcha_failed = False
        if require_captcha:
            self.add_captcha()

    def add_captcha(self) -> None:
        self.require_captcha = True
        self.fields["captcha"] = make_captcha_field(self.refresh_url)

    def clean(self) -> dict[str, Any]:
        if self.require_captcha and "captcha" not in self.cleaned_data:
            self.captcha_failed = True
            return self.cleaned_data
        return super().clean()


class PasswordChangeForm(forms.Form):
    old_password = forms.CharField(
        label=_("Current password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    new_password = forms.CharField(
        label=_("New password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    new_password_again = forms.CharField(
        label=_("New password again"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self) -> dict:
        data = super().clean() or {}
        if data.get("new_password") and data.get("new_password") != data.get("new_password_again"):
            self.add_error("new_password_again", _("The two new passwords differ."))
        return data


class TokenForm(forms.Form):
    """A six-digit code from the authenticator app."""

    token = forms.CharField(
        label=_("Verification code from the app"),
        max_length=6,
        min_length=6,
        validators=[RegexValidator(r"^\d{6}$", _("Enter the six digits shown in the app."))],
        error_messages={"required": _("Enter the six digits shown in the app.")},
        widget=forms.TextInput(
            attrs={
                "inputmode": "numeric",
                "autocomplete": "one-time-code",
                "pattern": "[0-9]*",
                "maxlength": "6",
                "autofocus": True,
                "data-testid": "totp-token",
            }
        ),
    )

    def clean_token(self) -> str:
        return self.cleaned_data["token"].strip()
