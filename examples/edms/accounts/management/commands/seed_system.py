"""Seed what a fresh EDMS installation has: system roles, types and ``admin``.

Every run makes new UUIDs, as a re-initialisation of the real system does.
"""

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from documents.models import DocumentType
from workflows.models import WorkflowType

from accounts.models import Role, User

SYSTEM_ROLES = {
    "Administrator": "Manages users and configuration",
    "Author": "Writes documents",
    "Reviewer": "Reviews documents",
    "Approver": "Approves documents",
    "Reader": "Reads effective documents",
}
DOCUMENT_TYPES = {"SOP": "Standard operating procedure", "WI": "Work instruction", "POL": "Policy"}
WORKFLOW_TYPES = {"REVIEW": ["draft", "in_review", "reviewed"], "APPROVAL": ["draft", "approved"]}


class Command(BaseCommand):
    help = "Create the system roles, document types, workflow types and the admin user."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--reinit",
            action="store_true",
            help="seed as a later re-initialisation does: other creation order, so other pks",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        order = reversed if options["reinit"] else list
        if options["reinit"]:  # a role created and deleted during an earlier, failed setup
            Role.objects.create(name="Setup", is_system=True).delete()
        for name, description in order(list(SYSTEM_ROLES.items())):
            Role.objects.create(name=name, description=description, is_system=True)
        for code, name in order(list(DOCUMENT_TYPES.items())):
            DocumentType.objects.create(code=code, name=name, review_period=timedelta(days=730))
        for code, states in order(list(WORKFLOW_TYPES.items())):
            WorkflowType.objects.create(code=code, name=code.title(), states=states)
        admin = User.objects.create_superuser("admin", "admin@edms.example", None)
        # dumpdata keeps milliseconds only: seed what a backup can carry exactly
        admin.date_joined = admin.date_joined.replace(microsecond=admin.date_joined.microsecond // 1000 * 1000)
        admin.save(update_fields=["date_joined"])
