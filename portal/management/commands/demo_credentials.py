from django.core.management.base import BaseCommand

DEMO_ADMIN_EMAIL = "admin@example.org"
DEMO_ADMIN_PASSWORD = "demo-admin-2026"  # noqa: S105  (demo only; printed by `make run`)


class Command(BaseCommand):
    help = "Print the demo log-ins that seed_demo creates."

    def handle(self, *args, **options) -> None:
        from portal.demo import DEMO_USERS

        self.stdout.write(f"  Admin log-in: {DEMO_ADMIN_EMAIL} / {DEMO_ADMIN_PASSWORD}")
        for email, password, label in DEMO_USERS:
            self.stdout.write(f"  {label}: {email} / {password}")
