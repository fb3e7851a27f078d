from django.core.management.base import BaseCommand

from portal.demo import DEMO_ADMIN_EMAIL, DEMO_ADMIN_PASSWORD, DEMO_USERS


class Command(BaseCommand):
    help = "Print the demo log-ins that seed_demo creates."

    def handle(self, *args, **options) -> None:
        self.stdout.write(f"  Admin log-in: {DEMO_ADMIN_EMAIL} / {DEMO_ADMIN_PASSWORD}")
        for email, password, label in DEMO_USERS:
            self.stdout.write(f"  {label}: {email} / {password}")
