"""csv_response: the one CSV download every export answers with."""

from django.http import StreamingHttpResponse

from core.csv import csv_chunks, csv_response


def test_streams_the_chunks_as_a_csv_attachment():
    response = csv_response(csv_chunks([["name"], ["=1+1"]]), "contacts-20240501.csv")
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="contacts-20240501.csv"'
    assert b"".join(response.streaming_content) == b"name\r\n'=1+1\r\n"


def test_an_unusual_filename_cannot_break_the_header():
    assert csv_response([], 'a"b.csv')["Content-Disposition"] == r'attachment; filename="a\"b.csv"'
    assert (
        csv_response([], "é.csv")["Content-Disposition"]
        == "attachment; filename*=utf-8''%C3%A9.csv"
    )
