"""The guided labs: list, page, grading, and the panels that run a lab's steps in the
browser."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from accounts.http import AuthenticatedRequest

from . import selectors, services
from .engine import EngineError, Inventory, sandbox_subnets
from .forms import (
    AnalystForm,
    ClockForm,
    ClusterInitializeForm,
    EnvelopeDecryptForm,
    EnvelopeEncryptForm,
    FileForm,
    HsmAddForm,
    HsmChoiceForm,
    HsmLoginForm,
    PkiIssueForm,
    PkiVerifyForm,
)
from .labs import LABS, PACKAGE_SUFFIX, Lab, grade, lab_by_slug, lab_state, pki_tools, tools
from .labs.client_lab import client_setup
from .models import LabProgress, SandboxAccount
from .views_common import account_of, changed, console_context

# --- labs ------------------------------------------------------------------------------------------


@login_required
@require_GET
def lab_list(request: AuthenticatedRequest) -> HttpResponse:
    progress = {p.lab_slug: p for p in LabProgress.objects.filter(user=request.user)}
    rows = [(lab, progress.get(lab.slug)) for lab in LABS]
    done = sum(1 for _, p in rows if p is not None and p.is_complete)
    return render(
        request,
        "sandbox/lab_list.html",
        {
            "account": account_of(request),
            "rows": rows,
            "done": done,
            "total": len(LABS),
            "started": bool(progress),
            "first_lab": LABS[0],
        },
    )


def _key_choices(inventory: Inventory, *, symmetric: bool) -> list[tuple[str, str]]:
    choices = []
    for key in inventory.kms_keys:
        if symmetric and key.spec != "SYMMETRIC_DEFAULT":
            continue
        names = ", ".join(inventory.aliases_of(key.key_id)) or key.key_id[:8] + "…"
        choices.append((key.key_id, f"{names} ({key.spec}, {key.state})"))
    return choices


def _panel_choices(account: SandboxAccount, inventory: Inventory) -> dict[str, Any]:
    """What the lab panels' menus offer, read from the engine's inventory and the files."""
    clusters = inventory.live_clusters()
    cluster_ids = [cluster.cluster_id for cluster in clusters]
    files = [f.name for f in selectors.files_of(account=account)]
    return {
        "keys": _key_choices(inventory, symmetric=False),
        "symmetric": _key_choices(inventory, symmetric=True),
        "files": [f for f in files if not f.endswith(PACKAGE_SUFFIX)],
        "file_names": files,
        "packages": [f for f in files if f.endswith(PACKAGE_SUFFIX)],
        "clusters": cluster_ids,
        "uninitialized": [c.cluster_id for c in clusters if c.state == "UNINITIALIZED"],
        "hsms": [
            (hsm.hsm_id, f"{hsm.hsm_id} · {hsm.zone} · {hsm.state}")
            for hsm in inventory.hsms
            if hsm.cluster_id in cluster_ids
        ],
        "zones": list(sandbox_subnets(account).values()),
        "csrs": [(c.cluster_id, c.csr) for c in clusters if c.state == "UNINITIALIZED" and c.csr],
    }


PANEL_FORMS: dict[str, Callable[..., Any]] = {
    "envelope_encrypt": lambda c, **kw: EnvelopeEncryptForm(
        file_names=c["files"], keys=c["symmetric"], **kw
    ),
    "envelope_decrypt": lambda c, **kw: EnvelopeDecryptForm(packages=c["packages"], **kw),
    "analyst": lambda c, **kw: AnalystForm(keys=c["keys"], **kw),
    "ca_session": lambda c, **kw: ClusterInitializeForm(clusters=c["uninitialized"], **kw),
    "ca_own": lambda c, **kw: ClusterInitializeForm(clusters=c["uninitialized"], own=True, **kw),
    "hsm_choice": lambda c, **kw: HsmChoiceForm(hsms=c["hsms"], **kw),
    "hsm_add": lambda c, **kw: HsmAddForm(clusters=c["clusters"], zones=c["zones"], **kw),
    "hsm_login": lambda c, **kw: HsmLoginForm(clusters=c["clusters"], **kw),
    "pki_issue": lambda c, **kw: PkiIssueForm(clusters=c["clusters"], **kw),
    "pki_verify": lambda c, **kw: PkiVerifyForm(file_names=c["file_names"], **kw),
}


def _panel_form(name: str, choices: dict[str, Any], data: Any = None) -> Any:
    """One panel's form; ids are prefixed with the panel so several forms share a page."""
    return PANEL_FORMS[name](choices, data=data, auto_id=f"{name.replace('_', '-')}-%s")


def _lab_panels(
    request: AuthenticatedRequest, choices: dict[str, Any], bound: dict[str, Any]
) -> dict[str, Any]:
    """Forms of the lab's helper panels (a bound form replaces its empty twin)."""
    panels = {name: _panel_form(name, choices) for name in PANEL_FORMS}
    panels.update(bound)
    return {
        "panels": panels,
        "cluster_csrs": choices["csrs"],
        "session_ca": request.session.get(tools.SESSION_CA, {}).get("certificate"),
        "has_clusters": bool(choices["clusters"]),
    }


def render_lab(
    request: AuthenticatedRequest,
    account: SandboxAccount,
    lab: Lab,
    *,
    fresh: dict[str, Any] | None = None,
    result: dict[str, Any] | None = None,
    bound: dict[str, Any] | None = None,
    graded: Any = None,
    partial: str = "",
) -> HttpResponse:
    context = _lab_context(request, account, lab, bound=bound)
    context.update(grade=graded, fresh=fresh, result=result or {})
    template = "sandbox/lab_detail.html" + (f"#{partial}" if partial else "")
    response = render(request, template, context)
    response["Cache-Control"] = "no-store"
    return response


def _lab_context(
    request: AuthenticatedRequest,
    account: SandboxAccount,
    lab: Lab,
    *,
    bound: dict[str, Any] | None,
) -> dict[str, Any]:
    snapshot = selectors.engine_snapshot(account=account)
    progress = LabProgress.objects.filter(user=request.user, lab_slug=lab.slug).first()
    passed = set(progress.passed_steps) if progress else set()
    return {
        "account": account,
        "lab": lab,
        "progress": progress,
        "passed_steps": passed,
        "file_form": FileForm(),
        "clock_form": ClockForm(),
        "files": selectors.files_of(account=account),
        "next": lab.slug,
        "subnets": sandbox_subnets(account),
        **console_context(account),
        **_lab_panels(request, _panel_choices(account, snapshot.inventory), bound or {}),
        "client_setup": _client_setup(request, account, snapshot.inventory, lab),
    }


def _client_setup(
    request: AuthenticatedRequest, account: SandboxAccount, inventory: Inventory, lab: Lab
) -> dict[str, Any] | None:
    if "hsm-client" not in lab.helpers:
        return None
    key_id = selectors.newest_root_access_key_id(account=account)
    return client_setup(request, account.region, inventory, key_id)


def _lab_or_404(slug: str) -> Lab:
    lab = lab_by_slug(slug)
    if lab is None:
        raise Http404("No such lab")
    return lab


@login_required
@require_GET
def lab_detail(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    lab = _lab_or_404(slug)
    return render_lab(request, account_of(request), lab)


@login_required
@require_POST
def lab_check(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    lab = _lab_or_404(slug)
    account = account_of(request)
    graded = grade(lab, lab_state(account=account))
    services.lab_progress_record(
        user=request.user,
        lab_slug=lab.slug,
        passed_steps=graded.passed_slugs,
        complete=graded.complete,
    )
    if graded.complete:
        messages.success(request, f"Lab {lab.number} complete. Well done!")
    return render_lab(request, account, lab, graded=graded, partial="steps" if request.htmx else "")


# --- lab panels --------------------------------------------------------------------------------------

# A panel's outcome: (results to show, bound forms with errors).
PanelResult = tuple[dict[str, Any], dict[str, Any]]
LabAction = Callable[[AuthenticatedRequest, SandboxAccount, dict[str, Any]], PanelResult]


def _panel_envelope_encrypt(
    request: AuthenticatedRequest, account: SandboxAccount, choices: dict[str, Any]
) -> PanelResult:
    form = _panel_form("envelope_encrypt", choices, request.POST)
    if not form.is_valid():
        return {}, {"envelope_encrypt": form}
    sealed = tools.envelope_encrypt(
        account=account,
        file_name=form.cleaned_data["file_name"],
        key_id=form.cleaned_data["key_id"],
        context=form.cleaned_data["context"],
    )
    return {"envelope_sealed": sealed}, {}


def _panel_envelope_decrypt(
    request: AuthenticatedRequest, account: SandboxAccount, choices: dict[str, Any]
) -> PanelResult:
    form = _panel_form("envelope_decrypt", choices, request.POST)
    if not form.is_valid():
        return {}, {"envelope_decrypt": form}
    opened = tools.envelope_decrypt(account=account, package_name=form.cleaned_data["package"])
    return {"envelope_opened": opened}, {}


def _panel_analyst(
    request: AuthenticatedRequest, account: SandboxAccount, choices: dict[str, Any]
) -> PanelResult:
    form = _panel_form("analyst", choices, request.POST)
    if not form.is_valid():
        return {}, {"analyst": form}
    attempt = tools.analyst_attempt(
        account=account,
        key_id=form.cleaned_data["key_id"],
        operation=form.cleaned_data["operation"],
        context=form.cleaned_data["context"],
    )
    return {"analyst": attempt}, {}


def _panel_ca_generate(
    request: AuthenticatedRequest, account: SandboxAccount, choices: dict[str, Any]
) -> PanelResult:
    request.session[tools.SESSION_CA] = tools.session_ca_create(account=account)
    return {"ca_message": "A CA was generated for this browser session."}, {}


def _panel_ca_session(
    request: AuthenticatedRequest, account: SandboxAccount, choices: dict[str, Any]
) -> PanelResult:
    form = _panel_form("ca_session", choices, request.POST)
    stored = request.session.get(tools.SESSION_CA)
    if not form.is_valid():
        return {}, {"ca_session": form}
    if not stored:
        return {"ca_error": "Generate a CA for this browser session first."}, {}
    answer = tools.cluster_initialize(
        account=account, cluster_id=form.cleaned_data["cluster_id"], session_ca=stored
    )
    return {"ca_message": f"InitializeCluster: {answer['State']}. Fast-forward 2 minutes."}, {}


def _panel_ca_own(
    request: AuthenticatedRequest, account: SandboxAccount, choices: dict[str, Any]
) -> PanelResult:
    form = _panel_form("ca_own", choices, request.POST)
    if not form.is_valid():
        return {}, {"ca_own": form}
    answer = tools.cluster_initialize(
        account=account,
        cluster_id=form.cleaned_data["cluster_id"],
        signed_certificate=form.cleaned_data["signed_certificate"],
        trust_anchor=form.cleaned_data["trust_anchor"],
    )
    return {"ca_message": f"InitializeCluster: {answer['State']}. Fast-forward 2 minutes."}, {}


def _panel_hsm_change(
    request: AuthenticatedRequest, account: SandboxAccount, choices: dict[str, Any]
) -> PanelResult:
    form = _panel_form("hsm_choice", choices, request.POST)
    if not form.is_valid():
        return {}, {"hsm_choice": form}
    hsm_id = form.cleaned_data["hsm_id"]
    if form.cleaned_data["operation"] == "fail":
        tools.hsm_fail(account=account, hsm_id=hsm_id)
        return {"hsm_message": f"{hsm_id} failed: it is DEGRADED, and so is the cluster."}, {}
    answer = tools.hsm_replace(account=account, hsm_id=hsm_id)
    new_id = answer["Hsm"]["HsmId"]
    return {
        "hsm_message": f"{hsm_id} is being deleted after a backup; {new_id} is being "
        "created from that backup. Fast-forward 10 minutes."
    }, {}


def _panel_hsm_add(
    request: AuthenticatedRequest, account: SandboxAccount, choices: dict[str, Any]
) -> PanelResult:
    form = _panel_form("hsm_add", choices, request.POST)
    if not form.is_valid():
        return {}, {"hsm_add": form}
    answer = tools.hsm_add(
        account=account, cluster_id=form.cleaned_data["cluster_id"], zone=form.cleaned_data["zone"]
    )
    return {"hsm_message": f"{answer['Hsm']['HsmId']} is being created (10 minutes)."}, {}


def _panel_hsm_login(kind: str) -> LabAction:
    def action(
        request: AuthenticatedRequest, account: SandboxAccount, choices: dict[str, Any]
    ) -> PanelResult:
        form = _panel_form("hsm_login", choices, request.POST)
        if not form.is_valid():
            return {}, {"hsm_login": form}
        arguments = {
            "account": account,
            "cluster_id": form.cleaned_data["cluster_id"],
            "username": form.cleaned_data["username"],
            "password": form.cleaned_data["password"],
            "label": form.cleaned_data["label"],
        }
        run = tools.hsm_use_key if kind == "use" else tools.hsm_read_value
        return {"hsm_use": run(**arguments)}, {}

    return action


def _panel_pki_issue(
    request: AuthenticatedRequest, account: SandboxAccount, choices: dict[str, Any]
) -> PanelResult:
    form = _panel_form("pki_issue", choices, request.POST)
    if not form.is_valid():
        return {}, {"pki_issue": form}
    issued = pki_tools.pki_issue(
        account=account,
        cluster_id=form.cleaned_data["cluster_id"],
        username=form.cleaned_data["username"],
        password=form.cleaned_data["password"],
        ca_label=form.cleaned_data["label"],
        csr_pem=form.cleaned_data["csr"],
        common_name=form.cleaned_data["common_name"],
    )
    return {"pki_issued": issued}, {}


def _panel_pki_verify(
    request: AuthenticatedRequest, account: SandboxAccount, choices: dict[str, Any]
) -> PanelResult:
    form = _panel_form("pki_verify", choices, request.POST)
    if not form.is_valid():
        return {}, {"pki_verify": form}
    lines = pki_tools.pki_verify(
        account=account,
        leaf_file=form.cleaned_data["leaf_file"],
        ca_file=form.cleaned_data["ca_file"],
    )
    return {"pki_verified": lines}, {}


LAB_ACTIONS: dict[str, tuple[str, LabAction]] = {
    # action: (panel partial to re-render, handler)
    "envelope-encrypt": ("panel-envelope", _panel_envelope_encrypt),
    "envelope-decrypt": ("panel-envelope", _panel_envelope_decrypt),
    "analyst": ("panel-analyst", _panel_analyst),
    "ca-generate": ("panel-ca", _panel_ca_generate),
    "ca-session": ("panel-ca", _panel_ca_session),
    "ca-own": ("panel-ca", _panel_ca_own),
    "hsm-change": ("panel-hsm-ops", _panel_hsm_change),
    "hsm-add": ("panel-hsm-ops", _panel_hsm_add),
    "hsm-use": ("panel-hsm-use", _panel_hsm_login("use")),
    "hsm-read": ("panel-hsm-read", _panel_hsm_login("read")),
    "pki-issue": ("panel-pki", _panel_pki_issue),
    "pki-verify": ("panel-pki", _panel_pki_verify),
}


@login_required
@require_POST
def lab_action(request: AuthenticatedRequest, slug: str, action: str) -> HttpResponse:
    lab = _lab_or_404(slug)
    if action not in LAB_ACTIONS:
        raise Http404("No such lab action")
    account = account_of(request)
    partial, handler = LAB_ACTIONS[action]
    try:
        choices = _panel_choices(account, selectors.engine_snapshot(account=account).inventory)
        result, bound = handler(request, account, choices)
    except tools.LabToolError as error:
        result, bound = {"error": str(error)}, {}
    except EngineError as error:
        code = getattr(error, "code", type(error).__name__)
        result, bound = {"error": f"{code}: {getattr(error, 'message', '') or error}"}, {}
    result["action"] = action
    result["panel"] = partial
    response = render_lab(
        request, account, lab, result=result, bound=bound, partial=partial if request.htmx else ""
    )
    return changed(response)
