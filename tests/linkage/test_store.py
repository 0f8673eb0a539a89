"""Reading a query in batches gives the frame one read of every row gives: the same values and
the same column types, even where a whole batch of a column is null."""

from __future__ import annotations

import pandas as pd
import psycopg

from jigsaw import database
from linkage import store

QUERY = """
select
    i as record_id,
    case when i > 7 then 'name ' || i end as name,
    case when mod(i, 5) = 0 or i < 4 then null else i end as count,
    case when i between 4 and 6 then null else i * 1.5 end as score,
    case when i > 9 then date '2024-01-01' + i end as born,
    case when mod(i, 3) = 0 then null else mod(i, 2) = 0 end as flag,
    sum(i) over () as total
from generate_series(1, %s) as i
order by i
"""


def test_a_read_in_batches_equals_one_read_of_every_row(conn: psycopg.Connection, monkeypatch):
    monkeypatch.setattr(database, "READ_BATCH_ROWS", 3)
    for rows in (0, 2, 11):
        cursor = conn.execute(QUERY, (rows,))
        whole = pd.DataFrame(cursor.fetchall(), columns=[c.name for c in cursor.description])
        batched = store.read_frame(conn, QUERY, (rows,))
        pd.testing.assert_frame_equal(batched, whole)
        assert len(batched) == rows
