"""Commands for the newsroom's tools: API tokens and webhook endpoints."""

from __future__ import annotations

import click
from flask import current_app

from intake import accounts, tokens
from intake.cli import account_named, intake_cli
from intake.extensions import db
from intake.models import HOOK_EVENTS, utcnow
from intake.workflow import hooks


@intake_cli.command("create-token")
@click.argument("email")
@click.option("--name", help="What the token is for [token-<date>-<time>].")
def create_token(email: str, name: str | None) -> None:
    """Make a personal API token for a staff account; print it (alone on the last line)."""
    user = account_named(email)
    chosen = name if name is not None else tokens.default_name(utcnow())
    try:
        token = tokens.create(db.session, user, chosen)
    except tokens.TokenError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Token {tokens.check_name(chosen)!r} for {user.email} ({user.role}); shown once:")
    click.echo(token)


@intake_cli.command("revoke-token")
@click.argument("email")
@click.argument("name")
def revoke_token(email: str, name: str) -> None:
    """Revoke a staff account's API token by its name."""
    user = account_named(email)
    try:
        tokens.revoke(db.session, user, name, actor=accounts.COMMAND_LINE)
    except tokens.TokenError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Revoked {user.email}'s token {name!r}.")


@intake_cli.group("webhook")
def webhook() -> None:
    """Register, list and remove webhook endpoints."""


@webhook.command("add")
@click.argument("url")
@click.option(
    "--event",
    "events",
    multiple=True,
    required=True,
    type=click.Choice(HOOK_EVENTS),
    help="An event to send (repeat for several).",
)
@click.option(
    "--with-text",
    is_flag=True,
    help="Payloads carry the reader's text and contact details where emails could.",
)
def webhook_add(url: str, events: tuple[str, ...], with_text: bool) -> None:
    """Register an endpoint; print its signing secret (whsec_..., shown once)."""
    try:
        endpoint, secret = hooks.add_endpoint(
            db.session,
            url,
            events,
            with_text=with_text,
            actor=accounts.COMMAND_LINE,
            allow_private=bool(current_app.config["INTAKE_WEBHOOK_ALLOW_PRIVATE"]),
        )
    except hooks.EndpointError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Webhook {endpoint.id}: {endpoint.url} for {', '.join(endpoint.events)}")
    click.echo(secret)


@webhook.command("list")
def webhook_list() -> None:
    """List the registered endpoints (never their secrets)."""
    found = hooks.endpoints(db.session)
    if not found:
        click.echo("No webhooks.")
    for endpoint in found:
        text = " with text" if endpoint.with_text else ""
        click.echo(f"{endpoint.id}\t{endpoint.url}\t{','.join(endpoint.events)}{text}")


@webhook.command("remove")
@click.argument("endpoint_id", type=int)
def webhook_remove(endpoint_id: int) -> None:
    """Remove an endpoint; what still waits to be sent to it is cancelled."""
    try:
        cancelled = hooks.remove_endpoint(db.session, endpoint_id, accounts.COMMAND_LINE)
    except hooks.EndpointError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Removed webhook {endpoint_id}; {cancelled} waiting delivery(ies) cancelled.")
