"""What the import endpoint answers: the plan (dry run) or what it did."""

from rest_framework import serializers


class ImportRowErrorSerializer(serializers.Serializer):
    row = serializers.IntegerField(help_text="Line number in the file; the header is line 1.")
    column = serializers.CharField()
    reason = serializers.CharField()


class ImportResultSerializer(serializers.Serializer):
    new = serializers.IntegerField()
    updated = serializers.IntegerField()
    skipped = serializers.IntegerField()
    errors = serializers.IntegerField(help_text="How many rows have errors.")
    imported = serializers.BooleanField(help_text="False for a dry run or a refused import.")
    summary = serializers.CharField()
    tags_created = serializers.ListField(child=serializers.CharField())
    tags_to_create = serializers.ListField(child=serializers.CharField())
    error_list = ImportRowErrorSerializer(many=True)
