"""The one database setting: URL parsing, masking, and the embedded fallback's shape."""

from jigsaw import database


def test_url_round_trip_tcp():
    url = "postgresql://alice:s%40cret@db.internal:6543/jigsaw"
    parts = database.parse_url(url)
    assert (parts.host, parts.port, parts.user, parts.password, parts.dbname) == (
        "db.internal",
        6543,
        "alice",
        "s@cret",
        "jigsaw",
    )
    assert database.parse_url(parts.url()) == parts


def test_url_round_trip_socket_directory():
    url = "postgresql://postgres@:5432/jigsaw?host=%2Ftmp%2Fpg%20dir"
    parts = database.parse_url(url)
    assert parts.host == "/tmp/pg dir"
    assert database.parse_url(parts.url()) == parts


def test_describe_masks_password():
    shown = database.describe("postgresql://alice:topsecret@db:5432/jigsaw")
    assert "topsecret" not in shown
    assert "***" in shown


def test_with_database_and_user_keep_the_server():
    url = "postgresql://postgres@127.0.0.1:5432/postgres"
    other = database.parse_url(database.with_user(database.with_database(url, "x"), "analyst"))
    assert (other.host, other.port, other.dbname, other.user) == ("127.0.0.1", 5432, "x", "analyst")


def test_explicit_url_wins_and_is_exported(monkeypatch, database_url):
    monkeypatch.setenv("JIGSAW_DATABASE_URL", database_url)
    monkeypatch.setenv("PGHOST", "nowhere.invalid")
    assert database.resolve_database_url() == database_url
    assert database.parse_url(database_url).dbname == __import__("os").environ["JIGSAW_DB_NAME"]


def test_libpq_variables_are_honoured(monkeypatch, server_url):
    parts = database.parse_url(server_url)
    monkeypatch.delenv("JIGSAW_DATABASE_URL", raising=False)
    monkeypatch.setenv("PGHOST", parts.host)
    monkeypatch.setenv("PGPORT", str(parts.port))
    monkeypatch.setenv("PGUSER", parts.user)
    monkeypatch.setenv("PGDATABASE", "jigsaw_pgvars_probe")
    try:
        url = database.resolve_database_url()
        assert database.parse_url(url).dbname == "jigsaw_pgvars_probe"
        with database.connect(url) as conn:
            assert conn.execute("select current_database()").fetchone()[0] == "jigsaw_pgvars_probe"
    finally:
        database.drop_database(database.with_database(server_url, "jigsaw_pgvars_probe"))
