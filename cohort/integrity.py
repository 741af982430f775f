"""Every app's integrity check, in one list: what `manage.py check_integrity` runs.

A check is a function `check_…(*, repair: bool = False)` returning its findings (each
printable, with a `count` of bad rows and `repaired`), for rows the database does not
guard itself (no foreign key constraint, for speed). Add an app's check here.
"""

from segments.integrity import check_segment_rows

CHECKS = [
    check_segment_rows,
    # tags: its link rows (tags.integrity.check_tag_links) once they lose their constraints.
]
