"""Flask extensions, created once and bound to an app by the factory."""

import click
from flask import g
from flask.cli import with_appcontext
from flask_login import LoginManager
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import Engine, MetaData, event
from sqlalchemy.orm import DeclarativeBase

# Named constraints, so that migrations can drop and alter them on every database.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class _MigrateConfig:
    """What Flask-Migrate keeps in `app.extensions["migrate"]`, until
    something other than the migrations folder is asked of it: then
    Flask-Migrate is set up for real (which imports Alembic) and answers."""

    def __init__(self, app, db, directory: str, options: dict):
        self._app, self.db, self.directory, self._options = app, db, directory, options

    def __getattr__(self, name: str):
        from flask_migrate import Migrate

        if name.startswith("__"):
            raise AttributeError(name)
        Migrate().init_app(self._app, self.db, directory=self.directory, **self._options)
        return getattr(self._app.extensions["migrate"], name)


class _MigrationCommands(click.Group):
    """`db`: Flask-Migrate's commands, imported when one is run."""

    def _real(self) -> click.Group:
        from flask_migrate.cli import db as commands

        return commands

    def list_commands(self, ctx):
        return self._real().list_commands(ctx)

    def get_command(self, ctx, name):
        return self._real().get_command(ctx, name)


@click.group("db", cls=_MigrationCommands)
@click.option("-d", "--directory", default=None, help="Migration script directory.")
@click.option("-x", "--x-arg", multiple=True, help="Arguments for the migrations' env.py.")
@with_appcontext
def _migration_commands(directory, x_arg) -> None:
    """Database migrations (Alembic)."""
    # As Flask-Migrate's own group does: its commands read these.
    g.directory = directory
    g.x_arg = x_arg


class LazyMigrate:
    """Flask-Migrate without importing Alembic at start-up: Alembic and its
    templates cost every web worker about 11 MB, and only `kb init`,
    `kb restore` and the `db` commands use them."""

    def init_app(self, app, db, directory: str, **options) -> None:
        app.extensions["migrate"] = _MigrateConfig(app, db, str(directory), options)
        app.cli.add_command(_migration_commands)


db = SQLAlchemy(model_class=Base)
migrate = LazyMigrate()
csrf = CSRFProtect()
login_manager = LoginManager()


def enforce_sqlite_foreign_keys(engine: Engine) -> None:
    """SQLite ignores foreign keys (and ON DELETE CASCADE) unless asked on
    every connection; PostgreSQL always enforces them."""
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _foreign_keys_on(dbapi_connection, _record) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()
