"""Every app's integrity check, in one list: what `manage.py check_integrity` runs.

A check is a function `check_…(*, repair: bool = False)` returning its findings (each
printable, with a `count` of bad rows and `repaired`), for rows the database does not
guard itself (no foreign key constraint, for speed). Add an app's check here.
"""

from segments.integrity import check_segment_rows
from tags.integrity import check_tag_links


def check_tag_link_rows(*, repair: bool = False) -> list:
    return check_tag_links(repair=repair).findings()


CHECKS = [
    check_segment_rows,
    check_tag_link_rows,
]
