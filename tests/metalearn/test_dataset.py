"""Reading uploaded files: the shape of a table, batch by batch, agrees with reading it whole."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import DATASETS
from tunelake.errors import UserInputError
from tunelake.metalearn.dataset import read_table, table_shape


def test_the_shape_is_what_a_whole_read_gives(tmp_path: Path):
    late_text = tmp_path / "late.csv"  # a column of numbers for 2 MB, then a word: a whole read makes it text
    late_text.write_text("a,b\n" + "1,2\n" * 500_000 + "x,3\n")
    tabs = tmp_path / "t.tsv"
    tabs.write_text("a\tb\n1\t2\n")
    for path in (late_text, tabs, DATASETS / "iris.parquet"):
        table = read_table(path)
        assert table_shape(path) == (table.num_rows, table.column_names), path


@pytest.mark.parametrize("name,content", [("ragged.csv", b"a,b\n" + b"1,2\n" * 500_000 + b"1,2,3\n"),
                                          ("garbage.parquet", b"\x00\x01 not a table"),
                                          ("data.xlsx", b"a\n1\n")])
def test_a_file_a_whole_read_refuses_is_refused(tmp_path: Path, name: str, content: bytes):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(UserInputError) as whole:
        read_table(path)
    with pytest.raises(UserInputError) as batched:
        table_shape(path)
    assert str(batched.value).split(":")[0] == str(whole.value).split(":")[0]
