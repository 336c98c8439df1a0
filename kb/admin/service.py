"""Administration writes: users, teams, competitors and their aliases, the
reason taxonomy and the lists of segments, regions, industries and product lines.

Each function checks its input first and raises ValidationFailed, with a
message per field and nothing stored, when any of it is wrong. Then it writes
the change, its audit entry (with the changed fields) and, where the search
index copies what changed, the outbox entries for every affected debrief, and
commits them together.
"""

from typing import Any

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from kb import audit
from kb.admin import queries
from kb.auth.service import MIN_PASSWORD_LENGTH, find_user
from kb.extensions import db
from kb.models import (
    Choice,
    Competitor,
    CompetitorAlias,
    Deal,
    ReasonCategory,
    Role,
    Team,
    User,
    deal_competitors,
)
from kb.models.lookups import CHOICE_KINDS
from kb.search.outbox import enqueue, enqueue_deal_practices
from kb.seed import slugify
from kb.validation import ValidationFailed

NAME_LENGTH = 120  # users, teams, competitors, aliases, reason categories
CHOICE_LENGTH = 80
MAX_PASSWORD_LENGTH = 200


def _clean(value: str | None) -> str:
    """Text as typed, without surrounding or repeated whitespace."""
    return " ".join((value or "").split())


def _check_text(
    errors: dict[str, str], field: str, text: str, max_length: int = NAME_LENGTH
) -> None:
    if not text:
        errors[field] = "This field cannot be empty."
    elif len(text) > max_length:
        errors[field] = f"Keep this to {max_length} characters or fewer."


def _commit(field: str, message: str) -> None:
    """Commit; a unique constraint that a concurrent write beat us to becomes
    the same error the checks give."""
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise ValidationFailed({field: message}) from None


def _fail_if(errors: dict[str, str]) -> None:
    if errors:
        db.session.rollback()  # releases the row locks taken while checking
        raise ValidationFailed(errors)


# --- Users ---------------------------------------------------------------------


def _role(value: Role | str | None, errors: dict[str, str]) -> Role | None:
    try:
        return Role(value)
    except ValueError:
        errors["role"] = "Choose one of: " + ", ".join(r.value for r in Role) + "."
        return None


def _team_named(name: str) -> Team | None:
    return db.session.scalar(select(Team).where(func.lower(Team.name) == name.lower()))


def _pick_team(team_id: int | None, new_team: str | None, errors: dict[str, str]):
    """The team chosen from the list, or the name of a team to create: a Team,
    a str or None (no team)."""
    new_team = _clean(new_team)
    if new_team:
        if team_id is not None:
            errors["new_team"] = "Choose an existing team or type a new one, not both."
        elif len(new_team) > NAME_LENGTH:
            errors["new_team"] = f"Keep this to {NAME_LENGTH} characters or fewer."
        return _team_named(new_team) or new_team
    if team_id is None:
        return None
    team = db.session.get(Team, team_id)
    if team is None:
        errors["team"] = "This team no longer exists; choose another."
    return team


def _team_for(actor: User, team: Team | str | None) -> Team | None:
    if not isinstance(team, str):
        return team
    created = Team(name=team)
    db.session.add(created)
    db.session.flush()
    audit.record(actor, "create", "team", created.id, created.name, {"name": [None, created.name]})
    return created


def _user_facts(user: User) -> dict[str, Any]:
    return {
        "email": user.email,
        "name": user.name,
        "role": user.role.value if user.role else None,
        "team": user.team.name if user.team else None,
        "active": user.active,
    }


def _is_last_active_admin(user: User) -> bool:
    """True when `user` is the only active admin. Locks the admins' rows (on
    PostgreSQL), so two admins cannot demote each other at the same moment."""
    if user.role != Role.ADMIN or not user.active:
        return False
    admins = db.session.scalars(
        select(User.id).where(User.role == Role.ADMIN, User.active.is_(True)).with_for_update()
    ).all()
    return admins == [user.id]


def _last_admin_message(actor: User, user: User, doing: str) -> str:
    who = "You are" if actor.id == user.id else f"{user.display_name} is"
    return f"{who} the last active admin: make another user an admin before {doing}."


def create_user_account(
    actor: User,
    email: str,
    password: str,
    role: Role | str,
    name: str = "",
    team_id: int | None = None,
    new_team: str = "",
) -> User:
    errors: dict[str, str] = {}
    email = (email or "").strip()
    try:
        validate_email(email, check_deliverability=False)
    except EmailNotValidError:
        errors["email"] = "Enter a valid e-mail address, e.g. name@example.com."
    else:
        if len(email) > 254:
            errors["email"] = "Keep this to 254 characters or fewer."
        elif find_user(email) is not None:
            errors["email"] = "A user with this e-mail address already exists."
    name = _clean(name)
    if len(name) > NAME_LENGTH:
        errors["name"] = f"Keep this to {NAME_LENGTH} characters or fewer."
    chosen_role = _role(role, errors)
    if len(password or "") < MIN_PASSWORD_LENGTH:
        errors["password"] = f"Use at least {MIN_PASSWORD_LENGTH} characters."
    elif len(password) > MAX_PASSWORD_LENGTH:
        errors["password"] = f"Keep this to {MAX_PASSWORD_LENGTH} characters or fewer."
    team = _pick_team(team_id, new_team, errors)
    _fail_if(errors)
    user = User(email=email, name=name or email.split("@")[0], role=chosen_role)
    user.team = _team_for(actor, team)
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    changes = audit.diff({}, _user_facts(user))
    audit.record(actor, "create", "user", user.id, f"{user.email} ({user.role.value})", changes)
    _commit("email", "A user with this e-mail address already exists.")
    return user


def update_user(
    actor: User,
    user: User,
    name: str,
    role: Role | str,
    team_id: int | None = None,
    new_team: str = "",
) -> dict[str, list[Any]]:
    """Change a user's name, role and team; returns the changed fields."""
    errors: dict[str, str] = {}
    name = _clean(name)
    _check_text(errors, "name", name)
    chosen_role = _role(role, errors)
    team = _pick_team(team_id, new_team, errors)
    if chosen_role not in (None, Role.ADMIN) and _is_last_active_admin(user):
        errors["role"] = _last_admin_message(actor, user, "changing this role")
    _fail_if(errors)
    before = _user_facts(user)
    user.name, user.role = name, chosen_role
    user.team = _team_for(actor, team)
    changes = audit.diff(before, _user_facts(user))
    if not changes:
        db.session.rollback()
        return {}
    audit.record(actor, "update", "user", user.id, user.email, changes)
    db.session.commit()
    return changes


def set_user_active(actor: User, user: User, active: bool) -> bool:
    """Deactivate (the user can no longer sign in or use the API) or
    reactivate a user. False when there was nothing to change."""
    if user.active == active:
        return False
    if not active and _is_last_active_admin(user):
        _fail_if({"active": _last_admin_message(actor, user, "deactivating this account")})
    user.active = active
    action = "reactivate" if active else "deactivate"
    audit.record(actor, action, "user", user.id, user.email, {"active": [not active, active]})
    db.session.commit()
    return True


def set_password(actor: User, user: User, password: str) -> None:
    """Set a new password for a user who has forgotten theirs."""
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise ValidationFailed({"password": f"Use at least {MIN_PASSWORD_LENGTH} characters."})
    if len(password) > MAX_PASSWORD_LENGTH:
        raise ValidationFailed(
            {"password": f"Keep this to {MAX_PASSWORD_LENGTH} characters or fewer."}
        )
    user.set_password(password)
    audit.record(
        actor,
        "update",
        "user",
        user.id,
        f"{user.email}: new password",
        {"password": ["(hidden)", "(changed)"]},
    )
    db.session.commit()


# --- Teams ---------------------------------------------------------------------


def _check_team_name(name: str, team: Team | None = None) -> None:
    errors: dict[str, str] = {}
    _check_text(errors, "name", name)
    other = _team_named(name) if name else None
    if other is not None and other is not team:
        errors["name"] = f"There is already a team called '{other.name}'."
    _fail_if(errors)


def create_team(actor: User, name: str) -> Team:
    name = _clean(name)
    _check_team_name(name)
    team = Team(name=name)
    db.session.add(team)
    db.session.flush()
    audit.record(actor, "create", "team", team.id, name, {"name": [None, name]})
    _commit("name", "There is already a team with this name.")
    return team


def rename_team(actor: User, team: Team, new_name: str) -> bool:
    new_name = _clean(new_name)
    _check_team_name(new_name, team)
    if new_name == team.name:
        return False
    audit.record(actor, "update", "team", team.id, new_name, {"name": [team.name, new_name]})
    team.name = new_name
    _commit("name", "There is already a team with this name.")
    return True


# --- Competitors and aliases ----------------------------------------------------


def _competitor_named(name: str) -> Competitor | None:
    return db.session.scalar(select(Competitor).where(func.lower(Competitor.name) == name.lower()))


def _alias_keyed(name: str) -> CompetitorAlias | None:
    return db.session.scalar(select(CompetitorAlias).where(CompetitorAlias.key == name.lower()))


def _check_competitor_name(name: str, competitor: Competitor | None = None) -> None:
    errors: dict[str, str] = {}
    _check_text(errors, "name", name)
    if name and (other := _competitor_named(name)) is not None and other is not competitor:
        errors["name"] = f"There is already a competitor called '{other.name}'."
    elif name and (alias := _alias_keyed(name)) is not None:
        if alias.competitor is competitor:
            errors["name"] = (
                f"'{alias.alias}' is an alias of this competitor; remove the alias first."
            )
        else:
            errors["name"] = f"'{alias.alias}' is an alias of {alias.competitor.name}."
    _fail_if(errors)


def _enqueue_competitor(competitor: Competitor) -> int:
    """Queue every debrief and practice whose indexed copy names the competitor."""
    ids = queries.competitor_debrief_ids(competitor.id)
    if ids:
        enqueue("debrief", *ids)
    enqueue_deal_practices(
        select(deal_competitors.c.deal_id).where(deal_competitors.c.competitor_id == competitor.id)
    )
    return len(ids)


def _aliases(competitor: Competitor) -> list[str]:
    return [a.alias for a in competitor.aliases]


def create_competitor(actor: User, name: str) -> Competitor:
    name = _clean(name)
    _check_competitor_name(name)
    competitor = Competitor(name=name)
    db.session.add(competitor)
    db.session.flush()
    audit.record(actor, "create", "competitor", competitor.id, name, {"name": [None, name]})
    _commit("name", "There is already a competitor with this name.")
    return competitor


def rename_competitor(actor: User, competitor: Competitor, new_name: str) -> int | None:
    """Rename; returns how many debriefs were queued for reindexing, or None
    when the name did not change."""
    new_name = _clean(new_name)
    _check_competitor_name(new_name, competitor)
    if new_name == competitor.name:
        return None
    changes = {"name": [competitor.name, new_name]}
    competitor.name = new_name
    queued = _enqueue_competitor(competitor)
    audit.record(actor, "update", "competitor", competitor.id, new_name, changes)
    _commit("name", "There is already a competitor with this name.")
    return queued


def add_alias(actor: User, competitor: Competitor, alias: str) -> CompetitorAlias:
    alias = _clean(alias)
    errors: dict[str, str] = {}
    _check_text(errors, "alias", alias)
    if alias and (existing := _alias_keyed(alias)) is not None:
        owner = "this competitor" if existing.competitor is competitor else existing.competitor.name
        errors["alias"] = f"'{existing.alias}' is already an alias of {owner}."
    elif alias and (named := _competitor_named(alias)) is not None:
        errors["alias"] = (
            "That is this competitor's own name."
            if named is competitor
            else f"'{named.name}' is the name of another competitor."
        )
    _fail_if(errors)
    before = _aliases(competitor)
    record = CompetitorAlias(alias=alias, key=alias.lower())
    competitor.aliases.append(record)
    db.session.flush()
    _enqueue_competitor(competitor)
    audit.record(
        actor,
        "update",
        "competitor",
        competitor.id,
        f"{competitor.name}: alias '{alias}' added",
        {"aliases": [before, sorted([*before, alias], key=str.lower)]},
    )
    _commit("alias", "That alias is already taken.")
    return record


def remove_alias(actor: User, alias: CompetitorAlias) -> None:
    competitor = alias.competitor
    before = _aliases(competitor)
    competitor.aliases.remove(alias)  # the delete-orphan cascade deletes the row
    db.session.flush()
    _enqueue_competitor(competitor)
    audit.record(
        actor,
        "update",
        "competitor",
        competitor.id,
        f"{competitor.name}: alias '{alias.alias}' removed",
        {"aliases": [before, _aliases(competitor)]},
    )
    db.session.commit()


# --- The reason taxonomy --------------------------------------------------------


def _next_position(*where) -> int:
    highest = db.session.scalar(select(func.max(ReasonCategory.position)).where(*where))
    return 0 if highest is None else highest + 1


def _check_category_name(name: str, slug: str, kind: str) -> None:
    errors: dict[str, str] = {}
    _check_text(errors, "name", name)
    if name and not slug.rsplit(".", 1)[-1]:
        errors["name"] = "Use at least one letter or digit."
    elif name:
        existing = db.session.scalar(select(ReasonCategory).where(ReasonCategory.slug == slug))
        if existing is not None:
            hint = "" if existing.active else " (deactivated: reactivate it instead)"
            errors["name"] = f"There is already a {kind} '{existing.name}'{hint}."
    _fail_if(errors)


def add_group(actor: User, name: str) -> ReasonCategory:
    name = _clean(name)
    slug = slugify(name)
    _check_category_name(name, slug, "group")
    group = ReasonCategory(
        slug=slug, name=name, position=_next_position(ReasonCategory.parent_id.is_(None))
    )
    db.session.add(group)
    db.session.flush()
    changes = {"name": [None, name], "slug": [None, slug]}
    audit.record(actor, "create", "reason_category", group.id, name, changes)
    _commit("name", "There is already a group with this name.")
    return group


def add_category(actor: User, group: ReasonCategory, name: str) -> ReasonCategory:
    """A category within `group`; its slug ("price.total-cost") never changes."""
    if group.parent_id is not None:
        raise ValidationFailed({"name": "Categories are added to a group, not to a category."})
    name = _clean(name)
    slug = f"{group.slug}.{slugify(name)}"
    _check_category_name(name, slug, "category")
    category = ReasonCategory(
        parent=group,
        slug=slug,
        name=name,
        position=_next_position(ReasonCategory.parent_id == group.id),
    )
    db.session.add(category)
    db.session.flush()
    changes = {"name": [None, name], "slug": [None, slug], "group": [None, group.name]}
    audit.record(actor, "create", "reason_category", category.id, category.label, changes)
    _commit("name", "There is already a category with this name.")
    return category


def rename_category(actor: User, category: ReasonCategory, new_name: str) -> int | None:
    """Rename a group or a category; the slug stays. Returns how many debriefs
    were queued for reindexing, or None when the name did not change."""
    new_name = _clean(new_name)
    errors: dict[str, str] = {}
    _check_text(errors, "name", new_name)
    siblings = select(ReasonCategory).where(
        func.lower(ReasonCategory.name) == new_name.lower(),
        ReasonCategory.id != category.id,
        ReasonCategory.parent_id.is_(None)
        if category.parent_id is None
        else ReasonCategory.parent_id == category.parent_id,
    )
    if new_name and (twin := db.session.scalar(siblings)) is not None:
        errors["name"] = f"'{twin.name}' already exists here."
    _fail_if(errors)
    if new_name == category.name:
        return None
    changes = {"name": [category.name, new_name]}
    category.name = new_name
    category_ids = [c.id for c in category.children] if category.parent_id is None else []
    ids = queries.category_debrief_ids([category.id, *category_ids])
    if ids:
        enqueue("debrief", *ids)
    audit.record(actor, "update", "reason_category", category.id, category.label, changes)
    db.session.commit()
    return len(ids)


def set_category_active(actor: User, category: ReasonCategory, active: bool) -> bool:
    """A deactivated category is no longer offered for new reasons; reasons
    that have it keep it."""
    if category.parent_id is None:
        raise ValidationFailed({"active": "Deactivate the categories of a group one by one."})
    if category.active == active:
        return False
    category.active = active
    action = "reactivate" if active else "deactivate"
    changes = {"active": [not active, active]}
    audit.record(actor, action, "reason_category", category.id, category.label, changes)
    db.session.commit()
    return True


# --- Segments, regions, industries and product lines -----------------------------


def _check_choice(kind: str, value: str, choice: Choice | None = None) -> None:
    errors: dict[str, str] = {}
    if kind not in CHOICE_KINDS:
        errors["kind"] = "Choose one of: " + ", ".join(CHOICE_KINDS) + "."
    _check_text(errors, "value", value, CHOICE_LENGTH)
    listed = db.session.scalar(
        select(Choice).where(Choice.kind == kind, func.lower(Choice.value) == value.lower())
    )
    if value and listed is not None and listed is not choice:
        errors["value"] = f"'{listed.value}' is already on the list."
    _fail_if(errors)


def add_choice(actor: User, kind: str, value: str) -> Choice:
    value = _clean(value)
    _check_choice(kind, value)
    highest = db.session.scalar(select(func.max(Choice.position)).where(Choice.kind == kind))
    choice = Choice(kind=kind, value=value, position=0 if highest is None else highest + 1)
    db.session.add(choice)
    db.session.flush()
    audit.record(actor, "create", "choice", choice.id, f"{kind}: {value}", {"value": [None, value]})
    _commit("value", "That value is already on the list.")
    return choice


def rename_choice(actor: User, choice: Choice, new_value: str) -> int | None:
    """Rename a listed value and every deal that uses it. Returns the number
    of deals changed, or None when the value did not change."""
    new_value = _clean(new_value)
    _check_choice(choice.kind, new_value, choice)
    if new_value == choice.value:
        return None
    old_value = choice.value
    ids = queries.choice_debrief_ids(choice.kind, old_value)
    if choice.kind == "segment":
        enqueue_deal_practices(queries.deals_with_choice(choice.kind, old_value))
    column = getattr(Deal, choice.kind)
    result = db.session.execute(
        update(Deal)
        .where(func.lower(column) == old_value.lower())
        .values({choice.kind: new_value})
        .execution_options(synchronize_session="fetch")
    )
    choice.value = new_value
    if ids:
        enqueue("debrief", *ids)
    deals = result.rowcount
    audit.record(
        actor,
        "update",
        "choice",
        choice.id,
        f"{choice.kind}: {new_value} ({deals} deal{'' if deals == 1 else 's'} updated)",
        {"value": [old_value, new_value]},
    )
    _commit("value", "That value is already on the list.")
    return deals


def remove_choice(actor: User, choice: Choice) -> None:
    in_use = queries.choice_usage(choice.kind, choice.value)
    if in_use:
        raise ValidationFailed(
            {
                "value": f"'{choice.value}' is used by {in_use} deal{'' if in_use == 1 else 's'}: "
                "rename it instead, or change those deals first."
            }
        )
    summary = f"{choice.kind}: {choice.value}"
    audit.record(actor, "delete", "choice", choice.id, summary, {"value": [choice.value, None]})
    db.session.delete(choice)
    db.session.commit()
