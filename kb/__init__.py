"""Win/loss interview knowledge base."""

from flask import Flask
from werkzeug.routing import IntegerConverter

from kb.config import PROJECT_ROOT, from_environment
from kb.extensions import csrf, db, enforce_sqlite_foreign_keys, login_manager, migrate
from kb.validation import MAX_ID

MIGRATIONS_DIR = str(PROJECT_ROOT / "kb" / "migrations")


class IdConverter(IntegerConverter):
    """<int:...> in a URL: a number too large for an id column does not match
    (a 404) rather than overflowing the database driver (a 500)."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def create_app(config: dict | None = None) -> Flask:
    app = Flask(
        __name__,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    app.config.from_mapping(from_environment(app.instance_path))
    if config:
        app.config.update(config)

    db.init_app(app)
    with app.app_context():
        enforce_sqlite_foreign_keys(db.engine)
    migrate.init_app(app, db, directory=MIGRATIONS_DIR, render_as_batch=True)
    csrf.init_app(app)
    login_manager.init_app(app)

    app.url_map.converters["int"] = IdConverter
    from kb import models  # noqa: F401  (registers the tables)
    from kb.admin.routes import bp as admin_bp
    from kb.admin.settings import bp as settings_bp
    from kb.analytics.routes import bp as analytics_bp
    from kb.api import bp as api_bp
    from kb.auth.routes import bp as auth_bp
    from kb.deals.routes import bp as deals_bp
    from kb.debriefs.routes import bp as debriefs_bp
    from kb.errors import register_error_pages
    from kb.exports.routes import bp as exports_bp
    from kb.health import bp as health_bp
    from kb.observability import init_app as init_observability
    from kb.practices.routes import bp as practices_bp
    from kb.review.routes import bp as review_bp
    from kb.search.routes import bp as search_bp
    from kb.security import register_security_headers
    from kb.templating import register_template_helpers
    from kb.themes.routes import bp as themes_bp
    from kb.views import bp as main_bp

    for blueprint in (
        main_bp,
        auth_bp,
        debriefs_bp,
        search_bp,
        practices_bp,
        deals_bp,
        api_bp,
        health_bp,
        admin_bp,
        settings_bp,
        themes_bp,
        analytics_bp,
        exports_bp,
        review_bp,
    ):
        app.register_blueprint(blueprint)
    register_error_pages(app)
    register_template_helpers(app)
    register_security_headers(app)
    init_observability(app)

    from kb.cli import register_commands

    register_commands(app)

    from kb import search

    search.init_app(app)
    from kb.themes import keeper

    keeper.init_app(app)
    return app
