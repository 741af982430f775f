"""Form pieces shared by every record type."""

from django import forms

from accounts.models import User


class RecordForm(forms.ModelForm):
    """A ModelForm that knows the request, so it can default the owner to the current user."""

    def __init__(self, *args, request=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.request = request
        if "owner" in self.fields:
            self.fields["owner"].queryset = User.objects.filter(is_active=True)
            if self.instance.pk is None and request is not None:
                self.initial.setdefault("owner", request.user.pk)
