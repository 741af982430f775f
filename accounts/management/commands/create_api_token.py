from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from accounts.tokens import issue_token


class Command(BaseCommand):
    help = "Create an API token for USERNAME and print it, alone on its line. It is shown once."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="Command-line token")

    def handle(self, *args, username: str, name: str, **options):
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        # Whoever runs manage.py is no Cohort user: the audit log names the system as actor.
        self.stdout.write(issue_token(user, name, actor=None).plain)
