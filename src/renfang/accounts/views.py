"""Login pages beyond the password: the second-factor code, its setup, the lock-out page, and
changing one's password."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm, PasswordChangeForm
from django.contrib.auth.views import PasswordChangeView
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django_otp import login as otp_login
from django_otp import verify_token
from django_otp.plugins.otp_totp.models import TOTPDevice

from renfang.accounts.forms import CodeForm
from renfang.accounts.lockout import failure_record, failures_clear, is_locked_out
from renfang.accounts.services import user_password_changed_record, user_second_factor_confirm
from renfang.accounts.totp import (
    confirmed_device,
    is_verified,
    key_text,
    qr_svg,
    second_factor_needed,
    second_factor_required,
    setup_device,
    totp_mode,
)
from renfang.audit.models import Action
from renfang.audit.services import audit_record

LOGIN_TEMPLATE = "registration/login.html"


def lockout_response(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict[str, Any] | None = None,
) -> HttpResponse:
    """The login page saying the account is locked, with 429 Too Many Requests (django-axes
    calls this when a login is refused for too many failures)."""
    username = str((credentials or {}).get("username") or request.POST.get("username", ""))
    context = {
        "form": AuthenticationForm(request, initial={"username": username}),
        "locked_out": True,
        "lockout_minutes": settings.RENFANG_LOCKOUT_MINUTES,
        "next": _next_url(request, default=""),
    }
    return render(request, LOGIN_TEMPLATE, context, status=429)


def _next_url(request: HttpRequest, default: str | None = None) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return resolve_url(settings.LOGIN_REDIRECT_URL) if default is None else default


def _with_next(url: str, next_url: str) -> str:
    return f"{url}?{urlencode({'next': next_url})}" if next_url else url


def _locked(request: HttpRequest) -> HttpResponse:
    """Too many wrong codes: the half-open session ends and the login page says why."""
    username = request.user.get_username()
    logout(request)
    return lockout_response(request, credentials={"username": username})


def _code_failed(request: HttpRequest, user: AbstractBaseUser) -> bool:
    """A wrong code is a failed login: audited, and counted towards the lock-out. True when
    it locks the account."""
    audit_record(
        Action.LOGIN_FAILED,
        user=user,
        record_type="user",
        record_id=user.pk,
        detail={"factor": "totp"},
    )
    return failure_record(request, user.get_username())


def _login_complete(request: HttpRequest, user: AbstractBaseUser, device: Any) -> None:
    otp_login(request, device)
    audit_record(
        Action.LOGIN, user=user, record_type="user", record_id=user.pk, detail={"factor": "totp"}
    )
    failures_clear(request, user.get_username())


@login_required
def second_factor(request: HttpRequest) -> HttpResponse:
    """Ask for the code of the user's authenticator app, after the password."""
    user = request.user
    assert isinstance(user, AbstractBaseUser)
    next_url = _next_url(request)
    if is_verified(user) or not second_factor_needed(user):
        return redirect(next_url)
    device = confirmed_device(user)
    if device is None:
        return redirect(_with_next(reverse("accounts:second_factor_setup"), next_url))
    if is_locked_out(request, user.get_username()):
        return _locked(request)
    form = CodeForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        verified = verify_token(user, device.persistent_id, form.cleaned_data["code"])
        if verified is not None:
            _login_complete(request, user, verified)
            return redirect(next_url)
        if _code_failed(request, user):
            return _locked(request)
        form.add_error(
            "code", _("That code is not right. Check that your phone's clock is correct.")
        )
    return render(request, "accounts/second_factor.html", {"form": form, "next": next_url})


@login_required
def second_factor_setup(request: HttpRequest) -> HttpResponse:
    """Set up an authenticator app: scan the QR code (or type the key), confirm with a code.
    Required for some roles before anything else works; anyone else may choose it."""
    if totp_mode() == "off":
        raise Http404
    user = request.user
    assert isinstance(user, AbstractBaseUser)
    next_url = _next_url(request)
    existing = confirmed_device(user)
    if existing is not None:
        if not is_verified(user):
            return redirect(_with_next(reverse("accounts:second_factor"), next_url))
        return render(request, "accounts/second_factor_setup.html", {"done": True})
    if is_locked_out(request, user.get_username()):
        return _locked(request)
    device = setup_device(user)
    form = CodeForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            locked_device = TOTPDevice.objects.select_for_update().get(pk=device.pk)
            accepted = locked_device.verify_token(form.cleaned_data["code"])
        if accepted:
            user_second_factor_confirm(device=locked_device, user=user)
            _login_complete(request, user, locked_device)
            messages.success(request, _("Your authenticator app is set up."))
            return redirect(next_url)
        if _code_failed(request, user):
            return _locked(request)
        form.add_error(
            "code", _("That code is not right. Check that your phone's clock is correct.")
        )
    context = {
        "form": form,
        "next": next_url,
        "qr_svg": qr_svg(device),
        "key": key_text(device),
        "required": second_factor_required(user),
        "done": False,
    }
    return render(request, "accounts/second_factor_setup.html", context)


class RenfangPasswordChangeView(PasswordChangeView):
    """Change one's own password (the password policy applies); audited."""

    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("accounts:password_change_done")

    def form_valid(self, form: PasswordChangeForm) -> HttpResponse:
        response = super().form_valid(form)
        user_password_changed_record(user=form.user, changed_by=form.user)
        return response


password_change = RenfangPasswordChangeView.as_view()


@login_required
def password_change_done(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/password_change_done.html")
