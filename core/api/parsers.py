"""The API's JSON parser: DRF's, with nesting bounded and only real text in strings
(see core.json_limits).

The body's size is bounded before parsing: DRF reads it through Django, which applies
DATA_UPLOAD_MAX_MEMORY_SIZE (a 413, from core.api.exceptions).
"""

from rest_framework import exceptions, parsers

from core.json_limits import JSONNotText, JSONTooDeep, check_nesting


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return check_nesting(super().parse(stream, media_type, parser_context))
        except (RecursionError, JSONTooDeep):
            raise exceptions.ParseError(
                f"JSON parse error - {JSONTooDeep()}; flatten the structure."
            ) from None
        except JSONNotText as error:
            raise exceptions.ParseError(f"JSON parse error - {error}.") from None
