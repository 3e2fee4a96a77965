"""Kernel pages: landing, dashboard, issuer console (overview, team and invitations, audit log), staff console,
the invitation link's accept page, and where a privileged account without a second factor is sent."""

from __future__ import annotations

import base64
from urllib.parse import urlencode

from allauth.mfa.adapter import get_adapter as get_mfa_adapter
from allauth.mfa.totp.internal.auth import generate_totp_secret
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from core.access import Perm, access_required, can, signed_in_user
from core.actions import action_perform
from core.approvals import approval_approve, approval_reject, four_eyes_threshold_propose
from core.audit import audit_chain_verify
from core.errors import ApplicationError
from core.forms import (
    FourEyesThresholdForm,
    InvitationAcceptForm,
    IssuerCreateForm,
    MemberAddForm,
    MfaResetForm,
    PlatformInviteForm,
)
from core.home import home_panels, landing_page
from core.invitations import (
    invitation_accept,
    invitation_by_token,
    invitation_check,
    invitation_resend,
    invitation_revoke,
    issuer_onboard,
    mfa_reset,
    platform_member_add,
    team_member_add,
)
from core.models import (
    ApprovalRequest,
    Invitation,
    InvitationRole,
    Issuer,
    IssuerMembership,
    Notification,
    User,
)
from core.money import Money
from core.notifications import notifications_mark_read
from core.selectors import (
    approvals_decided,
    approvals_pending,
    audit_events_for_issuer,
    audit_events_recent,
    invitations_open,
    issuer_list_visible_to,
    issuer_team,
)
from core.services import membership_revoke


def landing(request: HttpRequest) -> HttpResponse:
    return render(request, "core/landing.html")


@access_required(Perm.INVESTOR_SELF)
def home(request: HttpRequest) -> HttpResponse:
    """Each person's work: an issuer admin's offerings and what waits for them, an officer's review queue,
    an investor's onboarding and investments. Someone whose only work is one page of its own (a transfer
    agent's registers, staff's console, platform compliance's identity queue) is taken there."""
    user = signed_in_user(request)
    panels = home_panels(user)
    lands_on = landing_page(panels)
    if lands_on is not None:
        return redirect(lands_on)
    return render(request, "core/home.html", {"panels": panels})


@access_required(Perm.ISSUER_VIEW, issuer_kwarg="slug")
def issuer_overview(request: HttpRequest, issuer: Issuer) -> HttpResponse:
    context = {
        "issuer": issuer,
        "team": issuer_team(issuer=issuer),
        "can_manage_team": can(request.user, Perm.ISSUER_MANAGE_TEAM, issuer),
        "can_view_audit": can(request.user, Perm.ISSUER_VIEW_AUDIT, issuer),
        "can_approve": can(request.user, Perm.ISSUER_APPROVE_MONEY, issuer),
        "pending_approvals": approvals_pending(issuer=issuer).count()
        if can(request.user, Perm.ISSUER_APPROVE_MONEY, issuer)
        else 0,
        "recent_events": audit_events_for_issuer(issuer=issuer)[:10]
        if can(request.user, Perm.ISSUER_VIEW_AUDIT, issuer)
        else [],
    }
    return render(request, "core/issuer_overview.html", context)


def site_of(request: HttpRequest) -> str:
    """The scheme and host links in e-mails start with: the ones this request came in on."""
    return request.build_absolute_uri("/").rstrip("/")


def _invited_message(invitation: Invitation) -> str:
    return (
        f"An invitation was sent to {invitation.email}. The role is theirs once they open the link, which sets "
        "a password (for a new account) and an authenticator app."
    )


@require_http_methods(["GET", "POST"])
@access_required(Perm.ISSUER_MANAGE_TEAM, issuer_kwarg="slug")
def issuer_team_page(request: HttpRequest, issuer: Issuer) -> HttpResponse:
    form = MemberAddForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            outcome = team_member_add(
                actor=signed_in_user(request),
                issuer=issuer,
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
                site=site_of(request),
            )
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            if isinstance(outcome, Invitation):
                messages.success(request, _invited_message(outcome))
            else:
                messages.success(request, f"{outcome.user.email} is now {outcome.get_role_display().lower()}.")
            return redirect("issuer_team", slug=issuer.slug)
    context = {
        "issuer": issuer,
        "team": issuer_team(issuer=issuer),
        "invitations": invitations_open(issuer=issuer),
        "validity_days": settings.INVITATION_VALIDITY_DAYS,
        "form": form,
    }
    return render(request, "core/issuer_team.html", context)


@require_POST
@access_required(Perm.ISSUER_MANAGE_TEAM, issuer_kwarg="slug")
def issuer_invitation_resend(request: HttpRequest, issuer: Issuer, invitation_id: int) -> HttpResponse:
    invitation = get_object_or_404(Invitation, pk=invitation_id, issuer=issuer)
    action_perform(
        request,
        lambda: invitation_resend(actor=signed_in_user(request), invitation=invitation, site=site_of(request)),
        success=f"A new link was sent to {invitation.email}; the earlier one no longer works.",
    )
    return redirect("issuer_team", slug=issuer.slug)


@require_POST
@access_required(Perm.ISSUER_MANAGE_TEAM, issuer_kwarg="slug")
def issuer_invitation_revoke(request: HttpRequest, issuer: Issuer, invitation_id: int) -> HttpResponse:
    invitation = get_object_or_404(Invitation, pk=invitation_id, issuer=issuer)
    action_perform(
        request,
        lambda: invitation_revoke(actor=signed_in_user(request), invitation=invitation),
        success=f"The invitation of {invitation.email} was withdrawn; its link no longer works.",
    )
    return redirect("issuer_team", slug=issuer.slug)


@require_POST
@access_required(Perm.ISSUER_MANAGE_TEAM, issuer_kwarg="slug")
def issuer_team_remove(request: HttpRequest, issuer: Issuer, membership_id: int) -> HttpResponse:
    membership = get_object_or_404(IssuerMembership, pk=membership_id, issuer=issuer)
    action_perform(
        request,
        lambda: membership_revoke(actor=signed_in_user(request), membership=membership),
        success=f"{membership.user.email} no longer has a role at {issuer.name}.",
    )
    return redirect("issuer_team", slug=issuer.slug)


@access_required(Perm.ISSUER_VIEW_AUDIT, issuer_kwarg="slug")
def issuer_audit_log(request: HttpRequest, issuer: Issuer) -> HttpResponse:
    page = Paginator(audit_events_for_issuer(issuer=issuer), 50).get_page(request.GET.get("page"))
    return render(request, "core/audit_log.html", {"issuer": issuer, "page": page})


def _staff_console_page(
    request: HttpRequest,
    *,
    form: IssuerCreateForm | None = None,
    invite_form: PlatformInviteForm | None = None,
    reset_form: MfaResetForm | None = None,
) -> HttpResponse:
    context = {
        "issuers": issuer_list_visible_to(user=request.user),
        "form": form or IssuerCreateForm(),
        "invite_form": invite_form or PlatformInviteForm(),
        "reset_form": reset_form or MfaResetForm(),
        "invitations": invitations_open(issuer=None),
        "events": audit_events_recent(limit=20),
        "chain": audit_chain_verify() if request.GET.get("verify") else None,
    }
    return render(request, "core/staff_console.html", context)


@require_http_methods(["GET", "POST"])
@access_required(Perm.PLATFORM_ADMIN)
def staff_console(request: HttpRequest) -> HttpResponse:
    form = IssuerCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            outcome = issuer_onboard(
                actor=signed_in_user(request),
                name=data["name"],
                legal_name=data["legal_name"],
                jurisdiction=data["jurisdiction"],
                country=data["country"],
                admin_email=data["admin_email"],
                site=site_of(request),
                formation_date=data.get("formation_date"),
            )
        except ApplicationError as exc:
            form.add_error(exc.extra.get("field"), exc.message)
        else:
            if isinstance(outcome, Invitation):
                issuer_name = outcome.issuer.name if outcome.issuer else data["name"]
                messages.success(request, f"{issuer_name} was created. {_invited_message(outcome)}")
            else:
                messages.success(request, f"{outcome.issuer.name} was created with {outcome.user.email} as its admin.")
            return redirect("staff_console")
    return _staff_console_page(request, form=form)


@require_POST
@access_required(Perm.PLATFORM_ADMIN)
def staff_invitation_create(request: HttpRequest) -> HttpResponse:
    form = PlatformInviteForm(request.POST)
    if form.is_valid():
        try:
            outcome = platform_member_add(
                actor=signed_in_user(request),
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
                site=site_of(request),
            )
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            if isinstance(outcome, Invitation):
                messages.success(request, _invited_message(outcome))
            else:
                messages.success(request, f"{outcome.email} now has the role (they already use two-factor).")
            return redirect("staff_console")
    return _staff_console_page(request, invite_form=form)


@require_POST
@access_required(Perm.PLATFORM_ADMIN)
def staff_mfa_reset(request: HttpRequest) -> HttpResponse:
    form = MfaResetForm(request.POST)
    if form.is_valid():
        user = User.objects.filter(email__iexact=form.cleaned_data["email"]).first()
        if user is None:
            form.add_error("email", "No account has this e-mail address.")
        else:
            try:
                mfa_reset(
                    actor=signed_in_user(request), user=user, reason=form.cleaned_data["reason"], site=site_of(request)
                )
            except ApplicationError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(
                    request,
                    f"Two-factor authentication of {user.email} was removed and their sessions ended. A link to set "
                    "a new password and authenticator was sent to that address.",
                )
                return redirect("staff_console")
    return _staff_console_page(request, reset_form=form)


@require_POST
@access_required(Perm.PLATFORM_ADMIN)
def staff_invitation_resend(request: HttpRequest, invitation_id: int) -> HttpResponse:
    invitation = get_object_or_404(Invitation, pk=invitation_id, issuer__isnull=True)
    action_perform(
        request,
        lambda: invitation_resend(actor=signed_in_user(request), invitation=invitation, site=site_of(request)),
        success=f"A new link was sent to {invitation.email}; the earlier one no longer works.",
    )
    return redirect("staff_console")


@require_POST
@access_required(Perm.PLATFORM_ADMIN)
def staff_invitation_revoke(request: HttpRequest, invitation_id: int) -> HttpResponse:
    invitation = get_object_or_404(Invitation, pk=invitation_id, issuer__isnull=True)
    action_perform(
        request,
        lambda: invitation_revoke(actor=signed_in_user(request), invitation=invitation),
        success=f"The invitation of {invitation.email} was withdrawn; its link no longer works.",
    )
    return redirect("staff_console")


# --------------------------------------------------------------------------- invitations and second factors

INVITATION_SECRET_SESSION_KEY = "tessera.invitation.{pk}.totp_secret"


def _invitation_destination(invitation: Invitation) -> HttpResponse:
    if invitation.issuer is not None:
        return redirect("issuer_overview", slug=invitation.issuer.slug)
    if invitation.role == InvitationRole.PLATFORM_COMPLIANCE:
        return redirect("identity_queue")
    if invitation.role == InvitationRole.PLATFORM_STAFF:
        return redirect("staff_console")
    return redirect("home")


def _totp_qr_data_uri(*, email: str, secret: str) -> tuple[str, str]:
    """The otpauth:// URL and its QR code as an inline SVG data URI (drawn here: nothing from a CDN)."""
    adapter = get_mfa_adapter()
    url = adapter.build_totp_url(User(email=email), secret)
    svg = adapter.build_totp_svg(url)
    return url, "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


@require_http_methods(["GET", "POST"])
def invitation_accept_page(request: HttpRequest, token: str) -> HttpResponse:
    """Reachable without signing in: the link is the proof. Sets a password and a factor, then gives the role."""
    invitation = invitation_by_token(token=token)
    if invitation is None:
        return render(
            request,
            "core/invitation_closed.html",
            {"message": "This invitation link is not valid. Check that you opened the whole link from the e-mail."},
            status=404,
        )
    visitor = request.user if isinstance(request.user, User) else None
    try:
        needs = invitation_check(invitation=invitation, user=visitor)
    except ApplicationError as exc:
        return render(
            request,
            "core/invitation_closed.html",
            {"message": exc.message, "invitation": invitation},
            status=exc.status_code,
        )
    context: dict[str, object] = {"invitation": invitation, "needs": needs}
    if needs.sign_in:
        context["login_url"] = f"{reverse('account_login')}?{urlencode({'next': request.path})}"
        return render(request, "core/invitation_accept.html", context)
    session_key = INVITATION_SECRET_SESSION_KEY.format(pk=invitation.pk)
    secret = ""
    if needs.factor:
        secret = request.session.get(session_key) or generate_totp_secret()
        request.session[session_key] = secret
    form = InvitationAcceptForm(
        request.POST or None, password=needs.password, factor=needs.factor, new_account=needs.account is None
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            account = invitation_accept(
                token=token,
                user=visitor,
                password=data.get("password1", ""),
                full_name=data.get("full_name", ""),
                totp_secret=secret,
                totp_code=data.get("code", ""),
            )
        except ApplicationError as exc:
            field = exc.extra.get("field")
            form.add_error(field if field in form.fields else None, exc.message)
        else:
            request.session.pop(session_key, None)
            if visitor is None:
                login(request, account, backend="django.contrib.auth.backends.ModelBackend")
            what = invitation.get_role_display().lower()
            messages.success(
                request,
                "Two-factor authentication is set up; sign in with your password and a code from now on."
                if invitation.role == InvitationRole.MFA_RESET
                else f"Welcome. You are now {what}{f' at {invitation.issuer.name}' if invitation.issuer else ''}.",
            )
            return _invitation_destination(invitation)
    if needs.factor:
        context["totp_url"], context["totp_qr"] = _totp_qr_data_uri(email=invitation.email, secret=secret)
        context["totp_secret"] = secret
    context["form"] = form
    return render(request, "core/invitation_accept.html", context)


@access_required(Perm.INVESTOR_SELF)
def mfa_required(request: HttpRequest) -> HttpResponse:
    """Where a privileged account without a factor is sent: how to get one (never a self-service enrolment)."""
    return render(request, "core/mfa_required.html", {"refused": False, "hide_mfa_banner": True})


@access_required(Perm.ISSUER_APPROVE_MONEY, issuer_kwarg="slug")
def issuer_approvals(request: HttpRequest, issuer: Issuer) -> HttpResponse:
    """Money moved by hand that waits for a second admin, and what was decided lately."""
    context = {
        "issuer": issuer,
        "pending": approvals_pending(issuer=issuer),
        "decided": approvals_decided(issuer=issuer)[:20],
        "threshold_form": FourEyesThresholdForm(
            initial={"threshold_minor": Money(issuer.four_eyes_threshold_minor, "USD").major_text()}
        ),
        "section": "approvals",
    }
    return render(request, "core/approvals.html", context)


@require_POST
@access_required(Perm.ISSUER_APPROVE_MONEY, issuer_kwarg="slug")
def issuer_four_eyes_threshold(request: HttpRequest, issuer: Issuer) -> HttpResponse:
    form = FourEyesThresholdForm(request.POST)
    if not form.is_valid() or form.cleaned_data["threshold_minor"] is None:
        errors = form.errors.get("threshold_minor") or ["Enter the threshold, like 5000 or 5000.50 (0: every amount)."]
        messages.error(request, str(errors[0]))
        return redirect("issuer_approvals", slug=issuer.slug)
    try:
        outcome = four_eyes_threshold_propose(
            issuer=issuer, actor=signed_in_user(request), threshold_minor=form.cleaned_data["threshold_minor"]
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        if outcome.pending:
            messages.info(request, "A looser threshold needs a second admin: it waits for approval below.")
        else:
            messages.success(request, "The threshold is changed.")
    return redirect("issuer_approvals", slug=issuer.slug)


@require_POST
@access_required(Perm.ISSUER_APPROVE_MONEY, issuer_kwarg="slug")
def issuer_approval_decide(request: HttpRequest, issuer: Issuer, approval_id: int) -> HttpResponse:
    approval = get_object_or_404(ApprovalRequest, pk=approval_id, issuer=issuer)
    actor = signed_in_user(request)
    if request.POST.get("decision") == "approve":
        action_perform(
            request,
            lambda: approval_approve(request=approval, actor=actor),
            success=f"Approved and done: {approval.summary}.",
        )
    else:
        own = approval.proposed_by_id == actor.pk
        action_perform(
            request,
            lambda: approval_reject(request=approval, actor=actor, note=request.POST.get("note", "")),
            success="Withdrawn; nothing was recorded." if own else "Rejected; nothing was recorded.",
        )
    return redirect("issuer_approvals", slug=issuer.slug)


def error_403(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "403.html", {"reason": str(exception) if exception else ""}, status=403)


def error_404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "404.html", status=404)


def error_500(request: HttpRequest) -> HttpResponse:
    # No context processors here: whatever failed must not fail again while rendering the apology.
    from django.template import loader

    return HttpResponse(loader.get_template("500.html").render({}), status=500)


@access_required(Perm.INVESTOR_SELF)
def notification_list(request: HttpRequest) -> HttpResponse:
    """Everything the portal told this person, newest first, unread marked."""
    user = signed_in_user(request)
    rows = Notification.objects.filter(recipient=user).order_by("-created_at", "-id")
    page = Paginator(rows, 25).get_page(request.GET.get("page"))
    unread = rows.filter(read_at__isnull=True).count()
    return render(request, "core/notifications.html", {"page": page, "unread": unread})


# One's own notifications are one's own: read-only roles (transfer agents) mark them read too.
@access_required(Perm.INVESTOR_SELF, read_only_roles_may_post=True)
def notification_open(request: HttpRequest, notification_id: int) -> HttpResponse:
    """Follow a notification to its page; it counts as read once opened."""
    notification = get_object_or_404(Notification, pk=notification_id, recipient=signed_in_user(request))
    notifications_mark_read(user=notification.recipient, ids=[notification.pk])
    target = notification.path if url_has_allowed_host_and_scheme(notification.path, allowed_hosts=None) else "/"
    return redirect(target)


@require_POST
@access_required(Perm.INVESTOR_SELF, read_only_roles_may_post=True)
def notifications_read(request: HttpRequest) -> HttpResponse:
    count = notifications_mark_read(user=signed_in_user(request))
    if count:
        messages.success(request, f"Marked {count} notification{'s' if count != 1 else ''} as read.")
    return redirect("notification_list")
