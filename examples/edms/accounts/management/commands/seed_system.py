"""Seed what a fresh EDMS installation has: system roles, types and ``admin``.

Every run makes new UUIDs, as a re-initialisation of the real system does.
"""

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand
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

    def handle(self, *args: Any, **options: Any) -> None:
        for name, description in SYSTEM_ROLES.items():
            Role.objects.create(name=name, description=description, is_system=True)
        for code, name in DOCUMENT_TYPES.items():
            DocumentType.objects.create(code=code, name=name, review_period=timedelta(days=730))
        for code, states in WORKFLOW_TYPES.items():
            WorkflowType.objects.create(code=code, name=code.title(), states=states)
        admin = User.objects.create_superuser("admin", "admin@edms.example", None)
        # dumpdata keeps milliseconds only: seed what a backup can carry exactly
        admin.date_joined = admin.date_joined.replace(microsecond=admin.date_joined.microsecond // 1000 * 1000)
        admin.save(update_fields=["date_joined"])
