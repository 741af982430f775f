from django.shortcuts import redirect


def home(request):
    return redirect("dashboard")


def dashboard(request):
    raise NotImplementedError
